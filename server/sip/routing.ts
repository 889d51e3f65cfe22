// Inbound routing for Kamailio: a call from the trunk to a DID goes to a ready operator
// assigned to the DID's campaign, longest ready first. The chosen operator becomes on_call
// (so a second call does not ring them too) and the call is recorded under its SIP Call-ID
// in the CRM's calls table (the operator's screen pop then finds the same row).
import { randomUUID } from 'node:crypto';
import { callerOf, trunkNumberToE164 } from '../../shared/rules/numbering';
import type { GatewayContext } from '../context';
import { sipUserOf } from './agents';
import { trunkNumbering } from './numbering';

export interface RouteDecision {
  target: string | null;
  campaignId: string | null;
  did: string;
  reason: 'routed' | 'no_ready_agent' | 'unknown_did';
}

export interface RouteQuery {
  /** The DID as the trunk sent it (R-URI user): normalised by the trunk's rule. */
  did: string;
  /** The caller as the trunk sent it: From URI, P-Asserted-Identity URI, Privacy header. */
  from: string;
  pai?: string;
  privacy?: string;
  trunk?: string;
  callId: string;
}

export async function routeInbound(ctx: GatewayContext, query: RouteQuery): Promise<RouteDecision> {
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
  // readyAmong and set() run without an await in between (set() records the state before its
  // first await): two concurrent calls never pick the same agent. Awaited here, not later, so a
  // failure of the insert below cannot leave set()'s promise rejected with nobody listening.
  const chosen = agents.readyAmong(assigned.map((u) => u.id))[0];
  if (!chosen) return { target: null, campaignId, did: q.did, reason: 'no_ready_agent' };
  await agents.set(chosen, 'on_call', null, 'gateway', { callId: q.callId, campaignId, did: q.did });

  const caller = callerOf({ from: query.from, pai: query.pai, privacy: query.privacy }, rule).e164;
  const blockedList = (typeof dids[0]!.blocked_numbers === 'string' ? JSON.parse(dids[0]!.blocked_numbers) : dids[0]!.blocked_numbers) as string[];
  const customers = caller
    ? await db.selectFrom('customer_phones').select('customer_id').where('e164', '=', caller).where('campaign_id', '=', campaignId).execute()
    : [];
  const now = clock.now();
  await db
    .insertInto('calls')
    .values({
      id: randomUUID(), org_id: orgId, sip_call_id: q.callId, operator_id: chosen.userId, campaign_id: campaignId,
      customer_id: customers.length === 1 ? customers[0]!.customer_id : null, caller_e164: caller, dialled_e164: q.did,
      blocked: !!caller && Array.isArray(blockedList) && blockedList.includes(caller), status: 'ringing',
      ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
    })
    .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
    .execute();
  ctx.supervision.touch(chosen.userId); // the board: the call row exists now
  return { target: sipUserOf(chosen.username), campaignId, did: q.did, reason: 'routed' };
}
