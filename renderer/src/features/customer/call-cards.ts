// The card with the ring, in the renderer (issue 15). The gateway pushes a call's card (its
// screen pop) as it routes the call to this operator, before Kamailio sends the INVITE; it is
// kept here by SIP Call-ID, so when the INVITE arrives the phone's look-up finds it at once and
// the ringing panel and the card are committed together (phone/incoming.ts). A call the gateway
// did not route (outbound, a transfer, a colleague's direct call) is looked up with the pop
// route as before. ONE look-up per Call-ID: a pop in flight is reused, never requested twice,
// and a card pushed while it is in flight answers it. A call the gateway routed here (DID
// headers, offered in its view) whose INVITE overtook its card (the card is on the gateway
// link, the INVITE on Kamailio's: either may come first) waits CARD_PUSH_WAIT_MS for the push
// before it asks the pop route: the card is on its way, and a second build of it at the gateway
// would only slow the one coming.
//
// What is kept is customer data, so it goes when it is no longer the operator's:
//   - a pushed card not claimed by an INVITE within CARD_TTL_MS (a call that never rang here);
//   - a pushed card whose offer ended: a newer gateway view that no longer has the call (the
//     call re-routed to a colleague after no answer, or over);
//   - a shown card once its call is neither live on the phone nor the gateway's (ended, wrap-up
//     closed);
//   - everything on lock (pushed cards not yet ringing) and at the session's end (all of it).
import type { ScreenPopResponse } from '../../../../shared/gateway/crm';
import type { OperatorView } from '../../../../shared/rules/operator-model';
import { holdsUserData } from '../../app/user-data';
import { koe } from '../../koe';
import type { CallInfo } from '../phone/sip-phone';
import { useCustomerStore, type PopState } from './store';

/** How long a pushed card waits for its INVITE before it is dropped. */
export const CARD_TTL_MS = 30_000;
/** How long the look-up of a call the gateway routed here waits for its pushed card before it asks the pop route. */
export const CARD_PUSH_WAIT_MS = 150;

interface Pushed {
  pop: PopState;
  /** The gateway view's version when the card came: a newer view without the call ends the offer. */
  viewVersion: number;
  timer: ReturnType<typeof setTimeout>;
}

/** The pop's answer as the card shows it. */
export const popStateOf = (r: ScreenPopResponse): PopState => (r.status === 'known' || r.campaign ? { status: 'ready', pop: r } : { status: 'unknown' });

export interface CardSources {
  /** The screen pop of a call (crm-service.ts popOf). */
  pop: (info: CallInfo) => Promise<PopState>;
  /** The gateway's current view (the agent store). */
  view: () => OperatorView | null;
  /** The SIP Call-IDs of the calls live on this phone. */
  liveCallIds: () => string[];
}

/**
 * The gateway routed this call here, so its card is pushed: the INVITE carries routing's headers
 * (X-Koe-Campaign / X-Koe-DID) and the gateway's view holds it offered (or ringing) to us.
 */
function pushExpected(info: CallInfo, view: OperatorView | null): boolean {
  if (info.direction !== 'inbound' || (!info.campaignId && !info.dialledNumber)) return false;
  return Boolean(view?.calls.some((c) => c.callId === info.sipCallId && c.direction === 'inbound' && (c.state === 'offered' || c.state === 'ringing')));
}

export class CallCards {
  private readonly pushed = new Map<string, Pushed>();
  private readonly inFlight = new Map<string, Promise<PopState>>();
  /** A look-up in flight takes the card pushed meanwhile. */
  private readonly waiting = new Map<string, (p: PopState) => void>();
  /** Look-ups of routed calls waiting CARD_PUSH_WAIT_MS for the push before they ask the pop route. */
  private readonly asking = new Map<string, ReturnType<typeof setTimeout>>();
  /** Pop requests made (tests, the bench: one per call at most; none for a routed call whose card came within CARD_PUSH_WAIT_MS). */
  readonly stats = { pops: 0, pushed: 0, claimed: 0, dropped: 0 };

  constructor(private readonly sources: CardSources) {}

  /** A card the gateway pushed (main's agent:card). */
  received(callId: string, card: ScreenPopResponse): void {
    this.stats.pushed++;
    // when it came, beside koe:invite (phone/incoming.ts): the bench tells a card that came before its INVITE from one that followed it
    performance.mark(`koe:card-received:${callId}`);
    const pop = popStateOf(card);
    const waiter = this.waiting.get(callId);
    if (waiter) {
      this.waiting.delete(callId);
      this.stopAsking(callId);
      waiter(pop);
      return;
    }
    const shown = useCustomerStore.getState().pops[callId];
    if (shown) {
      // the ringing panel gave up waiting and shows "loading": the pushed card takes its place
      if (shown.status === 'loading') useCustomerStore.setState((s) => ({ pops: { ...s.pops, [callId]: pop } }));
      return;
    }
    this.dropPushed(callId);
    const timer = setTimeout(() => {
      if (this.pushed.get(callId)?.timer !== timer) return;
      this.pushed.delete(callId);
      this.stats.dropped++;
    }, CARD_TTL_MS);
    this.pushed.set(callId, { pop, viewVersion: this.sources.view()?.version ?? -1, timer });
  }

  /** True while a pushed card waits for this call (tests). */
  holds(callId: string): boolean {
    return this.pushed.has(callId);
  }

  /** The call's card: the pushed one, else the one already shown, else the pop in flight, else one pop. */
  lookUp(info: CallInfo): Promise<PopState> {
    const id = info.sipCallId;
    const pushed = this.pushed.get(id);
    if (pushed) {
      this.dropPushed(id);
      this.stats.claimed++;
      return Promise.resolve(pushed.pop);
    }
    const shown = useCustomerStore.getState().pops[id];
    if (shown && shown.status !== 'loading') return Promise.resolve(shown);
    const flying = this.inFlight.get(id);
    if (flying) return flying;
    const p = new Promise<PopState>((resolve) => {
      this.waiting.set(id, resolve);
      const ask = () => {
        this.asking.delete(id);
        if (this.waiting.get(id) !== resolve) return; // a pushed card answered first (or the session ended)
        this.stats.pops++;
        void this.sources.pop(info).then((pop) => {
          if (this.waiting.get(id) !== resolve) return; // a pushed card answered first
          this.waiting.delete(id);
          resolve(pop);
        });
      };
      // routed here: the card is on its way on the gateway link; the pop route only if it is late
      if (pushExpected(info, this.sources.view())) this.asking.set(id, setTimeout(ask, CARD_PUSH_WAIT_MS));
      else ask();
    });
    this.inFlight.set(id, p);
    void p.then(() => {
      if (this.inFlight.get(id) === p) this.inFlight.delete(id);
    });
    return p;
  }

  /**
   * The gateway's view or the phone's calls changed: pushed cards whose offer ended go, and
   * shown cards of calls that are neither live here nor the gateway's (ended, wrap-up over).
   */
  prune(): void {
    const view = this.sources.view();
    // the gateway's calls for this operator that still stand (an ended one stays in the view for a while)
    const gateway = new Set((view?.calls ?? []).filter((c) => c.state !== 'ended' && c.state !== 'wrapped_up').map((c) => c.callId));
    if (view?.wrapUp) gateway.add(view.wrapUp.callId);
    const live = new Set(this.sources.liveCallIds());
    for (const [id, p] of this.pushed) {
      if (view && view.version > p.viewVersion && !gateway.has(id) && !live.has(id)) {
        this.dropPushed(id);
        this.stats.dropped++;
      }
    }
    const pops = useCustomerStore.getState().pops;
    const stale = Object.keys(pops).filter((id) => !live.has(id) && !gateway.has(id) && !this.waiting.has(id));
    if (stale.length === 0) return;
    useCustomerStore.setState((s) => {
      const next = { ...s.pops };
      for (const id of stale) delete next[id];
      return { pops: next };
    });
  }

  /** The window locked: cards of calls that are not ringing or live here go (the gateway offers nothing while locked). */
  locked(): void {
    for (const id of [...this.pushed.keys()]) this.dropPushed(id);
  }

  /** The session ended: nothing stays; a look-up still waiting resolves unknown (its caller drops it by generation). */
  clear(): void {
    for (const id of [...this.pushed.keys()]) this.dropPushed(id);
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const id of [...this.asking.keys()]) this.stopAsking(id);
    this.inFlight.clear();
    for (const w of waiting) w({ status: 'unknown' });
  }

  /** While signed in: main's pushes come in here; cleared at the session's end. Returns the detach. */
  attach(watch: { onView: (f: () => void) => () => void; onLocked: (f: () => void) => () => void }): () => void {
    const offs = [
      koe().on('agent:card', ({ callId, card }) => this.received(callId, card)),
      watch.onView(() => this.prune()),
      watch.onLocked(() => this.locked()),
      holdsUserData('call-cards', () => this.clear()),
    ];
    return () => offs.forEach((off) => off());
  }

  private stopAsking(id: string): void {
    clearTimeout(this.asking.get(id));
    this.asking.delete(id);
  }

  private dropPushed(id: string): void {
    const p = this.pushed.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pushed.delete(id);
  }
}
