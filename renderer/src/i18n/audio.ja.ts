/** The ringer device, the microphone test and the call-quality badge (issue 18 item 7). */
export const audioJa = {
  ringer: '着信音',
  ringerSameAsSpeaker: 'スピーカーと同じ',
  ringerHint: 'ヘッドセットを使っていないときも鳴るよう、着信音だけ別の機器で鳴らせます。',
  systemDefault: '既定のデバイス',
  micTest: {
    start: 'マイクをテスト',
    stop: 'テストを終了',
    level: 'マイクの入力レベル',
    levelValue: '入力 {{db}} dBFS',
    silence: '音声がありません',
    listening: '話してみてください…',
    heard: '音声を検出しました',
    busy: '通話中はマイクをテストできません。通話の後にお試しください。',
    failed: 'マイクを開けませんでした（{{reason}}）。',
    reason: {
      denied: 'マイクの使用が許可されていません',
      missing: 'マイクが見つかりません',
      other: '予期しないエラー',
    },
  },
  quality: {
    label: '通話品質',
    good: '良好',
    fair: '普通',
    poor: '不良',
    measuring: '測定中',
    details: '推定MOS {{mos}}・ジッター {{jitter}} ms・損失 {{loss}}%・往復遅延 {{rtt}} ms',
    rttUnknown: '不明',
  },
};
