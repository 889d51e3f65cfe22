// Tamper-evident audit log. Each entry's hash = SHA-256(prev hash + "\n" + canonical JSON
// of the entry). Appends lock the single audit_head row (SELECT ... FOR UPDATE) so
// concurrent writers queue up instead of forking the chain; an append inside a caller's
// transaction is chained at that transaction's commit (appendAudit: a deferred trigger), so
// an audited change and its entry commit or vanish together and the head is locked only for
// the commit.
//
// Last line of defence for text: every string of an entry (action, actor name, target,
// source address, and every key and string value of `detail`, at any depth) is stored
// through sanitizeText (shared/rules/text.ts): NUL and other controls and noncharacters are
// dropped, lone surrogates become U+FFFD. Schemas refuse such text at the boundary already;
// this is for values that reach an entry by another path (SIP values, a future route), so a
// row can never fail to write on text (PostgreSQL refuses NUL in text and jsonb) and never
// differ from what was hashed (a driver would turn a lone surrogate into U+FFFD on the way
// in). The hash is computed over the sanitized values, which are exactly what is stored.
import { createHash } from 'node:crypto';
import type { AuditEntryView } from '../../shared/gateway/api';
import { sanitizeText } from '../../shared/rules/text';
import type { Clock } from '../clock';
import { sql, type Selectable } from 'kysely';
import { jsonColumn, toJsonColumn } from '../db/json-column';
import type { AuditLogTable, Db, Executor } from '../db/schema';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  action: string;
  orgId?: string | null;
  actor?: { userId: string | null; username: string | null } | null;
  target?: { type: string; id: string } | null;
  sourceIp?: string | null;
  deviceId?: string | null;
  detail?: Record<string, unknown>;
}

/** The audit event of something a signed-in caller did: org, actor, address and device from the principal. */
export function eventBy(
  p: { orgId: string; userId: string; username: string; sourceIp: string; deviceId: string | null },
  action: string,
  target: { type: string; id: string } | null,
  detail?: Record<string, unknown>,
): AuditEvent {
  return { orgId: p.orgId, actor: { userId: p.userId, username: p.username }, action, sourceIp: p.sourceIp, deviceId: p.deviceId, target, detail };
}

/** JSON with object keys sorted at every level: one byte string per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

type HashedFields = Omit<AuditEntryView, 'hash' | 'prevHash'>;

export function entryHash(prevHash: string, entry: HashedFields): string {
  const canonical = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    orgId: entry.orgId,
    actorUserId: entry.actorUserId,
    actorUsername: entry.actorUsername,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    sourceIp: entry.sourceIp,
    deviceId: entry.deviceId,
    detail: entry.detail,
  });
  return createHash('sha256').update(`${prevHash}\n${canonical}`).digest('hex');
}

/** A JSON value with every string (object keys too) through sanitizeText. */
export function sanitizeJson(value: unknown): unknown {
  if (typeof value === 'string') return sanitizeText(value);
  if (Array.isArray(value)) return value.map(sanitizeJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [sanitizeText(k), sanitizeJson(v)]));
  }
  return value;
}

const clean = (s: string | null | undefined): string | null => (s === null || s === undefined ? null : sanitizeText(s));

/** The sanitized fields of an entry and the canonical JSON around its sequence number (which only the locked head knows). */
function prepare(clock: Clock, event: AuditEvent): { f: Omit<HashedFields, 'seq'>; pre: string; post: string } {
  // JSON round-trip so the hashed detail is exactly what jsonb gives back (no undefined, no Dates).
  const detail = sanitizeJson(JSON.parse(JSON.stringify(event.detail ?? {}))) as Record<string, unknown>;
  const f: Omit<HashedFields, 'seq'> = {
    at: clock.now().toISOString(),
    orgId: event.orgId ?? null,
    actorUserId: event.actor?.userId ?? null,
    actorUsername: clean(event.actor?.username),
    action: sanitizeText(event.action),
    targetType: clean(event.target?.type),
    targetId: clean(event.target?.id),
    sourceIp: clean(event.sourceIp),
    deviceId: event.deviceId ?? null,
    detail,
  };
  // canonicalJson sorts the keys: those before "seq", then "seq", then those after it
  const before = canonicalJson({ action: f.action, actorUserId: f.actorUserId, actorUsername: f.actorUsername, at: f.at, detail: f.detail, deviceId: f.deviceId, orgId: f.orgId });
  const after = canonicalJson({ sourceIp: f.sourceIp, targetId: f.targetId, targetType: f.targetType });
  return { f, pre: `${before.slice(0, -1)},"seq":`, post: `,${after.slice(1)}` };
}

/**
 * Appends one entry to the caller's transaction `tx` (issue 14, the audit chain at scale).
 * The entry goes into audit_pending, without any lock; at the transaction's COMMIT a deferred
 * trigger (migration 0016, audit_chain_pending) locks the chain's head row once, chains every
 * entry the transaction appended in the order appended (hash = sha256 over the same bytes
 * entryHash hashes: the canonical JSON built here around the sequence number), writes them to
 * audit_log and moves the head. So the head is held for the commit alone (before: from the
 * append to the commit, a network round trip and the gateway's event loop, while every audited
 * write of every instance queued on it), and a transaction's entries are one batched append.
 * The audited change and its entries still commit or vanish together: a trigger that fails
 * fails the COMMIT. The stored chain is checked by verifyAuditChain (entryHash, here).
 * Returns the entry's fields (its seq and hash exist only once the transaction commits).
 */
export async function appendAudit(tx: Executor, clock: Clock, event: AuditEvent): Promise<Omit<HashedFields, 'seq'>> {
  const { f, pre, post } = prepare(clock, event);
  await tx
    .insertInto('audit_pending')
    .values({
      pre, post, at: new Date(f.at), org_id: f.orgId, actor_user_id: f.actorUserId, actor_username: f.actorUsername, action: f.action,
      target_type: f.targetType, target_id: f.targetId, source_ip: f.sourceIp, device_id: f.deviceId, detail: toJsonColumn(f.detail),
    })
    .execute();
  return f;
}

/**
 * Appends in a statement of its own (for events not tied to another write): one autocommit
 * statement locks the head, inserts the entry and moves the head, committed by PostgreSQL at
 * the statement's end (no round trip with the lock held). The hash PostgreSQL computed is
 * checked against entryHash; a mismatch (the entry is stored, verifyAuditChain will name it)
 * throws.
 */
export async function audit(db: Db, clock: Clock, event: AuditEvent): Promise<AuditEntryView> {
  const { f, pre, post } = prepare(clock, event);
  const row = (
    await sql<{ seq: number | string; prev_hash: string; hash: string }>`
      with head as (select seq, hash from audit_head where id = 1 for update),
      e as (
        select head.seq + 1 as seq, head.hash as prev_hash,
          encode(sha256(convert_to(head.hash || chr(10) || ${pre}::text || (head.seq + 1)::text || ${post}::text, 'UTF8')), 'hex') as hash
        from head),
      up as (update audit_head set seq = e.seq, hash = e.hash from e where audit_head.id = 1)
      insert into audit_log (seq, at, org_id, actor_user_id, actor_username, action, target_type, target_id, source_ip, device_id, detail, prev_hash, hash)
      select e.seq, ${new Date(f.at)}::timestamptz, ${f.orgId}::uuid, ${f.actorUserId}::uuid, ${f.actorUsername}::text, ${f.action}::text,
        ${f.targetType}::text, ${f.targetId}::text, ${f.sourceIp}::text, ${f.deviceId}::uuid, ${toJsonColumn(f.detail)}::jsonb, e.prev_hash, e.hash
      from e
      returning seq, prev_hash, hash`.execute(db)
  ).rows[0];
  if (!row) throw new Error('audit: the chain head row is missing');
  const fields: HashedFields = { seq: Number(row.seq), ...f };
  if (entryHash(row.prev_hash, fields) !== row.hash) throw new Error(`audit: the database's hash of entry ${fields.seq} differs from entryHash`);
  return { ...fields, prevHash: row.prev_hash, hash: row.hash };
}

/** A row as the drivers return it (PostgreSQL hands bigint `seq` back as a string). */
type AuditRow = Omit<Selectable<AuditLogTable>, 'seq' | 'detail'> & { seq: number | string; detail: unknown };

export function toAuditView(row: AuditRow): AuditEntryView {
  return {
    seq: Number(row.seq),
    at: new Date(row.at).toISOString(),
    orgId: row.org_id,
    actorUserId: row.actor_user_id,
    actorUsername: row.actor_username,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    sourceIp: row.source_ip,
    deviceId: row.device_id,
    detail: jsonColumn<Record<string, unknown>>(row.detail),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export type VerifyResult =
  | { ok: true; entries: number; headSeq: number; headHash: string }
  | { ok: false; entries: number; firstBrokenSeq: number; reason: string };

/**
 * Walks the chain from seq 1. Reports the first seq where the stored row is not what the
 * chain says must be there: an edited entry (hash mismatch), a deleted one (gap in seq or a
 * prev_hash that does not link), a reordering (seq moved: hash mismatch), or a cut tail (head
 * row ahead of the last entry).
 */
export async function verifyAuditChain(db: Db, pageSize = 1000): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      const entry = toAuditView(row);
      if (entry.seq !== expectedSeq) {
        return { ok: false, entries: count, firstBrokenSeq: expectedSeq, reason: `entry ${expectedSeq} is missing (next stored is ${entry.seq})` };
      }
      if (entry.prevHash !== prevHash) {
        return { ok: false, entries: count, firstBrokenSeq: entry.seq, reason: `entry ${entry.seq} does not link to the previous entry` };
      }
      if (entryHash(prevHash, entry) !== entry.hash) {
        return { ok: false, entries: count, firstBrokenSeq: entry.seq, reason: `entry ${entry.seq} was altered (hash mismatch)` };
      }
      prevHash = entry.hash;
      expectedSeq += 1;
      count += 1;
    }
    if (rows.length < pageSize) break;
  }
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) return { ok: false, entries: count, firstBrokenSeq: expectedSeq, reason: 'audit head row is missing' };
  if (Number(head.seq) !== count || head.hash !== prevHash) {
    return {
      ok: false,
      entries: count,
      firstBrokenSeq: Math.min(expectedSeq, Number(head.seq)) || expectedSeq,
      reason: `the chain ends at ${count} but the head records ${Number(head.seq)}: entries were removed from the end or the head was edited`,
    };
  }
  return { ok: true, entries: count, headSeq: count, headHash: prevHash };
}

/** Entries after `cursor` (a seq), oldest first: an archive pulls until nextCursor stops moving. */
export async function exportAudit(
  db: Db,
  opts: { cursor: number; limit: number; orgId?: string },
): Promise<{ entries: AuditEntryView[]; nextCursor: number }> {
  let q = db.selectFrom('audit_log').selectAll().where('seq', '>', opts.cursor).orderBy('seq').limit(opts.limit);
  // An org sees its own entries only; org-less (platform) entries are for the CLI (no orgId).
  if (opts.orgId) q = q.where('org_id', '=', opts.orgId);
  const rows = await q.execute();
  const entries = rows.map(toAuditView);
  return { entries, nextCursor: entries.length ? entries[entries.length - 1]!.seq : opts.cursor };
}
