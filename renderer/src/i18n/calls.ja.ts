/** The call tools of issue 18 item 6: the hold timer, the dial pad, redial and the outbound campaign. */
export const callsJa = {
  heldFor: '保留時間',
  heldTotal: 'この通話の保留合計 {{time}}',
  dialPad: '発信用ダイヤルパッド',
  backspace: '1文字消去',
  redial: 'リダイヤル',
  redialTo: 'リダイヤル {{number}}',
  campaign: '発信するキャンペーン',
  chooseCampaign: '選択してください',
  callerId: '通知番号',
  noCallerId: '通知番号はキャンペーンに未設定です',
  directory: {
    open: '転送先一覧',
    heading: '転送先一覧',
    search: '名前・番号で検索',
    loading: '読み込み中…',
    none: '該当する転送先はありません。',
    failed: '転送先一覧を読み込めませんでした。転送先を直接入力するか、しばらくしてからもう一度開いてください。',
    kind: { colleague: '同僚', queue: 'キャンペーンのキュー', quick: 'クイック接続' },
  },
};
