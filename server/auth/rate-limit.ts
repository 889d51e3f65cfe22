// Sign-in throttles, in the database (issue 14): every gateway instance behind the load
// balancer counts on the same rows, so a limit is one limit however many instances serve it
// and a restart forgets nothing. No in-memory copy is the authority (there is none).
//   TokenBuckets   one row per key (throttle_buckets): the refill and the take are ONE upsert,
//                  atomic under concurrent requests on any instance.
//   FailureWindow  per key, one counter per minute (throttle_counters, upsert per key/minute);
//                  "blocked" sums the minutes of the window (a sliding window, minute-grained).
// Times come from the gateway's clock; an instance whose clock is behind never moves a bucket
// back (`greatest`). Rows idle for an hour (or older than the window) are pruned now and then.
import { sql } from 'kysely';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';

const PRUNE_EVERY_MS = 10 * 60_000;
const MINUTE = 60_000;

export class TokenBuckets {
  private pruneAt = 0;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly refillPerMinute: number,
  ) {}

  /** Takes one token; resolves 0 when allowed, else the seconds until one is available. */
  async take(key: string): Promise<number> {
    const now = this.clock.now();
    const cap = this.capacity;
    const rate = this.refillPerMinute;
    const refilled = sql<number>`least(${cap}::float8, b.tokens + greatest(0, extract(epoch from (${now}::timestamptz - b.at))) * ${rate}::float8 / 60)`;
    const row = await sql<{ tokens: number; granted: boolean }>`
      insert into throttle_buckets as b (key, tokens, at, granted) values (${key}, ${cap - 1}::float8, ${now}, true)
      on conflict (key) do update set
        tokens = case when ${refilled} >= 1 then ${refilled} - 1 else ${refilled} end,
        granted = ${refilled} >= 1,
        at = greatest(b.at, ${now}::timestamptz)
      returning tokens, granted`.execute(this.db);
    await this.prune(now);
    const r = row.rows[0]!;
    if (r.granted) return 0;
    return rate > 0 ? Math.max(1, Math.ceil(((1 - Number(r.tokens)) * 60) / rate)) : 3600;
  }

  private async prune(now: Date): Promise<void> {
    if (now.getTime() < this.pruneAt) return;
    this.pruneAt = now.getTime() + PRUNE_EVERY_MS;
    await this.db.deleteFrom('throttle_buckets').where('at', '<', new Date(now.getTime() - 3_600_000)).execute();
  }
}

/** Sliding-window failure counter per key (source IP), minute-grained, in throttle_counters. */
export class FailureWindow {
  private pruneAt = 0;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private static minute(ms: number): Date {
    return new Date(Math.floor(ms / MINUTE) * MINUTE);
  }

  async record(key: string): Promise<void> {
    const now = this.clock.now();
    await this.db
      .insertInto('throttle_counters')
      .values({ key, window_start: FailureWindow.minute(now.getTime()), count: 1 })
      .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql<number>`throttle_counters.count + 1` }))
      .execute();
    if (now.getTime() >= this.pruneAt) {
      this.pruneAt = now.getTime() + PRUNE_EVERY_MS;
      await this.db.deleteFrom('throttle_counters').where('window_start', '<', new Date(now.getTime() - this.windowMs - MINUTE)).execute();
    }
  }

  /** Seconds until the key may try again (0 = allowed). */
  async blockedFor(key: string): Promise<number> {
    const now = this.clock.now().getTime();
    // the minutes that overlap the window (the current one included)
    const rows = await this.db
      .selectFrom('throttle_counters')
      .select(['window_start', 'count'])
      .where('key', '=', key)
      .where('window_start', '>', new Date(now - this.windowMs))
      .orderBy('window_start', 'desc')
      .execute();
    let sum = 0;
    for (const r of rows) {
      sum += Number(r.count);
      // the minute that brings the count to the limit: blocked until it leaves the window
      if (sum >= this.max) return Math.max(1, Math.ceil((r.window_start.getTime() + this.windowMs - now) / 1000));
    }
    return 0;
  }
}
