// Audit entries for events an unauthenticated caller can trigger at will (forged tokens,
// replayed challenges, refreshes without the device proof, requests from outside the
// allowlist). Each is worth an entry, but one per request would let a flood grow the audit
// log without bound, so they are coalesced:
//   - per key (source IP, or user + IP): the first event writes an entry; repeats within the
//     window are only counted, and the next entry for that key reports how many were folded
//     into it (`detail.coalesced.suppressedForKey`);
//   - per action, at most `maxPerWindow` entries per window in total (many addresses): beyond
//     that events are counted and the next written entry of the action reports the count
//     (`detail.coalesced.suppressedSinceLastEntry`).
// So an action writes at most maxPerWindow entries per window whatever the traffic, and the
// key map is bounded (maxKeys; expired keys are pruned first, then the oldest).
// In memory, per gateway process (like the rate limits in rate-limit.ts).
import { appendAudit, audit, type AuditEvent } from '../audit/audit';
import type { Clock } from '../clock';
import type { Db, Executor } from '../db/schema';
import { reportBackgroundFailure } from '../background';

export interface CoalesceOptions {
  windowMs: number;
  maxPerWindow: number;
  maxKeys: number;
}

export const DEFAULT_COALESCE: CoalesceOptions = { windowMs: 5 * 60_000, maxPerWindow: 100, maxKeys: 20_000 };

interface ActionWindow {
  start: number;
  written: number;
  suppressed: number;
}

export class CoalescedAudit {
  private readonly keys = new Map<string, { start: number; suppressed: number }>();
  private readonly actions = new Map<string, ActionWindow>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: CoalesceOptions = DEFAULT_COALESCE,
  ) {}

  /**
   * Records `event` under `key` (the action is part of the key). Resolves to true when an
   * entry was written. Never throws: a failed write is logged (the refusal it documents
   * still goes out to the caller). `alongside`: writes that belong with the entry (an alert:
   * server/alerts/raise.ts), in the entry's transaction; skipped with the entry when coalesced.
   */
  async record(key: string, event: AuditEvent, alongside?: (tx: Executor) => Promise<void>): Promise<boolean> {
    const now = this.clock.now().getTime();
    const k = `${event.action}|${key}`;
    const action = this.actionWindow(event.action, now);
    const seen = this.keys.get(k);
    if (seen && now - seen.start < this.opts.windowMs) {
      seen.suppressed++;
      action.suppressed++;
      return false;
    }
    if (action.written >= this.opts.maxPerWindow) {
      action.suppressed++;
      return false;
    }
    action.written++;
    const coalesced = {
      windowSeconds: Math.round(this.opts.windowMs / 1000),
      suppressedForKey: seen?.suppressed ?? 0,
      suppressedSinceLastEntry: action.suppressed,
    };
    action.suppressed = 0;
    this.keys.delete(k); // re-insert at the end: Map order = age
    this.keys.set(k, { start: now, suppressed: 0 });
    if (this.keys.size > this.opts.maxKeys) this.prune(now);
    try {
      const entry = { ...event, detail: { ...event.detail, coalesced } };
      if (alongside) {
        await this.db.transaction().execute(async (tx) => {
          await appendAudit(tx, this.clock, entry);
          await alongside(tx);
        });
      } else {
        await audit(this.db, this.clock, entry);
      }
      return true;
    } catch (err) {
      reportBackgroundFailure(`audit: coalesced entry ${event.action}`, err);
      return false;
    }
  }

  private actionWindow(action: string, now: number): ActionWindow {
    let w = this.actions.get(action);
    if (!w) {
      w = { start: now, written: 0, suppressed: 0 };
      this.actions.set(action, w);
    } else if (now - w.start >= this.opts.windowMs) {
      w.start = now;
      w.written = 0; // suppressed carries over into the next written entry
    }
    return w;
  }

  private prune(now: number): void {
    for (const [k, v] of this.keys) if (now - v.start >= this.opts.windowMs) this.keys.delete(k);
    for (const k of this.keys.keys()) {
      if (this.keys.size <= this.opts.maxKeys) break;
      this.keys.delete(k);
    }
  }
}
