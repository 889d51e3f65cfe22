// The session-event bus across gateway instances (issue 14): every event is delivered to this
// process's listeners at once (as the in-process bus does) and written to `bus_events`, from
// which every other instance on the same database reads it. PostgreSQL: the row is written in
// the publisher's transaction when there is one (revokeSessions), so another instance never
// hears of a revocation before it is committed, and `pg_notify('koe_bus', seq)` wakes the
// other instances' LISTEN connections at commit. Without LISTEN (PGlite, or the listener
// reconnecting) the same reader runs on a timer: a lost NOTIFY costs one poll interval, never
// an event. The same code path on PGlite (one process: the reader only skips its own rows).
//
// Gaps: rows are read by sequence; a row whose sequence was taken before an already-read one
// but committed after it (concurrent transactions) is caught by re-reading the last
// `REREAD_SECONDS` of rows by time, de-duplicated by sequence.
// Derived events (sip_access_revoked, which every instance derives from the primary ones
// itself) are not written.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { reportBackgroundFailure } from '../background';
import type { Db, Executor } from '../db/schema';
import { jsonColumn, toJsonColumn } from '../db/json-column';
import { errorSummary } from '../log';
import { InProcessSessionEvents, type SessionEvent, type SessionEventListener, type SessionEvents } from '../session-events';

const CHANNEL = 'koe_bus';
const REREAD_SECONDS = 30;
const RETAIN_MINUTES = 10;
const LOCAL_ONLY: ReadonlySet<SessionEvent['kind']> = new Set(['sip_access_revoked']);
const KINDS: ReadonlySet<string> = new Set(['sessions_revoked', 'user_changed', 'role_changed', 'teams_changed', 'policy_changed']);

export class DurableSessionEvents implements SessionEvents {
  readonly origin = randomUUID();
  private readonly local = new InProcessSessionEvents();
  private lastSeq = 0;
  /** Sequences read in the re-read window (so a re-read delivers nothing twice). */
  private readonly seen = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private listener: pg.Client | null = null;
  private closed = false;
  private pruneAt = 0;
  private failures = 0;

  constructor(
    private readonly db: Db,
    private readonly opts: { pollMs?: number; listenUrl?: string; log?: (msg: string) => void } = {},
  ) {}

  /** Starts reading after the newest row now in the table (what came before is history). */
  async start(): Promise<void> {
    const row = await sql<{ seq: number | null }>`select max(seq) as seq from bus_events`.execute(this.db);
    this.lastSeq = Number(row.rows[0]?.seq ?? 0);
    this.timer = setInterval(() => this.read(), this.opts.pollMs ?? 250);
    this.timer.unref();
    if (this.opts.listenUrl) void this.listen(0);
  }

  publish(event: SessionEvent): void {
    this.local.publish(event);
    if (LOCAL_ONLY.has(event.kind)) return;
    void this.write(this.db, event).catch((err: unknown) => reportBackgroundFailure(`session bus: writing ${event.kind}`, err));
  }

  async publishIn(tx: Executor, event: SessionEvent): Promise<void> {
    this.local.publish(event);
    if (!LOCAL_ONLY.has(event.kind)) await this.write(tx, event);
  }

  subscribe(listener: SessionEventListener): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const l = this.listener;
    this.listener = null;
    await l?.end().catch((err: unknown) => this.log(`session bus: closing the LISTEN connection failed (${errorSummary(err).message})`));
    await this.reading;
  }

  private async write(db: Executor, event: SessionEvent): Promise<void> {
    const row = await db
      .insertInto('bus_events')
      .values({ origin: this.origin, kind: event.kind, payload: toJsonColumn(event) })
      .returning('seq')
      .executeTakeFirstOrThrow();
    await sql`select pg_notify(${CHANNEL}, ${String(row.seq)})`.execute(db);
  }

  /** Reads new rows (one reader at a time; a wake-up during a read runs one more). */
  private read(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readOnce()
      .then(() => {
        if (this.failures > 0) this.log(`session bus: reading events works again after ${this.failures} failed reads`);
        this.failures = 0;
      })
      .catch((err: unknown) => {
        // the database closed under the bus (the process is shutting down without close()):
        // nothing more to read
        if (errorSummary(err).message.includes('driver has already been destroyed')) {
          this.log('session bus: the database is closed; the reader stops');
          void this.close();
          return;
        }
        // down (a PostgreSQL restart): the first failure in full, then one line a minute
        if (this.failures++ === 0) reportBackgroundFailure('session bus: reading events (retrying on every tick)', err);
        else if (this.failures % Math.max(1, Math.round(60_000 / (this.opts.pollMs ?? 250))) === 0) {
          this.log(`session bus: reading events still fails (${this.failures} reads): ${errorSummary(err).message}`);
        }
      })
      .finally(() => {
        this.reading = null;
        if (this.again && !this.closed) {
          this.again = false;
          this.read();
        }
      });
  }

  private async readOnce(): Promise<void> {
    const rows = await this.db
      .selectFrom('bus_events')
      .select(['seq', 'origin', 'kind', 'payload'])
      .where((eb) => eb.or([eb('seq', '>', this.lastSeq), eb('at', '>', sql<Date>`clock_timestamp() - make_interval(secs => ${REREAD_SECONDS})`)]))
      .orderBy('seq')
      .limit(1000)
      .execute();
    const now = Date.now();
    for (const r of rows) {
      const seq = Number(r.seq);
      if (this.seen.has(seq)) continue;
      this.seen.set(seq, now);
      if (seq > this.lastSeq) this.lastSeq = seq;
      if (r.origin === this.origin || !KINDS.has(r.kind)) continue;
      let event: SessionEvent;
      try {
        event = jsonColumn<SessionEvent>(r.payload);
      } catch (err) {
        this.log(`session bus: event ${seq} (${r.kind}) is not JSON (${errorSummary(err).message}); skipped`);
        continue;
      }
      if (event?.kind !== r.kind) {
        this.log(`session bus: event ${seq} does not match its kind ${r.kind}; skipped`);
        continue;
      }
      this.local.publish(event);
    }
    for (const [seq, at] of this.seen) if (now - at > (REREAD_SECONDS + 5) * 1000) this.seen.delete(seq);
    if (now >= this.pruneAt) {
      this.pruneAt = now + 60_000;
      await this.db.deleteFrom('bus_events').where('at', '<', sql<Date>`clock_timestamp() - make_interval(mins => ${RETAIN_MINUTES})`).execute();
    }
  }

  /** A LISTEN connection (PostgreSQL): NOTIFY wakes the reader; lost, it reconnects (1, 2, ... 30 s). */
  private async listen(attempt: number): Promise<void> {
    if (this.closed || !this.opts.listenUrl) return;
    const client = new pg.Client({ connectionString: this.opts.listenUrl });
    const retry = (why: string) => {
      if (this.closed || this.listener !== client) return;
      this.listener = null;
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5));
      this.log(`session bus: LISTEN connection lost (${why}); polling meanwhile, reconnecting in ${delay / 1000} s`);
      client.end().catch((err: unknown) => this.log(`session bus: ending the broken LISTEN connection failed too (${errorSummary(err).message})`));
      setTimeout(() => void this.listen(attempt + 1), delay).unref();
    };
    this.listener = client;
    client.on('notification', () => this.read());
    client.on('error', (err) => retry(errorSummary(err).message));
    client.on('end', () => retry('ended'));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      attempt = 0;
      this.read(); // whatever was published while it was connecting
    } catch (err) {
      retry(errorSummary(err).message);
    }
  }

  private log(msg: string): void {
    (this.opts.log ?? ((m: string) => console.warn(m)))(msg);
  }
}
