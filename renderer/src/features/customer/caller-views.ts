// The customer feature's side of a call, as the phone asks for it (CallerViews, phone/calls.ts):
// the screen pop shown on the customer card, and the call record at the gateway. The shell hands
// this to <Telephony>: the phone imports nothing of the customer feature.
import { logFailure } from '../../log';
import type { CallerViews } from '../phone/calls';
import type { CallInfo } from '../phone/sip-phone';
import { screenPop, type CustomerRecords } from './crm-service';
import { setPop, type PopState } from './store';

/**
 * The screen pop of a call, as the card shows it. It never fails: the card is a convenience, so
 * a failed pop shows an unknown caller and the call goes on (logged by the error's name only:
 * its text may carry the number).
 */
export async function popOf(info: CallInfo): Promise<PopState> {
  try {
    const r = await screenPop({ sipCallId: info.sipCallId, callerNumber: info.remote, dialledNumber: info.dialledNumber, campaignId: info.campaignId });
    return r.status === 'known' || r.campaign ? { status: 'ready', pop: r } : { status: 'unknown' };
  } catch (err) {
    logFailure('the screen pop', err);
    return { status: 'unknown' };
  }
}

/** The caller views the phone feeds, over the shell's CustomerRecords (the call record's queue). */
export function callerViewsOf(records: CustomerRecords): CallerViews {
  return {
    lookUp: async (call) => {
      const pop = await popOf(call);
      return () => setPop(call.sipCallId, pop);
    },
    showLoading: (sipCallId) => setPop(sipCallId, { status: 'loading' }),
    recordCall: (sipCallId, times) => records.patchCall(sipCallId, times),
  };
}
