// Deleting recordings (docs/telephony.md "Recordings"): the receipt in the audit chain, the
// retention purge (claimed with SKIP LOCKED, legal holds respected), the files' removal, and
// re-wrapping the data keys after a KEK rotation.
import { unlink } from 'node:fs/promises';
import { sql, type Selectable } from 'kysely';
import { appendAudit, eventBy } from '../audit/audit';
import type { Principal } from '../auth/principal-type';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Db, Executor, RecordingsTable } from '../db/schema';
import type { KeyRing } from './format';

type RecordingRow = Selectable<RecordingsTable>;
/** How many due recordings one purge pass handles (the next pass takes the rest). */
const PURGE_BATCH = 200;

/**
 * Destroys one recording: the wrapped data key is erased from the index row (the file is
 * unreadable from that commit on) and a receipt (what, when, why, the ciphertext's sha256)
 * is appended to the audit chain in the same transaction; the file is then unlinked.
 */
export async function destroyRecording(tx: Executor, clock: Clock, r: RecordingRow, reason: string, by: Principal | null, detail: Record<string, unknown>): Promise<{ purgedAt: Date }> {
  const purgedAt = clock.now();
  await tx.updateTable('recordings').set({ status: 'purged', wrapped_key: null, purged_at: purgedAt, purge_reason: reason }).where('id', '=', r.id).execute();
  const receipt = {
    recordingId: r.id, callId: r.sip_call_id, campaignId: r.campaign_id, operatorId: r.operator_id, startedAt: r.started_at.toISOString(),
    sha256: r.sha256, sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes), kekId: r.kek_id, reason, ...detail,
  };
  await appendAudit(tx, clock, by
    ? eventBy(by, 'recording.deleted', { type: 'recording', id: r.id }, receipt)
    : { orgId: r.org_id, actor: null, action: 'recording.deleted', target: { type: 'recording', id: r.id }, detail: receipt });
  return { purgedAt };
}

/**
 * The retention purge: every recording whose campaign's retention has passed since the call
 * ended, unless the call or its customer is on legal hold. Each row is claimed FOR UPDATE
 * SKIP LOCKED (several instances purge side by side, never one row twice), destroyed with its
 * receipt in one transaction, then its file removed. Returns how many were purged.
 */
export async function purgeDue(db: Db, clock: Clock, fileOf: (r: { file_name: string }) => string): Promise<number> {
  let purged = 0;
  for (;;) {
    const did = await db.transaction().execute(async (tx) => {
      const r = await tx
        .selectFrom('recordings as r')
        .innerJoin('calls as c', 'c.id', 'r.call_id')
        .innerJoin('campaigns as k', 'k.id', 'r.campaign_id')
        .leftJoin('customers as u', 'u.id', 'c.customer_id')
        .selectAll('r')
        .select('k.recording_retention_days as days')
        .where('r.status', 'in', ['complete', 'incomplete'])
        .where('k.recording_retention_days', 'is not', null)
        .where(sql<boolean>`r.ended_at + make_interval(days => k.recording_retention_days) <= ${clock.now()}`)
        .where('c.legal_hold', '=', false)
        .where(sql<boolean>`coalesce(u.legal_hold, false) = false`)
        .orderBy('r.ended_at')
        .limit(1)
        .forUpdate('r')
        .skipLocked()
        .executeTakeFirst();
      if (!r) return false;
      await destroyRecording(tx, clock, r, 'retention', null, { retentionDays: r.days, endedAt: r.ended_at?.toISOString() ?? null });
      return true;
    });
    if (!did) break;
    if (++purged >= PURGE_BATCH) break;
  }
  await removePurgedFiles(db, fileOf);
  return purged;
}

/** Unlinks the files of purged recordings (their keys are gone already); a failure is retried next pass. */
export async function removePurgedFiles(db: Db, fileOf: (r: { file_name: string }) => string): Promise<number> {
  const rows = await db.selectFrom('recordings').select(['id', 'file_name']).where('status', '=', 'purged').where('file_deleted', '=', false).limit(1000).execute();
  let removed = 0;
  for (const r of rows) {
    try {
      await unlink(fileOf(r)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await db.updateTable('recordings').set({ file_deleted: true }).where('id', '=', r.id).execute();
      removed++;
    } catch (err) {
      reportBackgroundFailure('recordings: removing a purged recording\'s file', err);
    }
  }
  return removed;
}


/** Re-wraps every live recording's data key under the active KEK (after a rotation); files are not touched. */
export async function rewrapAll(db: Db, keys: KeyRing): Promise<{ rewrapped: number; failed: string[] }> {
  const rows = await db.selectFrom('recordings').select(['id', 'kek_id', 'wrapped_key']).where('status', '<>', 'purged').where('kek_id', '<>', keys.activeId).execute();
  let rewrapped = 0;
  const failed: string[] = [];
  for (const r of rows) {
    try {
      const next = keys.rewrap(r.id, r.kek_id, Buffer.from(r.wrapped_key!, 'base64'));
      const hit = await db
        .updateTable('recordings')
        .set({ kek_id: next.kekId, wrapped_key: next.wrapped.toString('base64') })
        .where('id', '=', r.id)
        .where('kek_id', '=', r.kek_id)
        .where('status', '<>', 'purged')
        .executeTakeFirst();
      if (Number(hit.numUpdatedRows) === 1) rewrapped++;
    } catch (err) {
      reportBackgroundFailure(`recordings: rewrap of ${r.id}`, err);
      failed.push(r.id);
    }
  }
  return { rewrapped, failed };
}
