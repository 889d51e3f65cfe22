// Several gateway instances (issue 14): N simulated operators on authenticated WebSockets change
// state (break <-> not_ready) at a steady rate; L team leads watch their teams' boards. Measured:
// state change sent -> the watching lead's board updated (p50/p99), on one instance and on two
// instances on one PostgreSQL (operators and leads spread over both, so most updates cross the
// bus), and memory per connected operator. Everything runs in this one process (the clients
// too) on the bench machine's cores; the second instance has its own connection pool.
// Sizes: KOE_BENCH_OPERATORS (300), KOE_BENCH_LEADS (30), KOE_BENCH_RATE changes/s (100),
// KOE_BENCH_SECONDS (10). The full figure is 2,000 operators and 200 leads.
import WebSocket from 'ws';
import { TEST_ARGON2 } from '../../server/config';
import { openDatabase } from '../../server/db/connect';
import type { Db } from '../../server/db/schema';
import { createGateway, type Gateway } from '../../server/gateway';
import { setup, type Backend, type Harness, type TestUser } from '../integration/gateway/harness';
import type { Bench, Table } from './run';

const OPERATORS = Number(process.env.KOE_BENCH_OPERATORS ?? 300);
const LEADS = Number(process.env.KOE_BENCH_LEADS ?? 30);
const RATE = Number(process.env.KOE_BENCH_RATE ?? 100);
const SECONDS = Number(process.env.KOE_BENCH_SECONDS ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

async function socket(base: string, token: string, onMessage: (m: any) => void): Promise<WebSocket> {
  const ws = new WebSocket(`${base}/ws`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const ready = new Promise<void>((resolve) => {
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === 'ready') resolve();
      onMessage(m);
    });
  });
  ws.send(JSON.stringify({ type: 'auth', accessToken: token }));
  await ready;
  return ws;
}

async function run(backend: Backend, instances: 1 | 2, log: (l: string) => void): Promise<Record<string, string | number>> {
  const h: Harness = await setup(backend, { ws: { revalidateSeconds: 600 } });
  // PostgreSQL: the serving instances are gateways of their own (own pool, own LISTEN connection);
  // the harness's gateway only made the org and users. PGlite: the harness's gateway serves.
  const own: { gw: Gateway; db: Db }[] = [];
  const sockets: WebSocket[] = [];
  try {
    if (backend === 'postgres') {
      for (let i = 0; i < instances; i++) {
        const db = await openDatabase({ kind: 'postgres', url: h.url!, poolSize: 8 });
        const gw = await createGateway({
          db, clock: h.clock, migrate: false,
          config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, authRateLimit: { capacity: 1e6, refillPerMinute: 1e6 }, ws: { revalidateSeconds: 600 }, databaseUrl: h.url! },
        });
        own.push({ gw, db });
      }
    }
    const serving = own.length ? own.map((o) => o.gw) : [h.gw];
    const bases = await Promise.all(serving.map(async (g) => (await g.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')));
    const baseA = bases[0]!;
    const baseB = bases[1] ?? baseA;
    // teams: each lead leads OPERATORS / LEADS operators
    const ops: TestUser[] = [];
    const leads: TestUser[] = [];
    for (let i = 0; i < OPERATORS; i++) ops.push(await h.newUser('operator'));
    for (let i = 0; i < LEADS; i++) leads.push(await h.newUser('team_lead', 'lead'));
    for (let t = 0; t < LEADS; t++) {
      const id = crypto.randomUUID();
      await h.db.insertInto('teams').values({ id, org_id: h.orgId, name: `bench-${t}` }).execute();
      const members = ops.filter((_, i) => i % LEADS === t);
      await h.db.insertInto('team_members').values([{ team_id: id, user_id: leads[t]!.id, member_role: 'lead' }, ...members.map((o) => ({ team_id: id, user_id: o.id, member_role: 'operator' as const }))]).execute();
    }
    log(`${backend}, ${instances} instance(s): ${OPERATORS} operators, ${LEADS} leads created`);
    // sent[userId] = { state, at } of the change in flight; the lead's boardUpdate closes it
    const sent = new Map<string, { state: string; at: number }>();
    const latencies: number[] = [];
    let crossed = 0;
    for (let t = 0; t < LEADS; t++) {
      const ws = await socket(t % 2 ? baseB : baseA, await h.token(leads[t]!), (m) => {
        if (m.type !== 'boardUpdate') return;
        const s = sent.get(m.operator.userId);
        if (s && m.operator.state === s.state) {
          latencies.push(performance.now() - s.at);
          sent.delete(m.operator.userId);
        }
      });
      ws.send(JSON.stringify({ type: 'boardSubscribe' }));
      sockets.push(ws);
    }
    global.gc?.();
    const before = process.memoryUsage();
    const opSockets: WebSocket[] = [];
    for (let i = 0; i < OPERATORS; i++) {
      // an operator on the other instance than its lead (two instances): every update crosses the bus
      const onB = instances === 2 && (i % LEADS) % 2 === 0;
      if (onB) crossed++;
      opSockets.push(await socket(onB ? baseB : baseA, await h.token(ops[i]!), () => undefined));
    }
    sockets.push(...opSockets);
    await sleep(500);
    global.gc?.();
    const after = process.memoryUsage();
    log(`${OPERATORS} operators connected`);
    const state = new Map<string, string>();
    const interval = 1000 / RATE;
    const started = performance.now();
    let n = 0;
    let skipped = 0;
    while (performance.now() - started < SECONDS * 1000) {
      const i = n++ % OPERATORS;
      const op = ops[i]!;
      if (sent.has(op.id)) {
        skipped++; // its previous change is not on the board yet
      } else {
        const next = state.get(op.id) === 'break' ? 'not_ready' : 'break';
        state.set(op.id, next);
        sent.set(op.id, { state: next, at: performance.now() });
        opSockets[i]!.send(JSON.stringify({ type: 'operator', id: `b${n}`, intent: { kind: 'setAvailability', state: next } }));
      }
      const due = started + n * interval - performance.now();
      if (due > 0) await sleep(due);
    }
    const deadline = performance.now() + 5_000;
    while (sent.size && performance.now() < deadline) await sleep(20);
    log(`${latencies.length} board updates measured, ${sent.size} lost or late (>5 s), ${skipped} changes skipped (previous still in flight)`);
    return {
      backend,
      instances,
      operators: OPERATORS,
      leads: LEADS,
      'changes/s': RATE,
      'cross-instance ops': crossed,
      updates: latencies.length,
      'missing (>5 s)': sent.size,
      'p50 ms': pct(latencies, 50),
      'p99 ms': pct(latencies, 99),
      'max ms': latencies.length ? Math.max(...latencies) : NaN,
      'heap KiB/operator': (after.heapUsed - before.heapUsed) / 1024 / OPERATORS,
      'rss KiB/operator': (after.rss - before.rss) / 1024 / OPERATORS,
    };
  } finally {
    for (const s of sockets) s.close();
    await sleep(300);
    for (const o of own) {
      await o.gw.close();
      await o.db.destroy();
    }
    await h.close();
  }
}

const bench: Bench = async (log) => {
  const rows: Record<string, string | number>[] = [];
  if (process.env.KOE_BENCH_DATABASE_URL) {
    process.env.KOE_TEST_DATABASE_URL = process.env.KOE_BENCH_DATABASE_URL;
    rows.push(await run('postgres', 1, log));
    rows.push(await run('postgres', 2, log));
  } else {
    log('no KOE_BENCH_DATABASE_URL: one instance on PGlite only');
    rows.push(await run('pglite', 1, log));
  }
  const tables: Table[] = [
    {
      title: `Several instances: operator state change -> the watching lead's board updated (${SECONDS} s at ${RATE} changes/s; gateway instances and clients in one process; memory includes the client side)`,
      rows,
    },
  ];
  return tables;
};
export default bench;
