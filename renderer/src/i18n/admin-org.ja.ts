// The admin console's teams, roles and campaigns sections (issue 17): what they share (the user
// search, the confirmation dialog, the refusals naming what holds something). Japanese, the reference.
export const adminOrgJa = {
  picker: {
    search: '{{what}}を検索（ユーザー名または表示名）',
    searchButton: '検索',
    add: '追加',
    remove: '{{name}} を外す',
    selected: '{{what}}（{{count}}人）',
    noneSelected: 'まだいません。',
    noResults: '該当するユーザーはいません。',
    disabled: '無効',
  },
  confirm: {
    ok: '実行する',
    cancel: 'キャンセル',
  },
  inUse: {
    lead: '使用中のため削除できません:',
    users: 'このロールを持つユーザーが {{n}} 人います。先にほかのロールに変更してください。',
    calls: '通話記録 {{n}} 件',
    customers: '顧客 {{n}} 件',
    notes: 'メモ {{n}} 件',
    recordings: '録音 {{n}} 件',
    queued: '待ち呼 {{n}} 件',
    overflow: 'ほかの {{n}} 件のキャンペーンのあふれ先',
    campaignHint: '履歴のあるキャンペーンは削除できません。代わりに無効にしてください。',
  },
  invalid: '入力内容を確認してください:',
  deleted: '削除しました。',
};
