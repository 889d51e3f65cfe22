// The queue's rows (server/sip/queue.ts): a campaign's limits, where a new caller fits, ending an
// entry once, and the calls row of a call that left the queue without an operator.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor } from '../db/schema';
import type { QueueEntryState } from '../db/schema-queue';
import type { CallQueueEntry as Entry } from '../db/schema-queue';

export interface QueueSettings {
  maxWaitSeconds: number;
  maxSize: number;
  overflowCampaignId: string | null;
}

export async function queueSettings(db: Executor, campaignId: string): Promise<QueueSettings> {
  const c = await db.selectFrom('campaigns').select(['queue_max_wait_seconds', 'queue_max_size', 'queue_overflow_campaign_id', 'org_id']).where('id', '=', campaignId).executeTakeFirstOrThrow();
  let overflow = c.queue_overflow_campaign_id;
  // an overflow campaign of another org, or the campaign itself, is a configuration error: none
  if (overflow) {
    const o = await db.selectFrom('campaigns').select('org_id').where('id', '=', overflow).executeTakeFirst();
    if (!o || o.org_id !== c.org_id || overflow === campaignId) overflow = null;
  }
  return { maxWaitSeconds: c.queue_max_wait_seconds, maxSize: c.queue_max_size, overflowCampaignId: overflow };
}

/** Callers waiting in a campaign's queue now (a caller hearing the queue-full message does not count). */
async function size(db: Executor, campaignId: string): Promise<number> {
  const r = await db.selectFrom('call_queue').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('campaign_id', '=', campaignId).where('ended_at', 'is', null).where('end_announcement', 'is', null).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * The queue a new caller of `campaignId` joins: its own while it has room, else (unless `only`)
 * its overflow campaign's while that has room; null: full. (Caller holds the org's queue lock.)
 */
export async function findOverflow(db: Executor, campaignId: string, only = false): Promise<string | null> {
  const s = await queueSettings(db, campaignId);
  if ((await size(db, campaignId)) < s.maxSize) return campaignId;
  if (only || !s.overflowCampaignId) return null;
  const o = await queueSettings(db, s.overflowCampaignId);
  return (await size(db, s.overflowCampaignId)) < o.maxSize ? s.overflowCampaignId : null;
}

/** Ends an entry that is in one of `from` (once: of concurrent enders one gets the row); the row before and after. */
export async function endEntry(db: Executor, callId: string, from: QueueEntryState[], state: QueueEntryState, reason: string, at: Date): Promise<{ before: Entry; after: Entry } | null> {
  const run = async (tx: Executor) => {
    const before = await tx.selectFrom('call_queue').selectAll().where('sip_call_id', '=', callId).where('state', 'in', from).where('ended_at', 'is', null).forUpdate().executeTakeFirst();
    if (!before) return null;
    const after = await tx.updateTable('call_queue').set({ state, ended_at: at, end_reason: before.state === 'ending' && state === 'expired' ? before.end_reason : reason, claimed_by: null })
      .where('sip_call_id', '=', callId).returningAll().executeTakeFirstOrThrow();
    return { before, after };
  };
  return 'transaction' in db && typeof db.transaction === 'function' ? db.transaction().execute(run) : run(db);
}

/**
 * The calls row of a call that left the queue without reaching an operator: `abandoned` (the
 * caller hung up while waiting), or `ended` with the queue's reason (queue full, maximum wait,
 * closed while waiting). None while an operator's offer of it is live (the operator model
 * records that end). Under the call's advisory lock, like the offer (ended-calls.ts).
 */
export async function recordQueueEnd(db: Executor, ended: { before: Entry; after: Entry }): Promise<void> {
  const { before, after } = ended;
  const run = async (tx: Executor) => {
    await sql`select pg_advisory_xact_lock(hashtext(${after.sip_call_id}))`.execute(tx);
    // an offer still live: the operator model records its end. Offers that ended before (a
    // re-routed caller whose operators let it ring, back in the queue) do not: this row does.
    const offered = await tx.selectFrom('calls').select('id').where('sip_call_id', '=', after.sip_call_id).where('org_id', '=', after.org_id).where('ended_at', 'is', null).executeTakeFirst();
    if (offered) return;
    // written once (a second ender finds it)
    if (await tx.selectFrom('calls').select('id').where('sip_call_id', '=', after.sip_call_id).where('org_id', '=', after.org_id).where('operator_id', 'is', null).executeTakeFirst()) return;
    const abandoned = after.state === 'abandoned' && before.state !== 'ending';
    const at = after.ended_at ?? new Date();
    await tx.insertInto('calls').values({
      id: randomUUID(), org_id: after.org_id, sip_call_id: after.sip_call_id, operator_id: null, campaign_id: after.campaign_id, customer_id: null,
      caller_e164: after.caller_e164, dialled_e164: after.dialled_e164, blocked: false, status: abandoned ? 'abandoned' : 'ended',
      ringing_at: after.enqueued_at, answered_at: null, ended_at: at, disposition: null, wrap_up_seconds: null, created_at: at, updated_at: at,
      end_cause: abandoned ? 'abandoned' : (before.end_reason ?? after.end_reason), queued_at: after.enqueued_at,
    }).execute();
  };
  return 'transaction' in db && typeof db.transaction === 'function' ? db.transaction().execute(run) : run(db);
}
