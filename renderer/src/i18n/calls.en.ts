import type { callsJa } from './calls.ja';

/** The call tools of issue 18 item 6: the hold timer, the dial pad, redial and the outbound campaign. */
export const callsEn: typeof callsJa = {
  heldFor: 'On hold for',
  heldTotal: 'Held {{time}} in total on this call',
  dialPad: 'Dial pad for outbound calls',
  backspace: 'Delete one character',
  redial: 'Redial',
  redialTo: 'Redial {{number}}',
  campaign: 'Campaign for this call',
  chooseCampaign: 'Choose one',
  callerId: 'Caller ID',
  noCallerId: 'This campaign has no caller ID set',
  directory: {
    open: 'Directory',
    heading: 'Transfer directory',
    search: 'Search by name or number',
    loading: 'Loading…',
    none: 'No transfer target matches.',
    failed: 'The transfer directory could not be loaded. Type the target instead, or open it again shortly.',
    kind: { colleague: 'Colleagues', queue: 'Campaign queues', quick: 'Quick connects' },
  },
};
