/** Keyboard shortcuts and the ringing announcement (issue 18 item 3). */
export const shortcutsJa = {
  heading: 'キーボードショートカット',
  open: 'ショートカット一覧',
  close: '閉じる',
  intro: 'ウィンドウのどこからでも使えます。',
  globalNote: '応答と切断は、管理者が許可していれば Koe が前面にないときにも使えます。',
  unavailable: '今は {{action}} を使えません。',
  action: {
    answer: '応答',
    hangup: '切断（着信中は拒否）',
    hold: '保留／再開',
    mute: 'ミュート／解除',
    ready: '受付可にする',
    notReady: '受付不可にする',
    notes: 'メモへ移動',
    transfer: '転送先へ移動',
    dial: '発信番号へ移動（通話中はダイヤルパッド）',
    raiseHand: 'ヘルプを要請／下ろす',
    help: 'この一覧を開く',
  },
  ring: {
    named: '着信：{{name}} 様',
    namedCampaign: '着信：{{name}} 様、{{campaign}}',
    number: '着信：{{number}}',
    anonymous: '着信：非通知',
    locked: '着信があります。Ctrl+Alt+A で応答できます。',
  },
};
