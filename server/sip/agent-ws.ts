// The operator side of /ws (shared/gateway/operator.ts): an operator's authenticated socket
// feeds the model `connected` when it attaches and `disconnected` when it closes (the last one
// closing: not offered calls at once, offline after the org's grace: no ghost "ready"); its
// `operator` messages are intents and phone facts, fed to the model through
// AgentRegistry.apply like every other change. After every accepted step the operator's
// sockets get the whole view (operatorState), plus operatorNotice / operatorHangUp for the
// step's effects. The first view goes to the socket right after /ws says "ready" (start()); no
// data before it. A refused intent is answered operatorRefused {id}; an accepted one by the view
// carrying the message's id (to the sending socket; the others get it without), an ignored one (a
// duplicate or stale fact) by the current view with the id: every message gets one answer.
// A not-ready reason the org does not list (policy agents.notReadyReasons) is refused
// `unknown_reason` here, before the model. The legacy agentState message is setAvailability;
// the legacy agentState push (the old vocabulary, `ringing` shown as on_call) still follows
// every accepted step for the clients and tests that read it.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { OperatorIntent } from '../../shared/gateway/operator';
import { viewOf, type OperatorState } from '../../shared/rules/operator-model';
import { toE164 } from '../../shared/rules/phone';
import { reportBackgroundFailure } from '../background';
import type { GatewayContext } from '../context';
import { campaignScope } from '../crm/scope';
import type { Principal } from '../auth/principal-type';
import { customersByPhoneQuery } from '../crm/queries';
import { cardOfOffer } from '../crm/card-push';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema';
import { transferArrivalRecord } from './transfer-arrival';
import { dialCampaignAllowed } from './outbound';
import { unlistedReason } from './agent-state';
import { legacyOf, type ApplyOptions, type ApplyOutcome, type EventInput, type Who } from './agents';

export interface AgentSocket {
  /** /ws said "ready": send the current view (the client's starting state); pushes flow from now on. */
  start(): void;
  /** An `operator` message. */
  intent(id: string | null, intent: OperatorIntent): Promise<void>;
  /** The legacy agentState message. */
  legacySet(state: string, reason: string | null): Promise<void>;
  close(): void;
}

/**
 * `allowed` is the socket's live check (server/ws/live-principal.ts LivePrincipal): every push passes it
 * first, so a revoked session, a disabled user or a role without calls:handle stops receiving
 * states at once, before the socket is closed. `principal` reads the socket's current principal.
 */
export async function attachAgent(ctx: GatewayContext, principal: () => Principal, socket: WebSocket, allowed: () => boolean): Promise<AgentSocket> {
  const p0 = principal();
  const who: Who = { userId: p0.userId, orgId: p0.orgId, username: p0.username };
  const mark = {}; // this socket's origin marker: the change that answers one of its messages
  let started = false;
  let latest: OperatorState | null = null;
  const send = (m: Record<string, unknown>) => {
    if (started && socket.readyState === socket.OPEN && allowed()) socket.send(JSON.stringify(m));
  };
  const sendState = (s: OperatorState, id: string | null = null, legacy = true) => {
    if (!latest || s.version >= latest.version) latest = s;
    send({ type: 'operatorState', view: viewOf(s), ...(id !== null ? { id } : {}) });
    if (!legacy) return;
    const l = legacyOf(s);
    send({ type: 'agentState', state: l.state, reason: l.reason, since: l.since.toISOString() });
  };
  const unsubscribe = ctx.agents.subscribeUser(who.userId, (change) => {
    const origin = change.origin as { mark?: unknown; id?: string | null } | undefined;
    sendState(change.state, origin?.mark === mark ? (origin.id ?? null) : null);
    for (const e of change.effects) {
      if (e.type === 'notify') send({ type: 'operatorNotice', code: e.code, callId: e.callId });
      if (e.type === 'hangUp') send({ type: 'operatorHangUp', callId: e.callId, cause: e.cause });
    }
  });
  // the card with the ring (server/crm/card-push.ts): built under this socket's live principal
  const stopCards = ctx.cards.register(who.userId, async (callId) => {
    if (!started || !allowed() || socket.readyState !== socket.OPEN) return false;
    const card = await cardOfOffer(ctx, principal(), callId);
    if (!card || !allowed()) return false;
    send({ type: 'callCard', callId, card });
    return true;
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    stopCards();
    void ctx.agents.apply(who, { type: 'disconnected' }).catch((err: unknown) => reportBackgroundFailure('agent socket: disconnected', err));
  };
  try {
    const first = await ctx.agents.apply(who, { type: 'connected' });
    const seen = latest as OperatorState | null; // a push may have come first
    if (!seen || first.state.version > seen.version) latest = first.state;
  } catch (err) {
    unsubscribe();
    stopCards();
    throw err;
  }
  /**
   * The org's not-ready reasons (policy agents.notReadyReasons), checked here once for every way
   * an operator sets one (the intents and the legacy message): a reason the org does not list is
   * refused `unknown_reason` before the model sees it. True: refused (and answered).
   */
  const refusedReason = async (id: string | null, kind: string, intent: Parameters<typeof unlistedReason>[1]): Promise<boolean> => {
    if (unlistedReason(await ctx.agents.agentPolicy(who.orgId), intent) === null) return false;
    ctx.agents.refusals.set('unknown_reason', (ctx.agents.refusals.get('unknown_reason') ?? 0) + 1);
    send({ type: 'operatorRefused', id, kind, refusal: 'unknown_reason' });
    return true;
  };
  /** Every message with an id gets an answer: its refusal, or a view carrying the id. */
  const answer = (id: string | null, kind: string, out: ApplyOutcome) => {
    if (out.kind === 'refused') send({ type: 'operatorRefused', id, kind, refusal: out.refusal });
    // accepted: the listener already sent the view with the id; ignored (or a bug, reported): the current view
    else if (out.kind !== 'accepted') sendState(out.state, id);
  };
  return {
    start() {
      if (started) return;
      started = true;
      if (latest) sendState(latest, null, false); // the starting view (the legacy push never came on connect)
    },
    async intent(id, intent) {
      if (closed) return;
      if (intent.kind === 'quality') {
        await keepQuality(ctx, who, intent);
        if (latest) sendState(latest, id, false); // answered (the view unchanged)
        return;
      }
      if (await refusedReason(id, intent.kind, intent)) return;
      let ev: EventInput;
      let within: ApplyOptions['within'];
      switch (intent.kind) {
        case 'setAvailability':
          ev = { type: 'setAvailability', state: intent.state, reason: intent.reason ?? null };
          break;
        case 'finishWrapUp':
          ev = { type: 'finishWrapUp', callId: intent.callId, ...(intent.next ? { next: intent.next } : {}), reason: intent.reason ?? null };
          break;
        case 'extendWrapUp':
          ev = { type: 'extendWrapUp', callId: intent.callId };
          break;
        case 'dial': {
          // the campaign a customer call is for must be one of the operator's (and enabled): its
          // caller ID is what the customer sees (server/sip/outbound.ts)
          const campaignId = intent.consultFor ? null : (intent.campaignId ?? null);
          if (campaignId && !(await dialCampaignAllowed(ctx.db, principal(), campaignId))) {
            ctx.agents.refusals.set('unknown_campaign', (ctx.agents.refusals.get('unknown_campaign') ?? 0) + 1);
            send({ type: 'operatorRefused', id, kind: intent.kind, refusal: 'unknown_campaign' });
            return;
          }
          ev = { type: 'dial', callId: intent.callId, consultFor: intent.consultFor ?? null };
          // an outbound call gets its call record like an inbound one (a consultation leg does not:
          // it has no wrap-up of its own)
          if (!intent.consultFor) within = (tx) => outboundCallRecord(ctx, tx, principal(), intent.callId, intent.number, campaignId);
          break;
        }
        case 'microphone':
          ev = { type: 'microphone', available: intent.available };
          break;
        case 'locked':
          ev = { type: 'locked', locked: intent.locked };
          break;
        case 'hand':
          // the operator asks a team lead for help, or no longer does (the board shows it to their teams' leads)
          ev = intent.raised ? { type: 'raiseHand' } : { type: 'lowerHand' };
          break;
        case 'ringing':
          // a call the gateway never saw for this operator reached them without routing (a
          // colleague, a transfer arrival): `incoming`. One it saw (even long ended) is a stale fact.
          ev = { type: (await seenBefore(ctx, who, intent.callId)) ? 'ringing' : 'incoming', callId: intent.callId };
          // a transfer's arrival gets the transferred call's row (campaign, customer): ./transfer-arrival.ts
          if (ev.type === 'incoming') within = async (tx) => void (await transferArrivalRecord(tx, ctx.clock, who, intent.callId));
          break;
        case 'answered':
          ev = { type: intent.kind, callId: intent.callId };
          break;
        case 'held':
          ev = { type: 'held', callId: intent.callId, held: intent.held };
          break;
        case 'transfer':
          ev = { type: 'transfer', callId: intent.callId, phase: intent.phase };
          break;
        case 'ended':
          ev = { type: 'ended', callId: intent.callId, cause: intent.cause };
          break;
      }
      const p = principal();
      const source = { sourceIp: p.sourceIp, deviceId: p.deviceId };
      answer(id, intent.kind, await ctx.agents.apply(who, ev, { by: 'client', origin: { mark, id }, source, ...(within ? { within } : {}) }));
    },
    async legacySet(state, reason) {
      if (closed) return;
      if (state !== 'ready' && state !== 'not_ready' && state !== 'break') {
        // wrap_up / on_call are the gateway's now (the model decides them)
        return send({ type: 'operatorRefused', id: null, kind: 'agentState', refusal: 'not_available' });
      }
      if (await refusedReason(null, 'agentState', { kind: 'setAvailability', state, reason })) return;
      answer(null, 'agentState', await ctx.agents.apply(who, { type: 'setAvailability', state, reason }, { by: 'client', origin: { mark, id: null } }));
    },
    close,
  };
}

/**
 * The call record of an outbound call: direction outbound, the dialled number, and the customer
 * for that number within the operator's campaigns (the screen pop's scoped lookup): one match
 * gives the customer and its campaign, several or none give neither. `campaignId`: the campaign
 * the operator dialled for (checked first): the call's campaign, and only its customers count.
 */
async function outboundCallRecord(ctx: GatewayContext, tx: Transaction<Database>, p: Principal, callId: string, number: string, campaignId: string | null): Promise<void> {
  const e164 = toE164(number);
  const found = e164 ? await customersByPhoneQuery(tx, campaignScope(p), e164).execute() : [];
  const customers = campaignId ? found.filter((c) => c.campaign_id === campaignId) : found;
  const campaigns = new Set(campaignId ? [campaignId] : customers.map((c) => c.campaign_id));
  const now = ctx.clock.now();
  await tx
    .insertInto('calls')
    .values({
      id: randomUUID(), org_id: p.orgId, sip_call_id: callId, operator_id: p.userId, campaign_id: campaigns.size === 1 ? [...campaigns][0]! : null,
      customer_id: customers.length === 1 ? customers[0]!.id : null, caller_e164: null, dialled_e164: e164, blocked: false, status: 'ringing',
      ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now, direction: 'outbound',
    })
    .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
    .execute();
}

/**
 * The call's quality as this operator's phone measured it: kept in the call's row (this
 * operator's, answered and not ended: a late or foreign figure changes nothing) and the lead's
 * board told. Rounded as shown (MOS 0.01, the rest 0.1).
 */
async function keepQuality(ctx: GatewayContext, who: Who, q: Extract<OperatorIntent, { kind: 'quality' }>): Promise<void> {
  const round = (n: number, step: number) => Math.round(n / step) * step;
  const r = await ctx.db
    .updateTable('calls')
    .set({
      quality_mos: round(q.mos, 0.01),
      quality_jitter_ms: round(q.jitterMs, 0.1),
      quality_loss_pct: round(q.lossPct, 0.1),
      quality_rtt_ms: q.rttMs === null ? null : round(q.rttMs, 0.1),
      quality_at: ctx.clock.now(),
    })
    .where('org_id', '=', who.orgId)
    .where('operator_id', '=', who.userId)
    .where('sip_call_id', '=', q.callId)
    .where('status', '=', 'answered')
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) ctx.supervision.touch(who.userId);
}

/** Has this operator's model ever had this call (its history)? */
async function seenBefore(ctx: GatewayContext, who: Who, callId: string): Promise<boolean> {
  const row = await ctx.db
    .selectFrom('operator_transitions')
    .select('id')
    .where('sip_call_id', '=', callId)
    .where('user_id', '=', who.userId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
