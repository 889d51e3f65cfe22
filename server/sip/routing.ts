// Inbound routing for Kamailio: a call from the trunk to a DID goes to an offerable operator
// (shared/rules/operator-model.ts) assigned to the DID's campaign, longest ready first. The
// offer makes the chosen operator ringing (so a second call does not ring them too) and the call
// is recorded under its SIP Call-ID in the CRM's calls table (the screen pop finds the same row).
// Before any operator: the campaign's routing policy (server/sip/route-policy.ts: block list,
// hours) on the first query; on a re-route (Kamailio's failure_route: `failed` + `status`), the
// failed offer ends in that operator's model and the call goes to the next operator, never to
// one it was already offered to; with nobody left, back to the campaign's queue (keeping its
// first wait). Each offer rings for the campaign's ring timeout, sent back to
// Kamailio (its branch timer) and given to the model (its ring deadline): one value.
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { SipRouteQuery, type SipRouteResponse } from '../../shared/gateway/sip';
import { callerOf, trunkNumberToE164 } from '../../shared/rules/numbering';
import type { GatewayContext } from '../context';
import { jsonColumn } from '../db/json-column';
import { parsePolicy } from '../policy';
import { sipUserOf } from './agents';
import { offerableExists } from './agent-rows';
import { sql } from 'kysely';
import { trunkNumbering } from './numbering';
import { assertNotEnded, CallAlreadyEnded } from './ended-calls';
import { admitCall, endFailedOffer } from './route-policy';
import { ringSecondsOf } from '../../shared/rules/operator-model';

/** Kamailio's routing query (shared/gateway/sip.ts SipRouteQuery: pai, privacy and trunk may be left out). */
export type InboundRouteQuery = z.input<typeof SipRouteQuery>;
export type RouteDecision = z.output<typeof SipRouteResponse>;

/**
 * `campaignId`: route into this campaign instead of the DID's (a queue's overflow campaign);
 * `fromQueue`: a queued call's dispatch (server/sip/queue.ts): nobody offerable is answered
 * no_ready_agent, never queued again.
 */
export async function routeInbound(ctx: GatewayContext, query: InboundRouteQuery, opts: { campaignId?: string; fromQueue?: boolean } = {}): Promise<RouteDecision> {
  const { db, clock, agents } = ctx;
  // Every number through the trunk's one rule (shared/rules/numbering.ts): a DID in national
  // form is the same DID; a withheld, anonymous or unparseable caller is "unknown caller".
  const rule = trunkNumbering(ctx.config.sip, query.trunk ?? 'default');
  const did = trunkNumberToE164(query.did, rule);
  if (!did) return { target: null, campaignId: null, did: query.did, reason: 'unknown_did' };
  const q = { did, callId: query.callId };
  // One statement (issue 14, routing at scale): the DID's campaign, its org's policy, the
  // offer this call already holds (Kamailio asking again) and whether anyone is offerable, read
  // together, at every lookup (no cache: a campaign, DID or policy changed by any path is seen
  // by the next lookup).
  const dids = await db
    .selectFrom('campaign_dids')
    .innerJoin('campaigns', 'campaigns.id', 'campaign_dids.campaign_id')
    .innerJoin('orgs', 'orgs.id', 'campaign_dids.org_id')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('calls')
          .innerJoin('users', 'users.id', 'calls.operator_id')
          .select(['calls.operator_id', 'calls.campaign_id', 'users.username'])
          .whereRef('calls.org_id', '=', 'campaign_dids.org_id')
          .where('calls.sip_call_id', '=', q.callId)
          .where('calls.status', '=', 'ringing')
          .limit(1)
          .as('held'),
      (join) => join.onTrue(),
    )
    .select([
      'campaign_dids.org_id', 'campaign_dids.campaign_id', 'campaigns.id', 'campaigns.blocked_numbers', 'campaigns.time_zone', 'campaigns.weekly_hours',
      'campaigns.closed_dates', 'campaigns.special_hours', 'campaigns.enforce_hours', 'campaigns.block_policy', 'campaigns.ring_seconds',
      'campaigns.disabled_at', 'orgs.policy as org_policy', 'held.operator_id as held_operator', 'held.campaign_id as held_campaign', 'held.username as held_username',
    ])
    // ... and whether anyone of the campaign is offerable now (the claim's first question: when
    // nobody is, what Kamailio asks most during a queue, the lookup needs no other read before the queue)
    .select((eb) => eb.exists(offerableExists(db, sql.ref<string>('campaign_dids.org_id'), sql.ref<string>('campaign_dids.campaign_id'))).as('anyone_offerable'))
    .where('campaign_dids.e164', '=', q.did)
    .execute();
  // A DID in two orgs is a configuration error: route it nowhere rather than guess.
  if (dids.length !== 1) return { target: null, campaignId: null, did: q.did, reason: 'unknown_did' };
  // A disabled campaign (server/admin/org.ts) is not routed: its numbers answer like unknown ones
  // (out of service), a queued call's dispatch and a re-route too; it keeps its DIDs and history.
  if (dids[0]!.disabled_at !== null) return { target: null, campaignId: null, did: q.did, reason: 'unknown_did' };
  const { org_id: orgId } = dids[0]!;
  // a queued call's dispatch into the queue's overflow campaign routes into that campaign
  const campaignId = opts.campaignId ?? dids[0]!.campaign_id;
  // ... unless that overflow campaign is disabled (then it is not routed either)
  if (campaignId !== dids[0]!.campaign_id) {
    const overflow = await db.selectFrom('campaigns').select('disabled_at').where('id', '=', campaignId).where('org_id', '=', orgId).executeTakeFirst();
    if (!overflow || overflow.disabled_at !== null) return { target: null, campaignId: null, did: q.did, reason: 'unknown_did' };
  }
  const caller = callerOf({ from: query.from, pai: query.pai, privacy: query.privacy }, rule).e164;
  const failed = query.failed ?? '';
  const held = { orgId, campaignId, did: q.did, caller, query: SipRouteQuery.parse(query) };
  // the caller waits in the campaign's queue (server/sip/queue.ts); notice: the org's recording notice first
  const enqueue = (notice: boolean) => ctx.queues.enqueue({ ...held, notice });
  if (failed === '') {
    // Kamailio asked again for a call already offered (the gateway it asked first answered too
    // late, the next one is asked): the same answer, never a second operator
    const d = dids[0]!;
    const offered = d.held_operator && d.held_username ? await heldOffer(ctx, q.callId, { operatorId: d.held_operator, username: d.held_username, campaignId: d.held_campaign }) : null;
    if (offered) return { target: sipUserOf(offered.username), campaignId: offered.campaignId ?? campaignId, did: q.did, reason: 'routed', ringSeconds: offered.ringSeconds };
    if (!opts.fromQueue) {
      // a new call: the block list and the hours decide before any operator is looked at; the
      // closed message (and the blocked one, when the campaign's policy says so) is played, then the call ends
      const admission = await admitCall(ctx, { ...dids[0]!, org_id: orgId }, { callId: q.callId, did: q.did, caller });
      if (admission.outcome === 'blocked') {
        if (admission.policy === 'message') return ctx.queues.announceAndEnd({ ...held, name: 'blocked', reason: 'blocked' });
        return { target: null, campaignId, did: q.did, reason: 'blocked', blockPolicy: admission.policy };
      }
      if (admission.outcome === 'closed') return ctx.queues.announceAndEnd({ ...held, name: 'closed', reason: 'closed' });
      // the org's recording / monitoring notice plays before routing: the call is held for it
      if (parsePolicy(dids[0]!.org_policy).announcements.recordingNotice) return enqueue(true);
    }
  } else {
    // a re-route of an admitted call: the failed offer ends first (no answer -> "missed")
    await endFailedOffer(ctx, orgId, q.callId, failed, query.status ?? '');
  }
  const ringSeconds = ringSecondsOf(dids[0]!.ring_seconds, await agents.modelPolicy(orgId));
  // operators this call was already offered to are not offered it again (each failed offer
  // takes one operator out: the re-routes of one call are bounded by the campaign's operators)
  const offeredBefore =
    failed === ''
      ? []
      : (await db.selectFrom('calls').select('operator_id').where('org_id', '=', orgId).where('sip_call_id', '=', q.callId).execute()).flatMap((r) => (r.operator_id ? [r.operator_id] : []));
  // The operator model decides who may be offered (offerable: connected, ready, unlocked, with
  // a microphone, no live call, no wrap-up), longest ready first. The offer is a step of the
  // chosen operator's model: AgentRegistry.offerNext claims the longest-offerable operator of
  // the campaign in SQL (FOR UPDATE SKIP LOCKED: concurrent calls claim different operators,
  // never one twice) and steps it; the call row is written in the same transaction as the
  // accepted offer.
  const blockedList = jsonColumn<string[]>(dids[0]!.blocked_numbers);
  let chosen: { userId: string; username: string } | null = null;
  try {
    // the DID statement's "anyone offerable" answers for the DID's own campaign on a first offer
    const anyOfferable = campaignId === dids[0]!.campaign_id && offeredBefore.length === 0 ? Boolean(dids[0]!.anyone_offerable) : undefined;
    const claimed = await agents.offerNext({ orgId, campaignId, callId: q.callId, ringSeconds, exclude: offeredBefore, anyOfferable }, {
      detail: { callId: q.callId, campaignId, did: q.did },
      within: async (tx, _next, operator) => {
        // Kamailio already reported this call ended (this answer comes too late): no offer
        await assertNotEnded(tx, q.callId);
        // the screen pop's customer: read only for a call that is offered
        const customers = caller
          ? await tx.selectFrom('customer_phones').select('customer_id').where('e164', '=', caller).where('campaign_id', '=', campaignId).execute()
          : [];
        const now = clock.now();
        await tx
          .insertInto('calls')
          .values({
            id: randomUUID(), org_id: orgId, sip_call_id: q.callId, operator_id: operator.userId, campaign_id: campaignId,
            customer_id: customers.length === 1 ? customers[0]!.customer_id : null, caller_e164: caller, dialled_e164: q.did,
            blocked: !!caller && Array.isArray(blockedList) && blockedList.includes(caller), status: 'ringing',
            ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
          })
          .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
          .execute();
      },
    });
    if (claimed) chosen = claimed.who;
  } catch (err) {
    if (err instanceof CallAlreadyEnded) return { target: null, campaignId, did: q.did, reason: 'no_ready_agent' };
    throw err;
  }
  // nobody offerable: the caller waits in the campaign's queue (server/sip/queue.ts). A re-route
  // with nobody left waits there too, from when it first waited (its operator let it ring or
  // refused: the caller is not dropped); only a queued call's dispatch is answered no_ready_agent
  // (its entry stays waiting).
  if (!chosen) {
    if (opts.fromQueue) return { target: null, campaignId, did: q.did, reason: 'no_ready_agent' };
    return failed === '' ? enqueue(false) : ctx.queues.enqueue({ ...held, query: { ...held.query, failed: '', status: '' }, notice: false, rerouted: true });
  }
  ctx.supervision.touch(chosen.userId); // the board: the call row exists now
  // the card with the ring: to the operator's client before Kamailio sends the INVITE (bounded wait)
  await ctx.cards.offered(chosen.userId, q.callId);
  return { target: sipUserOf(chosen.username), campaignId, did: q.did, reason: 'routed', ringSeconds };
}

/**
 * The operator already offered this call on a first query (their model holds it offered or
 * ringing, the calls row is ringing: `row`, read with the DID): Kamailio asking again gets the
 * same operator.
 */
async function heldOffer(ctx: GatewayContext, callId: string, row: { operatorId: string; username: string; campaignId: string | null }): Promise<{ username: string; campaignId: string | null; ringSeconds: number } | null> {
  const agent = await ctx.agents.get(row.operatorId);
  const holds = agent?.model.calls.some((c) => c.callId === callId && (c.state === 'offered' || c.state === 'ringing'));
  if (!agent || !holds) return null;
  // what is left of the ring timeout (Kamailio's branch timer for the repeated answer)
  const left = agent.model.ringUntil === null ? 1 : Math.ceil((agent.model.ringUntil - ctx.clock.now().getTime()) / 1000);
  return { username: row.username, campaignId: row.campaignId, ringSeconds: Math.max(1, left) };
}
