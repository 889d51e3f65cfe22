// Outbound calls' campaign (issue 18 item 6): an operator dials for one of their campaigns (the
// dial intent's campaignId, checked here before the model sees it), the call record carries it,
// and Kamailio asks which number the call presents (GET /sip/outbound): that campaign's caller ID.
import { sql } from 'kysely';
import type { Principal } from '../auth/principal-type';
import { campaignScope, inScope } from '../crm/scope';
import type { Executor } from '../db/schema';

/** The campaign is the operator's (their scope, as the CRM reads it) and enabled. */
export async function dialCampaignAllowed(db: Executor, p: Principal, campaignId: string): Promise<boolean> {
  const row = await db
    .selectFrom('campaigns as t')
    .select('t.id')
    .where('t.id', '=', campaignId)
    .where('t.disabled_at', 'is', null)
    .where(inScope(campaignScope(p), 't', 'id'))
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The caller ID of an outbound call: the campaign recorded on the call this SIP user dialled
 * (that campaign still enabled). Null: no such call, no campaign, or none set.
 */
export async function outboundCallerId(db: Executor, callId: string, sipUser: string): Promise<string | null> {
  const row = await db
    .selectFrom('calls as c')
    .innerJoin('users as u', 'u.id', 'c.operator_id')
    .innerJoin('campaigns as k', (j) => j.onRef('k.id', '=', 'c.campaign_id').onRef('k.org_id', '=', 'c.org_id'))
    .select('k.outbound_caller_id')
    .where('c.sip_call_id', '=', callId)
    .where('c.direction', '=', 'outbound')
    .where(sql<boolean>`lower(u.username) = ${sipUser}`)
    .where('k.disabled_at', 'is', null)
    .orderBy('c.created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.outbound_caller_id ?? null;
}
