/** The lead's cockpit (issue 18 item 9): sorting and filtering the board, thresholds, the active supervision. */
export const cockpitJa = {
  filterName: '名前で絞り込み',
  filterState: '状態で絞り込み',
  states: { all: 'すべて', ready: '受付可', on_call: '通話中', wrap_up: '後処理中', not_ready: '受付不可・休憩', offline: 'オフライン' },
  sortBy: '{{column}}で並べ替え',
  timeInState: '状態の時間',
  callTime: '通話時間',
  shown: '{{shown}} / {{total}} 人を表示',
  noMatch: '条件に合うオペレーターはいません。',
  flag: { longCall: '長時間通話', longWrapUp: '長時間後処理', longNotReady: '長時間受付不可', missed: '不在着信' },
  supervising: { monitor: 'モニタリング中', whisper: 'ささやき中', barge: '割り込み中' },
  thresholdsFailed: '組織の強調表示のしきい値を読み込めませんでした。標準の値で表示しています。',
  setNotReady: {
    button: '受付不可にする',
    reason: '{{name}} さんを受付不可にする理由',
    error: {
      conflict: '通話中か後処理中のため受付不可にできません。終わってからもう一度お試しください。',
      not_found: 'このオペレーターはあなたのチームにいません。',
      forbidden: 'この操作は許可されていません。',
      validation_failed: 'この理由は組織の一覧にありません。',
      unexpected: '受付不可にできませんでした。もう一度お試しください。',
    },
  },
  panelTitle: '{{mode}} — 対象: {{name}}',
};
