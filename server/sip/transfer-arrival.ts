// A transfer's arrival (docs/telephony.md "Transfers and recordings"): after a transfer the
// customer's side sends a new INVITE (a new Call-ID) straight to operator B; it reaches B without
// routing, so the gateway never wrote B a calls row, and everything that follows the row (the
// customer card's call history, the recorder: its campaign's recording mode, the board) missed
// B's part of the conversation. Here, the one place a call that reached an operator without
// routing first steps their model (`incoming`, server/sip/agent-ws.ts), it is matched to the
// accepted REFER that sent it: Kamailio reports every REFER (`GET /sip/transfer`, audited
// `sip.transfer` with the Refer-To and the transferring operator, before it relays the REFER),
// so a `sip.transfer` of the last minute in B's org whose Refer-To is B's AoR (blind), or a
// device Contact of an operator who consulted B (attended: A dialled a call that reached B
// unrouted within the hour), from an operator whose call row exists, and not yet claimed by
// another arrival, is the origin. B's row copies
// the origin's campaign, customer, numbers and direction; the claim is audited
// (`sip.transfer_arrival`: the new Call-ID, the origin Call-ID, who transferred) in the same
// transaction as the step, so two arrivals never take one transfer and the origin of every
// transferred leg is on the audit chain.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { appendAudit } from '../audit/audit';
import type { Clock } from '../clock';
import type { Database } from '../db/schema';
import { sipUserOf } from './agent-state';

/** How long after the REFER its arrival is still matched (baresip re-INVITEs within a second; a slow carrier within seconds). */
export const ARRIVAL_WINDOW_MS = 60_000;

const detailOf = (d: unknown): Record<string, unknown> => {
  if (typeof d === 'string') {
    try {
      return JSON.parse(d) as Record<string, unknown>;
    } catch {
      return {}; // not JSON: no fields to match (never a match)
    }
  }
  return d && typeof d === 'object' ? (d as Record<string, unknown>) : {};
};

/** The user part of a SIP URI's `sip:user@host` form, lower-cased; null for anything else. */
const uriUser = (uri: unknown): string | null => {
  if (typeof uri !== 'string') return null;
  const m = /^sips?:([^@;?]+)@/i.exec(uri.trim());
  return m ? m[1]!.toLowerCase() : null;
};

/** How long a consultation may last before the attended transfer that completes it. */
export const CONSULTATION_WINDOW_MS = 60 * 60_000;

/** Whether `from` dialled a call that reached `to` without routing (a consultation) within the window. */
async function consulted(tx: Transaction<Database>, orgId: string, from: string, to: string, now: Date): Promise<boolean> {
  const since = new Date(now.getTime() - CONSULTATION_WINDOW_MS);
  const row = await tx
    .selectFrom('operator_transitions as tb')
    .innerJoin('operator_transitions as ta', 'ta.sip_call_id', 'tb.sip_call_id')
    .select('tb.sip_call_id')
    .where('tb.org_id', '=', orgId)
    .where('tb.user_id', '=', to)
    .where('tb.event', '=', 'incoming')
    .where('tb.at', '>=', since)
    .where('ta.org_id', '=', orgId)
    .where('ta.user_id', '=', from)
    .where('ta.event', '=', 'dial')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Writes operator `who`'s calls row for `callId` when it is the arrival of a transfer (blind or attended) to
 * them (see above); returns the origin Call-ID, or null (a colleague's call, a consultation:
 * no row, as before).
 */
export async function transferArrivalRecord(
  tx: Transaction<Database>,
  clock: Clock,
  who: { userId: string; orgId: string; username: string },
  callId: string,
): Promise<string | null> {
  const now = clock.now();
  const since = new Date(now.getTime() - ARRIVAL_WINDOW_MS);
  const me = sipUserOf(who.username);
  const recent = await tx
    .selectFrom('audit_log')
    .select(['action', 'target_id', 'actor_user_id', 'actor_username', 'detail'])
    .where('org_id', '=', who.orgId)
    .where('action', 'in', ['sip.transfer', 'sip.transfer_arrival'])
    .where('at', '>=', since)
    .orderBy('seq', 'desc')
    .limit(200)
    .execute();
  const claimed = new Set(recent.filter((r) => r.action === 'sip.transfer_arrival').map((r) => String(detailOf(r.detail).origin ?? '')));
  for (const r of recent) {
    if (r.action !== 'sip.transfer' || !r.target_id || !r.actor_user_id || r.target_id === callId) continue;
    const d = detailOf(r.detail);
    if (d.kind === 'colleague') {
      if (uriUser(d.to) !== me) continue;
    } else if (d.kind === 'colleague_device') {
      // an attended transfer: the Refer-To is a device Contact (no AoR); it is this operator's
      // when the transferring operator consulted them (dialled a call that reached them unrouted)
      if (!(await consulted(tx, who.orgId, r.actor_user_id, who.userId, now))) continue;
    } else continue;
    const claim = `${r.target_id} ${r.actor_user_id}`;
    if (claimed.has(claim)) continue;
    const origin = await tx
      .selectFrom('calls')
      .select(['campaign_id', 'customer_id', 'caller_e164', 'dialled_e164', 'direction', 'blocked'])
      .where('org_id', '=', who.orgId)
      .where('sip_call_id', '=', r.target_id)
      .where('operator_id', '=', r.actor_user_id)
      .executeTakeFirst();
    if (!origin) continue;
    await tx
      .insertInto('calls')
      .values({
        id: randomUUID(), org_id: who.orgId, sip_call_id: callId, operator_id: who.userId, campaign_id: origin.campaign_id, customer_id: origin.customer_id,
        caller_e164: origin.caller_e164, dialled_e164: origin.dialled_e164, blocked: origin.blocked, status: 'ringing', direction: origin.direction,
        ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
      })
      .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
      .execute();
    await appendAudit(tx, clock, {
      action: 'sip.transfer_arrival',
      orgId: who.orgId,
      actor: null,
      target: { type: 'call', id: callId },
      detail: { origin: claim, originCallId: r.target_id, from: r.actor_username, to: who.username },
    });
    return r.target_id;
  }
  return null;
}
