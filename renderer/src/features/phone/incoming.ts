// An inbound INVITE: it rings only if the gateway offered it to this operator (or it is a
// colleague's direct call and we have none); the ringing panel and the customer card appear in
// the same React commit (the card the gateway pushed with the ring is there already for a routed
// call, customer/call-cards.ts; otherwise the screen pop is awaited up to POP_WAIT_MS, then the
// card shows "loading"). A pop still on its way when the session ends is dropped (userDataGeneration).
import { bestEffort } from '../../log';
import { userDataGeneration } from '../../app/user-data';
import { useAgentStore } from './agent-store';
import { internalCall, newCall, offered, report, type CallBook, type CallerViews, type PhoneLine } from './calls';
import { ringerSink, type Microphone } from './microphone';
import { liveCalls, usePhoneStore } from './phone-store';
import type { Ringer } from './ringer';
import type { CallInfo } from './sip-phone';

/** The longest the ringing UI waits for the screen pop before it shows with "loading". */
export const POP_WAIT_MS = 1_500;
/** The longest an INVITE waits for the gateway's offer of it (the push may come after the INVITE). */
export const OFFER_WAIT_MS = 2_000;

export class IncomingCalls {
  constructor(
    private readonly line: PhoneLine,
    private readonly book: CallBook,
    private readonly ringer: Ringer,
    private readonly microphone: Microphone,
    private readonly caller: () => CallerViews,
  ) {}

  async onIncoming(info: CallInfo): Promise<void> {
    const p = this.line.phone;
    if (!p) return;
    if (info.replaces && usePhoneStore.getState().calls.some((c) => c.id === info.replaces)) {
      this.onReplacing(info, info.replaces);
      return;
    }
    performance.mark(`koe:invite:${info.id}`, { startTime: info.receivedAt });
    const generation = userDataGeneration();
    const busy = liveCalls(usePhoneStore.getState().calls).length > 0;
    // Only a call the gateway offered to this operator rings (the gateway offers none to a busy,
    // locked, not-ready or microphone-less operator); anything else is refused "busy here", and
    // no customer data is asked for it.
    const internal = internalCall(info);
    let accept = !busy && (internal || (await waitForOffer(info.sipCallId, OFFER_WAIT_MS)));
    if (accept && internal) {
      // a direct call: the gateway takes it in as "incoming" when we say it rings, or refuses it
      // (signed out there, or busy); with the gateway unreachable it rings all the same
      const r = await useAgentStore.getState().send({ kind: 'ringing', callId: info.sipCallId });
      accept = !(r.outcome === 'refused' && (r.refusal === 'offline' || r.refusal === 'busy_with_call'));
    }
    if (!accept) {
      this.book.factsOf(info.id).busy = true;
      await bestEffort('refusing a call not offered', p.reject(info.id, 486));
      this.book.early.delete(info.id);
      this.book.forget(info.id);
      // A call the gateway did offer but this phone could not take (it has a call): the gateway hears "busy".
      if (offered(useAgentStore.getState().view, info.sipCallId)) report({ kind: 'ended', callId: info.sipCallId, cause: 'busy' });
      return;
    }
    const caller = this.caller();
    const popping = caller.lookUp(info);
    const show = await Promise.race<(() => void) | null>([popping, new Promise<null>((r) => setTimeout(() => r(null), POP_WAIT_MS))]);
    const endedMeanwhile = this.book.early.get(info.id) === 'ended';
    this.book.early.delete(info.id);
    if (endedMeanwhile) {
      report({ kind: 'ended', callId: info.sipCallId, cause: 'completed' });
      return;
    }
    if (generation !== userDataGeneration()) {
      // The session ended while the pop was on its way: nobody is there to take this call.
      await bestEffort('declining a call offered before the session ended', p.reject(info.id, 486));
      return;
    }
    // One synchronous block: React commits the ringing panel and the card together.
    if (show) show();
    else caller.showLoading(info.sipCallId);
    usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, 'ringing')] }));
    if (!show) void popping.then((late) => generation === userDataGeneration() && late());
    if (!internal) report({ kind: 'ringing', callId: info.sipCallId });
    // cheap: the ringtone's AudioContext was made when the phone registered (ringtone.ts warm())
    this.ringer.start(info, ringerSink(this.microphone.devices));
  }

  /** Fetches the pop of a call that needs no ringing panel and shows it when it comes, unless the session ended meanwhile. */
  popLater(info: CallInfo): void {
    const generation = userDataGeneration();
    void this.caller()
      .lookUp(info)
      .then((show) => generation === userDataGeneration() && show());
  }

  /** Attended transfer to us: the new call takes the replaced one's place (answered by the phone). */
  private onReplacing(info: CallInfo, replacedId: string): void {
    this.book.replaced.add(replacedId);
    const phase = this.book.early.get(info.id) ?? (info.direction === 'inbound' ? 'ringing' : 'dialing');
    this.book.early.delete(info.id);
    usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, phase)] }));
    this.popLater(info);
  }
}

/** Resolves true once the gateway's view offers this call, false after `ms` (the push may follow the INVITE). */
function waitForOffer(sipCallId: string, ms: number): Promise<boolean> {
  if (offered(useAgentStore.getState().view, sipCallId)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(false);
    }, ms);
    const off = useAgentStore.subscribe((s) => {
      if (!offered(s.view, sipCallId)) return;
      clearTimeout(timer);
      off();
      resolve(true);
    });
  });
}
