import type { cockpitJa } from './cockpit.ja';

/** The lead's cockpit (issue 18 item 9): sorting and filtering the board, thresholds, the active supervision. */
export const cockpitEn: typeof cockpitJa = {
  filterName: 'Filter by name',
  filterState: 'Filter by state',
  states: { all: 'All', hand: 'Hand raised', ready: 'Ready', on_call: 'On a call', wrap_up: 'Wrap-up', not_ready: 'Not ready or break', offline: 'Offline' },
  sortBy: 'Sort by {{column}}',
  timeInState: 'Time in state',
  callTime: 'Call time',
  shown: 'Showing {{shown}} of {{total}}',
  noMatch: 'No operator matches.',
  flag: { longCall: 'Long call', longWrapUp: 'Long wrap-up', longNotReady: 'Long not ready', missed: 'Missed call' },
  hand: {
    raised: 'Hand up {{time}}',
    acknowledged: 'Seen by {{name}}',
    acknowledge: "I'm coming",
    acknowledgeLabel: "I'm coming — acknowledge {{name}}'s raised hand",
    lower: 'Lower',
    lowerLabel: "Lower — {{name}}'s raised hand",
    announce: '{{name}} raised a hand for help ({{time}}).',
    error: {
      conflict: 'The hand is already down, or the operator is offline.',
      not_found: 'This operator is not in your teams.',
      forbidden: 'You are not allowed to do this.',
      unexpected: 'The raised hand could not be answered. Try again.',
    },
  },
  supervising: { monitor: 'Monitoring', whisper: 'Whispering', barge: 'Barged in' },
  thresholdsFailed: "Your organisation's highlight thresholds could not be loaded; the standard values are used.",
  setNotReady: {
    button: 'Set not ready',
    reason: 'Reason to set {{name}} not ready',
    error: {
      conflict: 'They are on a call or in wrap-up; try again when they are done.',
      not_found: 'This operator is not in your teams.',
      forbidden: 'You are not allowed to do this.',
      validation_failed: "This reason is not in your organisation's list.",
      unexpected: 'They could not be set not ready. Try again.',
    },
  },
  panelTitle: '{{mode}}: {{name}}',
};
