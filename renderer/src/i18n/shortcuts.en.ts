import type { shortcutsJa } from './shortcuts.ja';

/** Keyboard shortcuts and the ringing announcement (issue 18 item 3). */
export const shortcutsEn: typeof shortcutsJa = {
  heading: 'Keyboard shortcuts',
  open: 'Shortcuts',
  close: 'Close',
  intro: 'They work from anywhere in the window.',
  globalNote: 'Answer and hang up also work when Koe is not in front, if your administrator allows it.',
  unavailable: '{{action}} is not available now.',
  action: {
    answer: 'Answer',
    hangup: 'Hang up (decline while ringing)',
    hold: 'Hold / resume',
    mute: 'Mute / unmute',
    ready: 'Set ready',
    notReady: 'Set not ready',
    notes: 'Go to notes',
    transfer: 'Go to transfer target',
    dial: 'Go to the number to dial (dial pad during a call)',
    raiseHand: 'Raise or lower your hand (ask a team lead for help)',
    help: 'Open this list',
  },
  ring: {
    named: 'Incoming call: {{name}}',
    namedCampaign: 'Incoming call: {{name}}, {{campaign}}',
    number: 'Incoming call: {{number}}',
    anonymous: 'Incoming call: withheld number',
    locked: 'Incoming call. Press Ctrl+Alt+A to answer.',
  },
};
