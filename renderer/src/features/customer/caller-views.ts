// The customer feature's side of a call, as the phone asks for it (CallerViews, phone/calls.ts):
// the screen pop shown on the customer card, and the call record at the gateway. The shell hands
// this to <Telephony>: the phone imports nothing of the customer feature.
import type { CallerViews } from '../phone/calls';
import type { CustomerRecords } from './crm-service';
import { setPop } from './store';

/** The caller views the phone feeds, over the shell's CustomerRecords (the call record's queue). */
export function callerViewsOf(records: CustomerRecords): CallerViews {
  return {
    lookUp: async (call) => {
      // the card the gateway pushed with the ring, else the pop in flight, else one pop (call-cards.ts)
      const pop = await records.cards.lookUp(call);
      return () => setPop(call.sipCallId, pop);
    },
    showLoading: (sipCallId) => setPop(sipCallId, { status: 'loading' }),
    recordCall: (sipCallId, times) => records.patchCall(sipCallId, times),
  };
}
