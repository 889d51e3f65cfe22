// The card with the ring (issue 15): when routing offers a call to an operator, the gateway
// sends that operator's client the call's card (the screen pop's answer) over the operator's
// authenticated /ws, so the INVITE finds it waiting. The card is built by THE pop function
// (server/crm/screen-pop.ts buildCard) under the socket's live principal: the same campaign
// scope, block list and customer-read rules as the pop route; the campaign and the customer are
// the ones routing decided (the call row it wrote, read back by buildCard).
//
// Wherever the operator is connected: `offered()` delivers to this instance's sockets of the
// operator at once (awaited, bounded: routing answers Kamailio after it, so the card leaves
// before the INVITE does), and publishes the `card` bus topic (ids only) so the instance that
// holds the operator's socket builds and sends it there. A card is sent only while the call
// row is this operator's and still ringing (a call re-routed or ended meanwhile: nothing).
import { reportBackgroundFailure } from '../background';
import type { EventBus } from '../bus/event-bus';
import type { Db } from '../db/schema';
import type { Principal } from '../auth/principal-type';
import { buildCard, type CardHost } from './screen-pop';

/**
 * The longest routing waits for this instance's sockets to get the card, then it answers
 * Kamailio anyway (the card follows; the client's look-up takes it when it comes). Small:
 * Kamailio gives the routing query 1 s in all (koe.cfg DID_LOOKUP), under load too.
 */
export const CARD_DELIVERY_WAIT_MS = 40;

/** Builds and sends the card on one socket; true when it was sent. */
type Deliver = (callId: string) => Promise<boolean>;

export class CardPushes {
  private readonly sockets = new Map<string, Set<Deliver>>();
  private readonly unsubscribe: () => void;
  /** Cards sent (tests, the bench). */
  readonly stats = { sent: 0, skipped: 0 };
  /** How long routing waits for this instance's sockets (tests lengthen it to check the order, not the speed). */
  waitMs = CARD_DELIVERY_WAIT_MS;

  constructor(private readonly bus: EventBus) {
    // another instance routed the call: deliver here (this instance's own publishes were delivered by offered())
    this.unsubscribe = bus.subscribe('card', (m, d) => {
      if (d.local) return;
      void this.deliver(m.userId, m.callId);
    });
  }

  /** An operator socket (server/sip/agent-ws.ts) takes cards; returns the function that stops it. */
  register(userId: string, deliver: Deliver): () => void {
    let set = this.sockets.get(userId);
    if (!set) this.sockets.set(userId, (set = new Set()));
    set.add(deliver);
    return () => {
      set.delete(deliver);
      if (set.size === 0 && this.sockets.get(userId) === set) this.sockets.delete(userId);
    };
  }

  /** Routing offered `callId` to this operator: the card goes to their client now, wherever it is connected. */
  async offered(userId: string, callId: string): Promise<void> {
    this.bus.publish('card', { userId, callId });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.deliver(userId, callId), new Promise<void>((r) => (timer = setTimeout(r, this.waitMs)))]);
    clearTimeout(timer);
  }

  private async deliver(userId: string, callId: string): Promise<void> {
    const set = this.sockets.get(userId);
    if (!set) return;
    const sent = await Promise.all(
      [...set].map((d) =>
        d(callId).catch((err: unknown) => {
          reportBackgroundFailure('card push: building or sending a card', err);
          return false;
        }),
      ),
    );
    for (const ok of sent) this.stats[ok ? 'sent' : 'skipped']++;
  }

  close(): void {
    this.unsubscribe();
    this.sockets.clear();
  }
}

/**
 * The card of a call routing offered to this principal, or null when the offer no longer stands
 * (the call row is not theirs, or not ringing any more: re-routed, answered elsewhere, ended).
 * Built from the row routing wrote (its caller, DID and campaign), through buildCard.
 */
export async function cardOfOffer(ctx: CardHost, p: Principal, callId: string) {
  const row = await offeredRow(ctx.db, p, callId);
  if (!row) return null;
  return buildCard(ctx, p, {
    callId,
    callerNumber: row.caller_e164 ?? 'anonymous',
    ...(row.dialled_e164 ? { dialledNumber: row.dialled_e164 } : {}),
    ...(row.campaign_id ? { campaignId: row.campaign_id } : {}),
  });
}

function offeredRow(db: Db, p: Principal, callId: string) {
  return db
    .selectFrom('calls')
    .select(['caller_e164', 'dialled_e164', 'campaign_id', 'direction'])
    .where('org_id', '=', p.orgId)
    .where('sip_call_id', '=', callId)
    .where('operator_id', '=', p.userId)
    .where('status', '=', 'ringing')
    .where('ended_at', 'is', null)
    .where('direction', '=', 'inbound')
    .executeTakeFirst();
}
