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
};
