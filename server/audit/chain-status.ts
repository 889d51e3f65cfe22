// The audit chain's verification status at any size (issue 17): instead of walking the whole
// chain on each request (verifyAuditChain, 1M entries = many seconds), every call of
// auditChainStatus verifies a bounded slice and moves a stored checkpoint (audit_checkpoint,
// migration 0022), so the answer is fast at any size and the work is shared by every caller
// and every gateway instance:
//   - the frontier (seq + hash): entries 1..seq are verified; the next slice starts from the
//     stored hash, so a chain rewritten behind it (edited and re-hashed) no longer links;
//   - the re-check: a second cursor that walks from entry 1 to the frontier again and again
//     with the budget the frontier leaves, so an entry edited behind the frontier (without
//     re-hashing) is found on a later pass;
//   - the first break found stays recorded (the chain does not heal by itself).
// A slice reads entries up to the head row read at its start: the head and the entries it
// names commit together (server/audit/audit.ts), so every entry up to it is there to read.
import type { AuditBreakKind, AuditStatusResponse } from '../../shared/gateway/admin-policy';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { entryHash, GENESIS_HASH, toAuditView } from './audit';

type Slice =
  | { ok: true; seq: number; hash: string; rows: number }
  | { ok: false; seq: number; kind: AuditBreakKind; rows: number };

/**
 * Verifies entries after (fromSeq, fromHash) up to `upTo`, at most `budget` of them and pages
 * started before `deadline` (performance.now()): a call's latency is bounded whatever the size.
 */
export async function verifySlice(db: Db, fromSeq: number, fromHash: string, upTo: number, budget: number, deadline = Infinity, pageSize = 200): Promise<Slice> {
  let seq = fromSeq;
  let hash = fromHash;
  let rows = 0;
  while (seq < upTo && rows < budget && performance.now() < deadline) {
    const page = await db
      .selectFrom('audit_log').selectAll()
      .where('seq', '>', seq).where('seq', '<=', upTo)
      .orderBy('seq').limit(Math.min(pageSize, budget - rows))
      .execute();
    if (page.length === 0) return { ok: false, seq: seq + 1, kind: 'missing', rows };
    for (const row of page) {
      const entry = toAuditView(row);
      if (entry.seq !== seq + 1) return { ok: false, seq: seq + 1, kind: 'missing', rows };
      if (entry.prevHash !== hash) return { ok: false, seq: entry.seq, kind: 'unlinked', rows };
      if (entryHash(hash, entry) !== entry.hash) return { ok: false, seq: entry.seq, kind: 'altered', rows };
      seq = entry.seq;
      hash = entry.hash;
      rows += 1;
    }
  }
  return { ok: true, seq, hash, rows };
}

/** Entries verified per call at most, split between the frontier and the re-check (the frontier first)... */
export const STATUS_BUDGET = 10_000;
/** ...and the wall time a call spends verifying (a page started before it ends is finished). */
export const STATUS_TIME_MS = 50;

/** One bounded verification step from the stored checkpoint, then the status as it stands. */
export async function auditChainStatus(db: Db, clock: Clock, budget = STATUS_BUDGET, timeMs = STATUS_TIME_MS): Promise<AuditStatusResponse> {
  const now = clock.now();
  const deadline = performance.now() + timeMs;
  const cp = await db.selectFrom('audit_checkpoint').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  const headSeq = Number(head.seq);
  const cpSeq = Number(cp.seq);
  const sweepSeq = Number(cp.sweep_seq);
  let broken: { seq: number; kind: AuditBreakKind } | null = cp.broken_seq === null ? null : { seq: Number(cp.broken_seq), kind: cp.broken_kind as AuditBreakKind };

  let frontier = { seq: cpSeq, hash: cp.hash };
  let sweep = { seq: sweepSeq, hash: cp.sweep_hash };
  let sweepCompletedAt = cp.sweep_completed_at;
  let verifiedAt = cp.verified_at;
  if (!broken) {
    if (headSeq < cpSeq) {
      // the head moved back: entries after it were cut (and the head rewritten)
      broken = { seq: headSeq + 1, kind: 'head' };
    } else {
      const f = await verifySlice(db, cpSeq, cp.hash, headSeq, budget, deadline);
      if (!f.ok) broken = { seq: f.seq, kind: f.kind };
      else {
        frontier = { seq: f.seq, hash: f.hash };
        if (f.seq === headSeq && head.hash !== f.hash) broken = { seq: headSeq, kind: 'head' };
        else verifiedAt = now;
        const left = budget - f.rows;
        if (!broken && left > 0 && frontier.seq > 0 && performance.now() < deadline) {
          const s = await verifySlice(db, sweepSeq, cp.sweep_hash, frontier.seq, left, deadline);
          if (!s.ok) broken = { seq: s.seq, kind: s.kind };
          else if (s.seq === frontier.seq) {
            // a full pass: it must end on the frontier's hash (the same entries, unchanged)
            if (s.hash !== frontier.hash) broken = { seq: s.seq, kind: 'altered' };
            else {
              sweep = { seq: 0, hash: GENESIS_HASH };
              sweepCompletedAt = now;
            }
          } else sweep = { seq: s.seq, hash: s.hash };
        }
      }
    }
  }

  // Moves only from the state read (another call or instance may have moved it first: its
  // result stands, this one's work is dropped); a break, once recorded, is never overwritten.
  if (broken && cp.broken_seq === null) {
    await db.updateTable('audit_checkpoint')
      .set({ broken_seq: broken.seq, broken_kind: broken.kind, broken_at: now })
      .where('id', '=', 1).where('broken_seq', 'is', null).execute();
  } else if (!broken) {
    await db.updateTable('audit_checkpoint')
      .set({ seq: frontier.seq, hash: frontier.hash, verified_at: verifiedAt, sweep_seq: sweep.seq, sweep_hash: sweep.hash, sweep_completed_at: sweepCompletedAt })
      .where('id', '=', 1).where('seq', '=', cpSeq).where('sweep_seq', '=', sweepSeq)
      .execute();
  }
  const stored = await db.selectFrom('audit_checkpoint').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    headSeq,
    verifiedSeq: Number(stored.seq),
    verifiedAt: iso(stored.verified_at),
    recheckSeq: Number(stored.sweep_seq),
    recheckCompletedAt: iso(stored.sweep_completed_at),
    broken: stored.broken_seq === null ? null : { seq: Number(stored.broken_seq), kind: stored.broken_kind as AuditBreakKind, detectedAt: iso(stored.broken_at)! },
  };
}

/**
 * The same bounded step in the background, every `intervalMs` (the first after one interval),
 * so the console's status is current without an admin polling it through a million entries:
 * one step at a time (a slow step is not overlapped), failures reported and contained, and
 * close() waits for a step in flight (the database outlives it).
 */
export class ChainVerifier {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly report: (what: string, err: unknown) => void,
  ) {}

  start(): void {
    if (this.timer || this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.step(), this.intervalMs);
    this.timer.unref();
  }

  /** One step now, unless one is running (then that one). */
  step(): Promise<void> {
    this.running ??= auditChainStatus(this.db, this.clock)
      .then(() => undefined, (err: unknown) => this.report('audit: verifying the chain in the background', err))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
