// Retention and deletion of calls, notes and customers (APPI; docs/telephony.md "Recordings",
// "Retention of calls, notes and customers"). Each campaign says how many days each is kept
// (null: kept). A legal hold on a call or a customer suspends every deletion that would touch
// it. Every deletion, whether by the scheduled purge or an admin's request (right to deletion),
// goes through the functions here, in one transaction with its receipt in the audit chain:
// what (ids, counts, ciphertext hashes), when, why (retention + days, or the request); never
// the customer's name, numbers, note text or any other customer data.
//   - a call: its recordings destroyed (./retention.ts destroyRecording: the data key erased,
//     the file unlinked after), its notes unlinked from it (they follow their own retention),
//     the row deleted (the recordings' tombstones keep call_id null);
//   - a note: deleted;
//   - a customer: the recordings of their calls destroyed, their notes deleted, their calls
//     unlinked (customer_id and the numbers dialled / calling nulled: the call's timing and
//     operator stay), their phones and row deleted.
import { sql } from 'kysely';
import { appendAudit, eventBy } from '../audit/audit';
import type { Principal } from '../auth/principal-type';
import type { Clock } from '../clock';
import type { Db, Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { destroyRecording } from './retention';

type Why = { reason: 'retention'; retentionDays: number } | { reason: 'request'; requestReason: string };
const PURGE_BATCH = 200;

async function receipt(tx: Executor, clock: Clock, orgId: string, by: Principal | null, action: string, target: { type: string; id: string }, detail: Record<string, unknown>): Promise<void> {
  await appendAudit(tx, clock, by ? eventBy(by, action, target, detail) : { orgId, actor: null, action, target, detail });
}

/** Destroys the recordings of these calls (not those being made: the caller checked). */
async function destroyRecordingsOf(tx: Executor, clock: Clock, callIds: string[], why: Why, by: Principal | null): Promise<{ id: string; sha256: string | null }[]> {
  if (!callIds.length) return [];
  const rows = await tx.selectFrom('recordings').selectAll().where('call_id', 'in', callIds).where('status', 'in', ['complete', 'incomplete']).forUpdate().execute();
  for (const r of rows) await destroyRecording(tx, clock, r, why.reason, by, { ...why, cascade: true });
  return rows.map((r) => ({ id: r.id, sha256: r.sha256 }));
}

/** Deletes one call row (locked by the caller, not live, not on hold) with its recordings; the receipt is `call.deleted`. */
export async function deleteCall(tx: Executor, clock: Clock, call: { id: string; org_id: string; sip_call_id: string; campaign_id: string | null; operator_id: string | null }, why: Why, by: Principal | null): Promise<void> {
  const recordings = await destroyRecordingsOf(tx, clock, [call.id], why, by);
  const notes = await tx.updateTable('notes').set({ call_id: null }).where('call_id', '=', call.id).executeTakeFirst();
  await tx.deleteFrom('calls').where('id', '=', call.id).execute();
  await receipt(tx, clock, call.org_id, by, 'call.deleted', { type: 'call', id: call.id }, {
    callId: call.sip_call_id, campaignId: call.campaign_id, operatorId: call.operator_id, ...why, recordings, notesUnlinked: Number(notes.numUpdatedRows),
  });
}

/**
 * Deletes all of one customer's data (see the file's comment). Refused (conflict) while the
 * customer or one of their calls is on legal hold, or one of their calls is live. Returns the
 * receipt's counts.
 */
export async function eraseCustomer(tx: Executor, clock: Clock, orgId: string, customerId: string, why: Why, by: Principal | null) {
  const u = await tx.selectFrom('customers').select(['id', 'campaign_id', 'legal_hold']).where('id', '=', customerId).where('org_id', '=', orgId).forUpdate().executeTakeFirst();
  if (!u) throw new GatewayError('not_found', 'no such customer');
  const calls = await tx.selectFrom('calls').select(['id', 'legal_hold', 'status']).where('customer_id', '=', customerId).forUpdate().execute();
  if (u.legal_hold || calls.some((c) => c.legal_hold)) {
    throw new GatewayError('conflict', 'this customer or one of their calls is on legal hold: nothing was deleted; lift the hold first');
  }
  if (calls.some((c) => c.status === 'ringing' || c.status === 'answered')) throw new GatewayError('conflict', 'this customer is on a call now: nothing was deleted; try again after the call');
  const live = await tx.selectFrom('recordings').select('id').where('call_id', 'in', calls.length ? calls.map((c) => c.id) : ['00000000-0000-0000-0000-000000000000']).where('status', '=', 'recording').executeTakeFirst();
  if (live) throw new GatewayError('conflict', 'a call of this customer is being recorded: nothing was deleted; try again after the call');
  const recordings = await destroyRecordingsOf(tx, clock, calls.map((c) => c.id), why, by);
  const notes = await tx.deleteFrom('notes').where('customer_id', '=', customerId).executeTakeFirst();
  const unlinked = await tx.updateTable('calls').set({ customer_id: null, caller_e164: null, dialled_e164: null }).where('customer_id', '=', customerId).executeTakeFirst();
  await tx.deleteFrom('customer_phones').where('customer_id', '=', customerId).execute();
  await tx.deleteFrom('customers').where('id', '=', customerId).execute();
  const out = { customerId, campaignId: u.campaign_id, notesDeleted: Number(notes.numDeletedRows), callsUnlinked: Number(unlinked.numUpdatedRows), recordings };
  await receipt(tx, clock, orgId, by, 'customer.deleted', { type: 'customer', id: customerId }, { ...why, ...out });
  return out;
}

/** Claims due rows one at a time (FOR UPDATE SKIP LOCKED: instances purge side by side) until none is left or the batch is done. */
async function drain(db: Db, one: (tx: Executor) => Promise<boolean>): Promise<number> {
  let n = 0;
  while (n < PURGE_BATCH && (await db.transaction().execute(one))) n++;
  return n;
}

const CUSTOMER_HELD = sql<boolean>`coalesce((select u.legal_hold from customers u where u.id = c.customer_id), false) = false`;

/** The scheduled purge of calls, notes and customers whose campaign's retention has passed; what each deleted. */
export async function purgeDueData(db: Db, clock: Clock): Promise<{ calls: number; notes: number; customers: number }> {
  const now = clock.now();
  const customers = await drain(db, async (tx) => {
    const u = await tx
      .selectFrom('customers as u')
      .innerJoin('campaigns as k', 'k.id', 'u.campaign_id')
      .select(['u.id', 'u.org_id', 'k.customer_retention_days as days'])
      .where('k.customer_retention_days', 'is not', null)
      .where('u.legal_hold', '=', false)
      .where(sql<boolean>`greatest(u.updated_at, coalesce((select max(coalesce(c.ended_at, c.ringing_at)) from calls c where c.customer_id = u.id), u.updated_at)) + make_interval(days => k.customer_retention_days) <= ${now}`)
      .where(sql<boolean>`not exists (select 1 from calls c where c.customer_id = u.id and (c.legal_hold or c.status in ('ringing', 'answered')))`)
      .where(sql<boolean>`not exists (select 1 from recordings r join calls c on c.id = r.call_id where c.customer_id = u.id and r.status = 'recording')`)
      .orderBy('u.updated_at')
      .limit(1)
      .forUpdate('u')
      .skipLocked()
      .executeTakeFirst();
    if (!u) return false;
    await eraseCustomer(tx, clock, u.org_id, u.id, { reason: 'retention', retentionDays: u.days! }, null);
    return true;
  });
  const calls = await drain(db, async (tx) => {
    const c = await tx
      .selectFrom('calls as c')
      .innerJoin('campaigns as k', 'k.id', 'c.campaign_id')
      .select(['c.id', 'c.org_id', 'c.sip_call_id', 'c.campaign_id', 'c.operator_id', 'k.call_retention_days as days'])
      .where('k.call_retention_days', 'is not', null)
      .where('c.status', 'not in', ['ringing', 'answered'])
      .where('c.legal_hold', '=', false)
      .where(CUSTOMER_HELD)
      .where(sql<boolean>`coalesce(c.ended_at, c.ringing_at) + make_interval(days => k.call_retention_days) <= ${now}`)
      .where(sql<boolean>`not exists (select 1 from recordings r where r.call_id = c.id and r.status = 'recording')`)
      .orderBy('c.ringing_at')
      .limit(1)
      .forUpdate('c')
      .skipLocked()
      .executeTakeFirst();
    if (!c) return false;
    await deleteCall(tx, clock, c, { reason: 'retention', retentionDays: c.days! }, null);
    return true;
  });
  const notes = await drain(db, async (tx) => {
    const n = await tx
      .selectFrom('notes as n')
      .innerJoin('campaigns as k', 'k.id', 'n.campaign_id')
      .select(['n.id', 'n.org_id', 'n.campaign_id', 'n.author_id', 'k.note_retention_days as days'])
      .where('k.note_retention_days', 'is not', null)
      .where(sql<boolean>`n.updated_at + make_interval(days => k.note_retention_days) <= ${now}`)
      .where(sql<boolean>`coalesce((select u.legal_hold from customers u where u.id = n.customer_id), false) = false`)
      .where(sql<boolean>`coalesce((select c.legal_hold from calls c where c.id = n.call_id), false) = false`)
      .orderBy('n.updated_at')
      .limit(1)
      .forUpdate('n')
      .skipLocked()
      .executeTakeFirst();
    if (!n) return false;
    await tx.deleteFrom('notes').where('id', '=', n.id).execute();
    await receipt(tx, clock, n.org_id, null, 'note.deleted', { type: 'note', id: n.id }, { campaignId: n.campaign_id, authorId: n.author_id, reason: 'retention', retentionDays: n.days });
    return true;
  });
  return { calls, notes, customers };
}
