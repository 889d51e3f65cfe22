// The admin console's teams section (issue 17). Japanese, the reference.
export const adminTeamsJa = {
  heading: 'チーム',
  list: 'チーム一覧',
  name: 'チーム名',
  leads: 'リーダー',
  operators: 'オペレーター',
  counts: 'リーダー {{leads}} 人・オペレーター {{operators}} 人',
  edit: '{{name}} を編集',
  none: 'チームはまだありません。',
  create: { heading: 'チームを作成', submit: '作成', done: 'チーム「{{name}}」を作成しました。' },
  editor: { heading: 'チーム「{{name}}」', rename: '名前を変更', renamed: '名前を変更しました。', saveMembers: 'メンバーを保存', membersSaved: 'メンバーを保存しました。', close: '閉じる' },
  delete: {
    button: 'チームを削除',
    title: 'チーム「{{name}}」を削除しますか？',
    body: 'チームのメンバー構成がなくなり、リーダーはこのチームのオペレーターを監督できなくなります。ユーザー自身、その通話記録・メモ・録音、監査ログはそのまま残ります。削除は監査ログに記録されます。',
  },
  readOnly: 'チームを変更する権限（teams:manage）がないため、閲覧のみです。',
};
