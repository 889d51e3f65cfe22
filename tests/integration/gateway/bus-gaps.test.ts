// The event bus when NOTIFY fails it (issue 14, "Bad input and faults"; server/bus/event-bus.ts):
//   - a row whose NOTIFY never came (written without pg_notify) and a LISTEN connection killed
//     under B: B still delivers through its reader (the poll), within the poll interval + margin
//     (figures printed), and the LISTEN connection comes back;
//   - a message whose sequence number was taken before one B has already read but committed
//     after it (two concurrent transactions) is delivered once: not lost, not twice;
//   - a burst larger than one read's page is read on at once, each row once.
// PostgreSQL only: PGlite has no LISTEN and runs one transaction at a time.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { TEST_ARGON2 } from '../../../server/config';
import { createGateway, type Gateway } from '../../../server/gateway';
import { setup, type Harness } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const POLL_MS = 250; // DurableBus's default poll interval (server/bus/event-bus.ts)
const MARGIN_MS = 750;

describe('the bus on postgres: lost NOTIFYs and late commits', () => {
  let h: Harness;
  let b: Gateway;
  /** userId -> when B's `board` listener got it (every delivery, so a second one shows). */
  const got = new Map<string, number[]>();
  const arrived = (id: string) => got.get(id)?.length ?? 0;
  const waitFor = async (id: string, ms: number) => {
    const t0 = performance.now();
    while (!arrived(id)) {
      if (performance.now() - t0 > ms) throw new Error(`${id}: not delivered to B within ${ms} ms`);
      await sleep(5);
    }
    return got.get(id)![0]! - t0;
  };

  beforeAll(async () => {
    h = await setup('postgres');
    b = await createGateway({
      db: h.db,
      clock: h.clock,
      migrate: false,
      config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, databaseUrl: h.url! },
    });
    b.ctx.bus.subscribe('board', (m, d) => {
      if (!d.local) got.set(m.userId, [...(got.get(m.userId) ?? []), performance.now()]);
    });
    const t0 = performance.now();
    while (!b.ctx.bus.listening) {
      if (performance.now() - t0 > 10_000) throw new Error('B never listened');
      await sleep(20);
    }
  });
  afterAll(async () => {
    await b?.close();
    await h?.close();
  });

  it('a message whose NOTIFY never came, and one sent while B\'s LISTEN connection is dead, arrive by the poll; the connection comes back', async () => {
    // with NOTIFY: the reference figure
    const notified = randomUUID();
    h.gw.ctx.bus.publish('board', { userId: notified });
    const withNotify = await waitFor(notified, POLL_MS + MARGIN_MS);
    // the row without its NOTIFY (the notification lost on the way)
    const lost = randomUUID();
    await h.db.insertInto('bus_events').values({ origin: randomUUID(), kind: 'board', payload: JSON.stringify({ userId: lost }) }).execute();
    const lostMs = await waitFor(lost, POLL_MS + MARGIN_MS);
    // B's LISTEN connection killed by the server: what is published meanwhile still arrives
    const admin = new pg.Client({ connectionString: h.url });
    await admin.connect();
    try {
      const killed = await admin.query(`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and query like 'listen koe_bus%'`);
      expect(killed.rows.length).toBe(1);
    } finally {
      await admin.end();
    }
    const t0 = performance.now();
    while (b.ctx.bus.listening) {
      if (performance.now() - t0 > 5_000) throw new Error('B did not notice its LISTEN connection died');
      await sleep(5);
    }
    const deaf = randomUUID();
    h.gw.ctx.bus.publish('board', { userId: deaf });
    const deafMs = await waitFor(deaf, POLL_MS + MARGIN_MS);
    const tBack = performance.now();
    while (!b.ctx.bus.listening) {
      if (performance.now() - tBack > 10_000) throw new Error('B\'s LISTEN connection did not come back');
      await sleep(20);
    }
    console.log(`bus: delivered to B with NOTIFY ${withNotify.toFixed(0)} ms; NOTIFY lost ${lostMs.toFixed(0)} ms; LISTEN connection dead ${deafMs.toFixed(0)} ms (poll ${POLL_MS} ms); LISTEN back after ${(performance.now() - t0).toFixed(0)} ms`);
    expect(lostMs).toBeLessThan(POLL_MS + MARGIN_MS);
    expect(deafMs).toBeLessThan(POLL_MS + MARGIN_MS);
    for (const id of [notified, lost, deaf]) expect(arrived(id)).toBe(1);
  });

  it('a burst of more rows than one read takes (2,500 in a second) is read on at once, each row delivered once, and the next message is not held back', async () => {
    const burst = randomUUID();
    await sql`insert into bus_events (origin, kind, payload)
      select ${randomUUID()}::uuid, 'board', jsonb_build_object('userId', ${burst}::text || '-' || g::text) from generate_series(1, 2500) g`.execute(h.db);
    const after = randomUUID();
    h.gw.ctx.bus.publish('board', { userId: after });
    const ms = await waitFor(after, POLL_MS + MARGIN_MS);
    console.log(`bus: a message published right after 2,500 others reached B in ${ms.toFixed(0)} ms`);
    const counts = [...got].filter(([id]) => id.startsWith(`${burst}-`)).map(([, at]) => at.length);
    expect(counts).toHaveLength(2500);
    expect(counts.every((n) => n === 1)).toBe(true);
  });

  it('a message numbered before one B has read but committed after it is delivered once', async () => {
    const gapsBefore = b.ctx.bus.stats.gaps;
    const early = randomUUID();
    const late = randomUUID();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let numbered!: () => void;
    const earlyNumbered = new Promise<void>((r) => (numbered = r));
    const earlyTx = h.db.transaction().execute(async (tx) => {
      await h.gw.ctx.bus.publishIn(tx, 'board', { userId: early }); // its sequence number is taken here
      numbered();
      await gate; // ...and committed only after `late`
    });
    await earlyNumbered;
    await h.db.transaction().execute((tx) => h.gw.ctx.bus.publishIn(tx, 'board', { userId: late }));
    const seqs = await h.db.selectFrom('bus_events').select('seq').where(sql`payload->>'userId'`, '=', late).execute();
    expect(seqs).toHaveLength(1);
    await waitFor(late, POLL_MS + MARGIN_MS); // B has read past `early`'s number
    expect(arrived(early)).toBe(0);
    release();
    await earlyTx;
    const earlyRow = await h.db.selectFrom('bus_events').select('seq').where(sql`payload->>'userId'`, '=', early).executeTakeFirstOrThrow();
    expect(Number(earlyRow.seq)).toBeLessThan(Number(seqs[0]!.seq));
    const lateMs = await waitFor(early, POLL_MS + MARGIN_MS);
    console.log(`bus: a message committed after a later-numbered one was delivered ${lateMs.toFixed(0)} ms after its commit`);
    await sleep(4 * POLL_MS); // the re-read window covers both rows on every poll: no second delivery
    expect(arrived(early)).toBe(1);
    expect(arrived(late)).toBe(1);
    expect(b.ctx.bus.stats.gaps).toBeGreaterThan(gapsBefore);
  });
});
