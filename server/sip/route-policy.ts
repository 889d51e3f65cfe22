// The routing policy at the gateway (issue 15), the two steps server/sip/routing.ts takes
// before it looks for an operator:
//  - admission (the first query of a call): the campaign's block list and hours decide, by the
//    pure rule shared/rules/route-policy.ts, whether the call is offered at all. A blocked caller
//    is audited (`call.blocked`: the call, the DID and the policy, never the caller's number:
//    the audit holds no more customer data than the offers' audit does), recorded as a calls
//    row (end cause "blocked"), both once per call, and refused with the campaign's policy; a closed campaign answers `closed`. No operator's model is touched.
//  - a failed offer (a re-route: Kamailio's failure_route asks again with the operator whose
//    branch failed and the status): that offer ends in the operator's model with the cause the
//    status means (408 ring timeout -> no_answer -> not ready "missed"; 603 -> "declined";
//    486 -> "busy"), audited and pushed like every step of the model.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { appendAudit } from '../audit/audit';
import type { GatewayContext } from '../context';
import { jsonColumn } from '../db/json-column';
import { reportBackgroundFailure } from '../background';
import { campaignHours, campaignRouting, type CampaignRow } from '../crm/views';
import { admit, type Admission } from '../../shared/rules/route-policy';
import { endCauseOfSipStatus, type EndCause } from '../../shared/rules/operator-model';

export type PolicyCampaign = Pick<CampaignRow, 'id' | 'org_id' | 'time_zone' | 'weekly_hours' | 'closed_dates' | 'special_hours' | 'blocked_numbers' | 'enforce_hours' | 'block_policy' | 'ring_seconds'>;

/** Block list and hours, decided once for a new call; a blocked call is audited here. */
export async function admitCall(
  ctx: GatewayContext,
  campaign: PolicyCampaign,
  call: { callId: string; did: string; caller: string | null },
): Promise<Admission> {
  const blocked = jsonColumn<unknown>(campaign.blocked_numbers);
  const decision = admit(
    {
      hours: campaignHours(campaign as CampaignRow),
      enforceHours: campaign.enforce_hours,
      blockedNumbers: Array.isArray(blocked) ? blocked.filter((n): n is string => typeof n === 'string') : [],
      blockPolicy: campaignRouting(campaign).blockPolicy,
    },
    call.caller,
    ctx.clock.now(),
  );
  if (decision.outcome === 'blocked') await recordBlocked(ctx, campaign, call, decision.policy);
  return decision;
}

/**
 * A blocked call is recorded once, however often Kamailio asks (its failover asks the next
 * gateway when the first answered late): under the call's advisory lock (as the offer and the
 * queue's end, server/sip/ended-calls.ts), the first asker writes the calls row (no operator,
 * status ended, end cause "blocked", blocked) and the `call.blocked` audit in one transaction;
 * a repeat finds the row and writes neither. The audit names the call, the DID and the policy,
 * never the caller's number (the calls row, CRM data under the org's retention, holds it).
 */
async function recordBlocked(ctx: GatewayContext, campaign: PolicyCampaign, call: { callId: string; did: string; caller: string | null }, policy: string): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${call.callId}))`.execute(tx);
    const seen = await tx.selectFrom('calls').select('id').where('org_id', '=', campaign.org_id).where('sip_call_id', '=', call.callId).where('end_cause', '=', 'blocked').executeTakeFirst();
    if (seen) return;
    const now = ctx.clock.now();
    await tx.insertInto('calls').values({
      id: randomUUID(), org_id: campaign.org_id, sip_call_id: call.callId, operator_id: null, campaign_id: campaign.id, customer_id: null,
      caller_e164: call.caller, dialled_e164: call.did, blocked: true, status: 'ended', ringing_at: now, answered_at: null, ended_at: now,
      disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now, end_cause: 'blocked',
    }).execute();
    await appendAudit(tx, ctx.clock, {
      orgId: campaign.org_id, actor: null, action: 'call.blocked', target: { type: 'campaign', id: campaign.id },
      detail: { callId: call.callId, did: call.did, policy },
    });
  });
}

/** The model's cause for a failed branch's final status (Kamailio's 408 is the ring timer). */
export function causeOfFailedBranch(status: string): EndCause {
  const code = /^[1-6]\d\d$/.test(status) ? Number(status) : null;
  // no status at all (a malformed re-route): the offer did not connect; treated as not answered
  if (code === null) return 'no_answer';
  const cause = endCauseOfSipStatus(code);
  // 487 (or none) would read as "the caller gave up": a re-route is asked only when the caller
  // is still there (koe.cfg skips cancelled transactions), so the operator did not answer
  return cause === 'completed' ? 'no_answer' : cause;
}

/**
 * A re-route: ends the failed operator's offer of this call (only an operator this call was
 * offered to: their calls row exists). Returns nothing; a failure to step is logged and the call
 * still goes on to the next operator (the sweeper's ring deadline ends the offer anyway).
 */
export async function endFailedOffer(ctx: GatewayContext, orgId: string, callId: string, failedSipUser: string, status: string): Promise<void> {
  if (!/^[a-z0-9._-]{1,64}$/.test(failedSipUser)) return;
  const offered = await ctx.db
    .selectFrom('calls')
    .innerJoin('users', 'users.id', 'calls.operator_id')
    .select(['users.id', 'users.username'])
    .where('calls.org_id', '=', orgId)
    .where('calls.sip_call_id', '=', callId)
    .execute();
  const who = offered.find((u) => u.username.toLowerCase() === failedSipUser);
  if (!who) return;
  try {
    await ctx.agents.apply({ userId: who.id, orgId, username: who.username }, { type: 'ended', callId, cause: causeOfFailedBranch(status) }, {
      detail: { callId, reroute: true, sipStatus: /^\d{3}$/.test(status) ? Number(status) : null },
    });
  } catch (err) {
    reportBackgroundFailure(`routing: ending the failed offer of ${who.id} before the next operator`, err);
  }
}
