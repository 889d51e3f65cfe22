import type { headsetJa } from './headset.ja';

export const headsetEn: typeof headsetJa = {
  heading: 'Headset',
  none: 'Connect your headset to answer, hang up and mute with its buttons.',
  connect: 'Connect headset',
  connected: 'Using {{name}} (answer, hang up and mute buttons work)',
  disconnected: 'The headset was unplugged. Plug it in again and press "Connect headset".',
  unsupported: 'Headset buttons are not available here. Use the screen and the keyboard.',
  offByPolicy: "Headset buttons are turned off by your organisation's policy.",
  failed: {
    unsupported: 'Headset buttons are not available here.',
    not_a_headset: 'The chosen device cannot be used as a call headset (it has no call buttons).',
    open_failed: 'The headset could not be opened. Check that no other app is using it and try again.',
    none_chosen: 'No headset was chosen. Connect a headset from a maker your organisation allows.',
  },
};
