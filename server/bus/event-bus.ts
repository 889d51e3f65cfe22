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
//   - a fire-and-forget publish the database cannot take because it is unreachable (a
//     PostgreSQL restart) is kept in order and written by the first read that works again;
//     close() waits for the writes under way (the database is destroyed after it).
// Gaps: rows are read by sequence number, a page at a time. A number skipped by a read (its
// row's transaction took the number before an already-read one but had not committed yet) is a
// hole: every read re-reads the holes by number until the row appears (delivered then, once)
// or HOLE_SECONDS pass (a rolled-back transaction leaves a hole for good). Each sequence is
// delivered at most once by construction: above lastSeq once, or as a hole once. A payload that
// fails its topic's schema is logged and skipped (never thrown into the reader).
//
// Topics (server/bus/topics.ts): session (revocations and access changes), agent (an
// operator's state changed: version + effects), board (re-read this operator's board row),
// supervision (a supervision's signalling or teardown reached some user's sockets).
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { reportBackgroundFailure } from '../background';
import { databaseUnavailable } from '../errors';
import type { Db, Executor } from '../db/schema';
import { jsonColumn } from '../db/json-column';
import { errorSummary } from '../log';
import { ListenConnection } from './listen-connection';
import { TOPICS, type Topic, type TopicPayload } from './topics';

const CHANNEL = 'koe_bus';
/** How long a skipped sequence number is re-read (a transaction open longer loses its message; RETAIN_MINUTES bounds it). */
const HOLE_SECONDS = 300;
const MAX_HOLES = 5_000;
/** Rows per read. */
const PAGE = 2_000;
const RETAIN_MINUTES = 10;
/** Fire-and-forget messages kept while the database is unreachable (the oldest go first beyond it). */
const MAX_UNSENT = 10_000;

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
  /** Messages delivered from other instances, and rows delivered late through a hole (a gap filled; tests, the bench). */
  readonly stats: { remote: number; gaps: number };
}

export class DurableBus implements EventBus {
  readonly origin = randomUUID();
  readonly stats = { remote: 0, gaps: 0 };
  private readonly listeners = new Map<Topic, Set<BusListener<Topic>>>();
  /** The highest sequence read; at start, the newest row then (it and older rows are history, never delivered). */
  private lastSeq = 0;
  /** Sequence numbers below lastSeq not read yet (their transaction had not committed), with when they were seen missing. */
  private readonly holes = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private listen: ListenConnection | null = null;
  private closed = false;
  private pruneAt = 0;
  private failures = 0;
  private readonly writes = new Set<Promise<unknown>>();
  private readonly unsent: { topic: Topic; payload: unknown }[] = [];
  private droppedUnsent = 0;

  constructor(
    private readonly db: Db,
    private readonly opts: { pollMs?: number; listenUrl?: string; log?: (msg: string) => void } = {},
  ) {}

  /** Whether the LISTEN connection is up (PostgreSQL with a listenUrl); while it is not, the poll alone reads. */
  get listening(): boolean {
    return this.listen?.listening ?? false;
  }

  /** Starts reading after the newest row now in the table (what came before is history). */
  async start(): Promise<void> {
    const row = await sql<{ seq: number | null }>`select max(seq) as seq from bus_events`.execute(this.db);
    this.lastSeq = Number(row.rows[0]?.seq ?? 0);
    this.timer = setInterval(() => this.read(), this.opts.pollMs ?? 250);
    this.timer.unref();
    if (this.opts.listenUrl) {
      this.listen = new ListenConnection(this.opts.listenUrl, CHANNEL, () => this.read(), (m) => this.log(m));
      this.listen.start();
    }
  }

  publish<T extends Topic>(topic: T, payload: TopicPayload<T>): void {
    this.deliver(topic, payload, { local: true, seq: null });
    this.track(this.write(this.db, topic, payload).catch((err: unknown) => this.unwritten(topic, payload, err)));
  }

  /** A write close() waits for (a fire-and-forget publish must not outlive the database). */
  private track(p: Promise<unknown>): void {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  /**
   * A fire-and-forget message the database could not take: while the database is unreachable
   * (a restart: server/errors.ts) it is kept, in order, and written by the first read that works
   * again, so the other instances still hear it; any other failure is logged and dropped.
   */
  private unwritten(topic: Topic, payload: unknown, err: unknown): void {
    if (this.closed || !databaseUnavailable(err)) return reportBackgroundFailure(`bus: writing a ${topic} message`, err);
    if (this.unsent.length >= MAX_UNSENT) {
      this.droppedUnsent++;
      this.unsent.shift();
    }
    if (this.unsent.length === 0) this.log(`bus: the database is unavailable; keeping messages to publish once it is back (${errorSummary(err).message})`);
    this.unsent.push({ topic, payload });
  }

  /** Writes the kept messages, oldest first; stops at the first failure (kept for the next read). */
  private async flushUnsent(): Promise<void> {
    if (this.droppedUnsent) {
      this.log(`bus: ${this.droppedUnsent} messages kept during the outage were dropped (more than ${MAX_UNSENT}); listeners re-read on their next change`);
      this.droppedUnsent = 0;
    }
    const n = this.unsent.length;
    while (this.unsent.length && !this.closed) {
      const m = this.unsent[0]!;
      await this.write(this.db, m.topic, m.payload);
      this.unsent.shift();
    }
    if (n) this.log(`bus: ${n} messages kept during the database outage are published`);
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
    // the writes under way (a socket's last steps publish after their own write) end before the database may go
    while (this.writes.size) await Promise.allSettled([...this.writes]);
    this.closed = true;
    if (this.unsent.length) this.log(`bus: closing with ${this.unsent.length} messages the database never took (unavailable); other instances re-read on their next change`);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.listen?.close();
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

  /** The row and its NOTIFY in one statement: outside a transaction, never a row without its wake-up or the reverse. */
  private async write(db: Executor, topic: Topic, payload: unknown): Promise<void> {
    await sql`with r as (insert into bus_events (origin, kind, payload) values (${this.origin}, ${topic}, ${JSON.stringify(payload)}::jsonb) returning seq)
      select pg_notify(${CHANNEL}, r.seq::text) from r`.execute(db);
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
    const now = Date.now();
    const rows = () => this.db.selectFrom('bus_events').select(['seq', 'origin', 'kind', 'payload']);
    // the holes first: numbers an earlier read skipped (their transaction had not committed),
    // re-read until the row appears (a gap filled) or the hole is old (a rolled-back transaction)
    if (this.holes.size) {
      for (const [seq, at] of this.holes) if (now - at > HOLE_SECONDS * 1000) this.holes.delete(seq);
      const wanted = [...this.holes.keys()].slice(0, PAGE);
      if (wanted.length) {
        for (const r of await rows().where('seq', 'in', wanted).orderBy('seq').execute()) {
          this.holes.delete(Number(r.seq));
          this.stats.gaps++;
          this.take(r);
        }
      }
    }
    // then the new rows, a page at a time (a full page reads on at once)
    const fresh = await rows().where('seq', '>', this.lastSeq).orderBy('seq').limit(PAGE).execute();
    for (const r of fresh) {
      const seq = Number(r.seq);
      this.hole(this.lastSeq + 1, seq, now);
      this.lastSeq = seq;
      this.take(r);
    }
    if (fresh.length === PAGE) this.again = true;
    if (this.unsent.length || this.droppedUnsent) await this.flushUnsent();
    if (now >= this.pruneAt) {
      this.pruneAt = now + 60_000;
      await this.db.deleteFrom('bus_events').where('at', '<', sql<Date>`clock_timestamp() - make_interval(mins => ${RETAIN_MINUTES})`).execute();
    }
  }

  /** Sequence numbers from..to-1 were skipped: holes to re-read (at most MAX_HOLES; the oldest go first). */
  private hole(from: number, to: number, now: number): void {
    if (to - from > MAX_HOLES) {
      this.log(`bus: ${to - from} sequence numbers skipped at once; only the last ${MAX_HOLES} are re-read`);
      from = to - MAX_HOLES;
    }
    for (let s = from; s < to; s++) {
      if (this.holes.size >= MAX_HOLES) {
        const oldest = this.holes.keys().next().value as number;
        this.holes.delete(oldest);
      }
      this.holes.set(s, now);
    }
  }

  /** One row read: another instance's message, parsed against its topic and delivered (once: each sequence is read once). */
  private take(r: { seq: number | string; origin: string; kind: string; payload: unknown }): void {
    const seq = Number(r.seq);
    if (r.origin === this.origin) return;
    const topic = TOPICS[r.kind as Topic];
    if (!topic) return; // a topic this version does not know (a newer instance during a rolling upgrade)
    let parsed;
    try {
      parsed = topic.safeParse(jsonColumn<unknown>(r.payload));
    } catch (err) {
      this.log(`bus: message ${seq} (${r.kind}) is not JSON (${errorSummary(err).message}); skipped`);
      return;
    }
    if (!parsed.success) {
      this.log(`bus: message ${seq} does not match its topic ${r.kind}; skipped`);
      return;
    }
    this.stats.remote++;
    this.deliver(r.kind as Topic, parsed.data, { local: false, seq });
  }

  private log(msg: string): void {
    (this.opts.log ?? ((m: string) => console.warn(m)))(msg);
  }
}
