// The event bus between gateway instances (issue 14): one interface, one implementation for
// PostgreSQL and PGlite. A message is a topic and a SMALL payload (ids, a version, an enum:
// never a state or an SDP: a listener that needs more re-reads it from the database, which
// is the authority). Every message is delivered to this process's listeners at once and
// written to `bus_events`, from which every other instance on the database reads it:
//   - the row is written in the publisher's transaction when there is one (publishIn), so
//     another instance never hears of a change before it is committed;
//   - `pg_notify('koe_bus', seq)` wakes the other instances' LISTEN connections at commit;
//   - the same reader also runs on a timer (pollMs): a lost NOTIFY, a listener reconnecting
//     or PGlite (no LISTEN) costs one poll interval, never a message.
// Gaps: rows are read by sequence number; a row whose sequence was taken before an already
// read one but committed after it (concurrent transactions) is a gap, caught by re-reading
// the last REREAD_SECONDS of rows by time, de-duplicated by sequence. A payload that fails its
// topic's schema is logged and skipped (never thrown into the reader).
//
// Topics (server/bus/topics.ts): session (revocations and access changes), agent (an
// operator's state changed: version + effects), board (re-read this operator's board row),
// supervision (a supervision's signalling or teardown reached some user's sockets).
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { reportBackgroundFailure } from '../background';
import type { Db, Executor } from '../db/schema';
import { jsonColumn } from '../db/json-column';
import { errorSummary } from '../log';
import { TOPICS, type Topic, type TopicPayload } from './topics';

const CHANNEL = 'koe_bus';
const REREAD_SECONDS = 30;
const RETAIN_MINUTES = 10;

/** `local`: published by this process (delivered at once); `seq`: the row's sequence (null for local). */
export interface Delivery {
  local: boolean;
  seq: number | null;
}
export type BusListener<T extends Topic> = (payload: TopicPayload<T>, d: Delivery) => void;

export interface EventBus {
  /** This process's id (its rows; the owner of the connections it holds). */
  readonly origin: string;
  /** Fire and forget: this process's listeners at once; other instances once the row is written. */
  publish<T extends Topic>(topic: T, payload: TopicPayload<T>): void;
  /** Inside a transaction: other instances hear it only once the transaction commits. */
  publishIn<T extends Topic>(tx: Executor, topic: T, payload: TopicPayload<T>): Promise<void>;
  /** Returns the unsubscribe function. A listener's failure is logged, never thrown back. */
  subscribe<T extends Topic>(topic: T, listener: BusListener<T>): () => void;
  /** Messages delivered from other instances, and reads that found a gap (tests, the bench). */
  readonly stats: { remote: number; gaps: number };
}

export class DurableBus implements EventBus {
  readonly origin = randomUUID();
  readonly stats = { remote: 0, gaps: 0 };
  private readonly listeners = new Map<Topic, Set<BusListener<Topic>>>();
  private lastSeq = 0;
  /** The newest row when this process started: it and older rows are history, never delivered. */
  private startSeq = 0;
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
    this.startSeq = this.lastSeq;
    this.timer = setInterval(() => this.read(), this.opts.pollMs ?? 250);
    this.timer.unref();
    if (this.opts.listenUrl) void this.listen(0);
  }

  publish<T extends Topic>(topic: T, payload: TopicPayload<T>): void {
    this.deliver(topic, payload, { local: true, seq: null });
    void this.write(this.db, topic, payload).catch((err: unknown) => reportBackgroundFailure(`bus: writing a ${topic} message`, err));
  }

  async publishIn<T extends Topic>(tx: Executor, topic: T, payload: TopicPayload<T>): Promise<void> {
    this.deliver(topic, payload, { local: true, seq: null });
    await this.write(tx, topic, payload);
  }

  subscribe<T extends Topic>(topic: T, listener: BusListener<T>): () => void {
    const set = this.listeners.get(topic) ?? new Set();
    set.add(listener as unknown as BusListener<Topic>);
    this.listeners.set(topic, set);
    return () => set.delete(listener as unknown as BusListener<Topic>);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const l = this.listener;
    this.listener = null;
    await l?.end().catch((err: unknown) => this.log(`bus: closing the LISTEN connection failed (${errorSummary(err).message})`));
    await this.reading;
  }

  private deliver(topic: Topic, payload: unknown, d: Delivery): void {
    for (const l of [...(this.listeners.get(topic) ?? [])]) {
      try {
        l(payload as TopicPayload<Topic>, d);
      } catch (err) {
        reportBackgroundFailure(`bus: a listener of ${topic}`, err);
      }
    }
  }

  private async write(db: Executor, topic: Topic, payload: unknown): Promise<void> {
    const row = await db
      .insertInto('bus_events')
      .values({ origin: this.origin, kind: topic, payload: JSON.stringify(payload) })
      .returning('seq')
      .executeTakeFirstOrThrow();
    await sql`select pg_notify(${CHANNEL}, ${String(row.seq)})`.execute(db);
  }

  /** Reads new rows (one reader at a time; a wake-up during a read runs one more). */
  read(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readOnce()
      .then(() => {
        if (this.failures > 0) this.log(`bus: reading messages works again after ${this.failures} failed reads`);
        this.failures = 0;
      })
      .catch((err: unknown) => {
        // the database closed under the bus (the process is shutting down without close())
        if (errorSummary(err).message.includes('driver has already been destroyed')) {
          this.log('bus: the database is closed; the reader stops');
          void this.close();
          return;
        }
        // down (a PostgreSQL restart): the first failure in full, then one line a minute
        if (this.failures++ === 0) reportBackgroundFailure('bus: reading messages (retrying on every tick)', err);
        else if (this.failures % Math.max(1, Math.round(60_000 / (this.opts.pollMs ?? 250))) === 0) {
          this.log(`bus: reading messages still fails (${this.failures} reads): ${errorSummary(err).message}`);
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
      .limit(2000)
      .execute();
    const now = Date.now();
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq <= this.startSeq || this.seen.has(seq)) continue;
      // a row below the last sequence read and not seen: committed late (a gap now filled)
      if (seq < this.lastSeq) this.stats.gaps++;
      this.seen.set(seq, now);
      if (seq > this.lastSeq) this.lastSeq = seq;
      if (r.origin === this.origin) continue;
      const topic = TOPICS[r.kind as Topic];
      if (!topic) continue; // a topic this version does not know (a newer instance during a rolling upgrade)
      let parsed;
      try {
        parsed = topic.safeParse(jsonColumn<unknown>(r.payload));
      } catch (err) {
        this.log(`bus: message ${seq} (${r.kind}) is not JSON (${errorSummary(err).message}); skipped`);
        continue;
      }
      if (!parsed.success) {
        this.log(`bus: message ${seq} does not match its topic ${r.kind}; skipped`);
        continue;
      }
      this.stats.remote++;
      this.deliver(r.kind as Topic, parsed.data, { local: false, seq });
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
      this.log(`bus: LISTEN connection lost (${why}); polling meanwhile, reconnecting in ${delay / 1000} s`);
      client.end().catch((err: unknown) => this.log(`bus: ending the broken LISTEN connection failed too (${errorSummary(err).message})`));
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
