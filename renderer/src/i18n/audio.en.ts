import type { audioJa } from './audio.ja';

/** The ringer device, the microphone test and the call-quality badge (issue 18 item 7). */
export const audioEn: typeof audioJa = {
  ringer: 'Ringer',
  ringerSameAsSpeaker: 'Same as speaker',
  ringerHint: 'Ring on another device, e.g. the speakers while the headset is not worn.',
  systemDefault: 'System default',
  micTest: {
    start: 'Test microphone',
    stop: 'End test',
    level: 'Microphone input level',
    levelValue: '{{db}} dBFS',
    silence: 'No sound',
    listening: 'Say something…',
    heard: 'Voice detected',
    busy: 'The microphone cannot be tested during a call. Please try after the call.',
    failed: 'The microphone could not be opened ({{reason}}).',
    reason: {
      denied: 'microphone access is not allowed',
      missing: 'no microphone found',
      other: 'unexpected error',
    },
  },
  quality: {
    label: 'Call quality',
    good: 'Good',
    fair: 'Fair',
    poor: 'Poor',
    measuring: 'Measuring',
    details: 'Estimated MOS {{mos}}, jitter {{jitter}} ms, loss {{loss}}%, round trip {{rtt}} ms',
    rttUnknown: 'unknown',
  },
};
