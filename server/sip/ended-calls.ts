// Calls Kamailio reported ended (GET /sip/call-ended: a BYE, a CANCEL, a refused INVITE, the
// routing fallback after a slow gateway). A routing answer that comes after the call's end (the
// gateway stalled past Kamailio's 1 s lookup timeout, then answered) must not offer the dead
// call to an operator, who would ring for nothing and be marked "missed". The end and the offer
// take the same per-call advisory lock, so one of them sees the other: an offer committed first
// is ended by the report; a report first makes the offer refuse.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema';

const KEEP_MS = 60 * 60_000;

export class CallAlreadyEnded extends Error {
  constructor(readonly callId: string) {
    super('the call ended before it was offered');
  }
}

const lock = (tx: Transaction<Database>, callId: string) => sql`select pg_advisory_xact_lock(hashtext(${callId}))`.execute(tx);

/** Records the end (once) and forgets ends older than an hour. */
export async function markCallEnded(db: Kysely<Database>, callId: string, at: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lock(tx, callId);
    await tx.insertInto('ended_calls').values({ sip_call_id: callId, ended_at: at }).onConflict((oc) => oc.column('sip_call_id').doNothing()).execute();
  });
  await db.deleteFrom('ended_calls').where('ended_at', '<', new Date(at.getTime() - KEEP_MS)).execute();
}

/** Inside the offer's transaction: throws CallAlreadyEnded when Kamailio already reported the end. */
export async function assertNotEnded(tx: Transaction<Database>, callId: string): Promise<void> {
  await lock(tx, callId);
  const ended = await tx.selectFrom('ended_calls').select('sip_call_id').where('sip_call_id', '=', callId).executeTakeFirst();
  if (ended) throw new CallAlreadyEnded(callId);
}
