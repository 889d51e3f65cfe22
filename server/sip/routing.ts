// Inbound routing for Kamailio: a call from the trunk to a DID goes to an offerable operator
// (shared/rules/operator-model.ts) assigned to the DID's campaign, longest ready first. The
// offer makes the chosen operator ringing (so a second call does not ring them too) and the call
// is recorded under its SIP Call-ID in the CRM's calls table (the screen pop finds the same row).
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { SipRouteQuery, SipRouteResponse } from '../../shared/gateway/sip';
import { callerOf, trunkNumberToE164 } from '../../shared/rules/numbering';
import type { GatewayContext } from '../context';
import { jsonColumn } from '../db/json-column';
import { sipUserOf } from './agents';
import { trunkNumbering } from './numbering';
import { assertNotEnded, CallAlreadyEnded } from './ended-calls';

/** Kamailio's routing query (shared/gateway/sip.ts SipRouteQuery: pai, privacy and trunk may be left out). */
export type InboundRouteQuery = z.input<typeof SipRouteQuery>;
export type RouteDecision = z.output<typeof SipRouteResponse>;

export async function routeInbound(ctx: GatewayContext, query: InboundRouteQuery): Promise<RouteDecision> {
  const { db, clock, agents } = ctx;
  // Every number through the trunk's one rule (shared/rules/numbering.ts): a DID in national
  // form is the same DID; a withheld, anonymous or unparseable caller is "unknown caller".
  const rule = trunkNumbering(ctx.config.sip, query.trunk ?? 'default');
  const did = trunkNumberToE164(query.did, rule);
  if (!did) return { target: null, campaignId: null, did: query.did, reason: 'unknown_did' };
  const q = { did, callId: query.callId };
  const dids = await db
    .selectFrom('campaign_dids')
    .innerJoin('campaigns', 'campaigns.id', 'campaign_dids.campaign_id')
    .select(['campaign_dids.org_id', 'campaign_dids.campaign_id', 'campaigns.blocked_numbers'])
    .where('campaign_dids.e164', '=', q.did)
    .execute();
  // A DID in two orgs is a configuration error: route it nowhere rather than guess.
  if (dids.length !== 1) return { target: null, campaignId: null, did: q.did, reason: 'unknown_did' };
  const { org_id: orgId, campaign_id: campaignId } = dids[0]!;
  const assigned = await db
    .selectFrom('campaign_assignments')
    .innerJoin('users', 'users.id', 'campaign_assignments.user_id')
    .select(['users.id', 'users.username'])
    .where('campaign_assignments.campaign_id', '=', campaignId)
    .where('users.disabled', '=', false)
    .execute();
  // The operator model decides who may be offered (offerable: connected, ready, unlocked, with
  // a microphone, no live call, no wrap-up), longest ready first. The offer is a step of the
  // chosen operator's model, serialised per operator: of two concurrent calls only one offer
  // is accepted, the other is refused and goes to the next candidate. The call row is written
  // in the same transaction as the accepted offer.
  const caller = callerOf({ from: query.from, pai: query.pai, privacy: query.privacy }, rule).e164;
  const blockedList = jsonColumn<string[]>(dids[0]!.blocked_numbers);
  const customers = caller
    ? await db.selectFrom('customer_phones').select('customer_id').where('e164', '=', caller).where('campaign_id', '=', campaignId).execute()
    : [];
  let chosen: { userId: string; username: string } | null = null;
  for (const candidate of await agents.offerCandidates(assigned.map((u) => u.id))) {
    let out: Awaited<ReturnType<typeof agents.apply>>;
    try {
      out = await agents.apply(candidate, { type: 'offer', callId: q.callId }, {
        detail: { callId: q.callId, campaignId, did: q.did },
        within: async (tx) => {
          // Kamailio already reported this call ended (this answer comes too late): no offer
          await assertNotEnded(tx, q.callId);
          const now = clock.now();
          await tx
            .insertInto('calls')
            .values({
              id: randomUUID(), org_id: orgId, sip_call_id: q.callId, operator_id: candidate.userId, campaign_id: campaignId,
              customer_id: customers.length === 1 ? customers[0]!.customer_id : null, caller_e164: caller, dialled_e164: q.did,
              blocked: !!caller && Array.isArray(blockedList) && blockedList.includes(caller), status: 'ringing',
              ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
            })
            .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
            .execute();
        },
      });
    } catch (err) {
      if (err instanceof CallAlreadyEnded) return { target: null, campaignId, did: q.did, reason: 'no_ready_agent' };
      throw err;
    }
    // ignored: this operator already holds this very call (Kamailio asked again): same answer
    const holds = out.kind === 'ignored' && out.state.calls.some((c) => c.callId === q.callId && (c.state === 'offered' || c.state === 'ringing'));
    if (out.kind === 'accepted' || holds) {
      chosen = candidate;
      break;
    }
  }
  if (!chosen) return { target: null, campaignId, did: q.did, reason: 'no_ready_agent' };
  ctx.supervision.touch(chosen.userId); // the board: the call row exists now
  // the card with the ring: to the operator's client before Kamailio sends the INVITE (bounded wait)
  await ctx.cards.offered(chosen.userId, q.callId);
  return { target: sipUserOf(chosen.username), campaignId, did: q.did, reason: 'routed' };
}
