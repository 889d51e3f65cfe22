// The screen pop: who is calling, in which campaign, the customers with that number, their
// recent calls and open notes; and the call's record (one per Call-ID and operator). The one
// card builder: the pop route (routes.ts) and the card pushed with the ring (card-push.ts).
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { ScreenPopRequest as ScreenPopRequestSchema, ScreenPopResponse } from '../../shared/gateway/crm';
import { hoursStatus } from '../../shared/rules/business-hours';
import { callerOf } from '../../shared/rules/numbering';
import { toE164 } from '../../shared/rules/phone';
import type { Clock } from '../clock';
import type { GatewayConfig } from '../config';
import { jsonColumn } from '../db/json-column';
import type { Db, Executor } from '../db/schema';
import type { Principal } from '../auth/principal-type';
import { trunkNumbering } from '../sip/numbering';
import { callsInScope, campaignInScope, customersByPhoneQuery, notesInScope, ownCallRow } from './queries';
import { campaignScope, type CampaignScope } from './scope';
import { callView, campaignHours, customerViews, noteView, type CampaignRow } from './views';

type ScreenPopRequest = z.output<typeof ScreenPopRequestSchema>;

/** What building a card needs of the gateway (not its whole context: the context holds the card pushes). */
export interface CardHost {
  db: Db;
  config: GatewayConfig;
  clock: Clock;
}

/** The other party's number, the DID dialled, and the campaign the call's record names (outbound). */
interface Parties {
  caller: string | null;
  dialled: string | null;
  /** An outbound call: the campaign its record found for the number dialled. */
  outboundCampaignId?: string | null;
}

/**
 * The caller: as the routing query decided it for this call (a withheld caller stays withheld,
 * server/sip/routing.ts), else the trunk's rule on what the phone shows. An outbound call (the
 * operator dialled; the gateway recorded it at the dial intent): the party is the number
 * dialled, in the campaign the record found for it.
 */
async function partiesOf(ctx: CardHost, p: Principal, body: ScreenPopRequest): Promise<Parties> {
  const routed = await ownCallRow(ctx.db, p, body.callId);
  if (routed?.direction === 'outbound') return { caller: routed.dialled_e164, dialled: null, outboundCampaignId: routed.campaign_id };
  const presented = callerOf({ from: body.callerNumber }, trunkNumbering(ctx.config.sip, 'default'));
  const caller = routed ? routed.caller_e164 : (presented.e164 ?? (presented.presentation === 'withheld' ? null : toE164(body.callerNumber)));
  return { caller, dialled: body.dialledNumber ? toE164(body.dialledNumber) : null };
}

/**
 * The campaign: the DID mapping, else the PBX's campaign id (an outbound call: its record's).
 * Either way it is read through the scope, so a campaign the operator is not assigned to is
 * "no campaign"; `named` says whether one was named at all.
 */
async function campaignOf(db: Executor, p: Principal, scope: CampaignScope, parties: Parties, body: ScreenPopRequest) {
  const did = parties.dialled
    ? await db.selectFrom('campaign_dids').select('campaign_id').where('org_id', '=', p.orgId).where('e164', '=', parties.dialled).executeTakeFirst()
    : undefined;
  const named = parties.outboundCampaignId !== undefined ? parties.outboundCampaignId : (did?.campaign_id ?? body.campaignId ?? null);
  return { named: !!named, campaign: named ? await campaignInScope(db, scope, named) : undefined };
}

/** The call's record: one per (Call-ID, operator); a repeated pop for the same call keeps it. */
async function recordRinging(
  db: Executor, p: Principal, callId: string, now: Date,
  at: { campaign: CampaignRow | undefined; customerIds: string[]; caller: string | null; dialled: string | null; blocked: boolean },
): Promise<void> {
  await db
    .insertInto('calls')
    .values({
      id: randomUUID(), org_id: p.orgId, sip_call_id: callId, operator_id: p.userId, campaign_id: at.campaign?.id ?? null,
      customer_id: at.customerIds.length === 1 ? at.customerIds[0]! : null, caller_e164: at.caller, dialled_e164: at.dialled, blocked: at.blocked,
      status: 'ringing', ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
    })
    .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
    .execute();
}

/** The customers' five latest other calls and their open notes. */
async function historyOf(db: Executor, scope: CampaignScope, customerIds: string[], exceptCallId: string) {
  if (customerIds.length === 0) return { recentCalls: [], openNotes: [] };
  const [calls, notes] = await Promise.all([
    callsInScope(db, scope).where('t.customer_id', 'in', customerIds).where('t.sip_call_id', '<>', exceptCallId).orderBy('t.ringing_at', 'desc').limit(5).execute(),
    notesInScope(db, scope).where('t.customer_id', 'in', customerIds).where('t.open', '=', true).orderBy('t.created_at', 'desc').limit(20).execute(),
  ]);
  return { recentCalls: calls.map(callView), openNotes: notes.map(noteView) };
}

/**
 * THE card of a call for this principal: the pop route answers it, and the gateway pushes it to
 * the operator it routes a call to (server/crm/card-push.ts). One function, so the campaign
 * scope, the block list and the customer-read rules are the same on both paths.
 */
export async function buildCard(ctx: CardHost, principal: Principal, body: ScreenPopRequest): Promise<ScreenPopResponse> {
  const { db, clock } = ctx;
  const scope = campaignScope(principal);
  const now = clock.now();
  const parties = await partiesOf(ctx, principal, body);
  const { named, campaign } = await campaignOf(db, principal, scope, parties, body);
  const { caller } = parties;
  const blocked = !!campaign && !!caller && jsonColumn<string[]>(campaign.blocked_numbers).includes(caller);
  // A campaign was named but is outside the scope: nothing, exactly as for an unknown one.
  const searchable = !!caller && !blocked && (!named || !!campaign);
  const rows = searchable ? await customersByPhoneQuery(db, scope, caller, campaign?.id).execute() : [];
  const customerIds = rows.map((r) => r.id);
  // independent reads (and the record) at once: the card is on the routing path (card-push.ts)
  const [customers, history] = await Promise.all([
    customerViews(db, rows),
    historyOf(db, scope, customerIds, body.callId),
    recordRinging(db, principal, body.callId, now, { campaign, customerIds, caller, dialled: parties.dialled, blocked }),
  ]);
  return {
    status: customers.length > 0 ? 'known' : 'unknown',
    blocked,
    campaign: campaign
      ? { id: campaign.id, name: campaign.name, dispositions: jsonColumn<string[]>(campaign.dispositions), openNow: hoursStatus(campaignHours(campaign), now).openNow }
      : null,
    customers,
    ...history,
  };
}
