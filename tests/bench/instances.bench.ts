// Several gateway instances (issue 14): N simulated operators on authenticated WebSockets change
// state (break <-> not_ready) at a steady rate; L team leads watch their teams' boards. Measured:
// state change sent -> the watching lead's board updated (p50/p99), on one instance and on two
// instances on one PostgreSQL (operators and leads spread over both, so most updates cross the
// bus), and memory per connected operator (the gateway processes' resident memory). Each
// gateway instance is its own Node process (tests/bench/gateway-process.ts, started as
// deploy/stack.ts starts them); the simulated clients and the load stay in this process, all
// on the bench machine's cores with PostgreSQL.
// Then routing: GET /sip/route as Kamailio calls it (the route secret, a DID, a caller, a
// Call-ID), KOE_BENCH_ROUTE_CONCURRENCY requests in flight (Kamailio's workers), spread over
// the instances: lookups/s and p50/p99, (a) with every operator of the DID's campaign busy
// (the whole lookup, no offer: what Kamailio asks most during a queue) and (b) routed: as many
// operators ready as lookups, each lookup offers the call to one (a transaction, a call row).
// Sizes (the issue's figures by default): KOE_BENCH_OPERATORS (2000), KOE_BENCH_LEADS (200),
// KOE_BENCH_RATE changes/s (70: 2,000 operators each changing state about every 30 s),
// KOE_BENCH_SECONDS (20), KOE_BENCH_ROUTE_SECONDS (5), KOE_BENCH_ROUTE_CONCURRENCY (32),
// KOE_BENCH_ROUTED (500 routed lookups). KOE_BENCH_GATEWAY_NODE_ARGS: extra node arguments for
// the gateway processes (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them).
import http from 'node:http';
import WebSocket from 'ws';
import { TEST_ARGON2 } from '../../server/config';
import { GatewayTestClient } from '../support/gateway-client';
import { setup, type Backend, type Harness, type TestUser } from '../integration/gateway/harness';
import { postgresCpuMs, startGatewayProcess, type GatewayProcess } from './gateway-process';
import { loadavg } from 'node:os';
import type { Bench, Table } from './run';

const OPERATORS = Number(process.env.KOE_BENCH_OPERATORS ?? 2000);
const LEADS = Number(process.env.KOE_BENCH_LEADS ?? 200);
const RATE = Number(process.env.KOE_BENCH_RATE ?? 70);
const SECONDS = Number(process.env.KOE_BENCH_SECONDS ?? 20);
const ROUTE_SECONDS = Number(process.env.KOE_BENCH_ROUTE_SECONDS ?? 5);
const ROUTE_CONCURRENCY = Number(process.env.KOE_BENCH_ROUTE_CONCURRENCY ?? 32);
const ROUTED = Math.min(OPERATORS, Number(process.env.KOE_BENCH_ROUTED ?? 500));
const ROUTE_SECRET = 'route-secret-route-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

/** CPU time so far (ms): the gateway processes, the PostgreSQL cluster (KOE_BENCH_PGDATA), this process (the clients). */
function cpuNow(own: GatewayProcess[]): { gw: number; pg: number; bench: number } {
  const u = process.cpuUsage();
  const pgData = process.env.KOE_BENCH_PGDATA;
  return { gw: own.reduce((n, g) => n + g.cpuMs(), 0), pg: pgData ? postgresCpuMs(pgData) : NaN, bench: (u.user + u.system) / 1000 };
}
/** CPU ms per operation between two snapshots, and what 2 dedicated cores would sustain on the gateway + PostgreSQL time alone. */
function cpuPer(a: ReturnType<typeof cpuNow>, b: ReturnType<typeof cpuNow>, n: number, unit: string): Record<string, number> {
  const gw = (b.gw - a.gw) / n;
  const pg = (b.pg - a.pg) / n;
  return { [`gw CPU ms/${unit}`]: gw, [`pg CPU ms/${unit}`]: pg, [`client CPU ms/${unit}`]: (b.bench - a.bench) / n, [`${unit}s/s on 2 cores (gw+pg CPU)`]: 2000 / (gw + pg) };
}

/** Runs `f` over `items`, `n` at a time. */
async function pool<T, R>(items: T[], n: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  }));
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/** One GET /sip/route as Kamailio sends it; resolves with the answer's reason. */
function route(base: string, did: string, callId: string): Promise<string> {
  const url = `${base}/sip/route?did=${encodeURIComponent(did)}&from=${encodeURIComponent('+819011112222')}&callId=${encodeURIComponent(callId)}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { 'x-koe-route-secret': ROUTE_SECRET } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(String(JSON.parse(body).reason)) : reject(new Error(`route: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
  });
}

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

interface RunResult {
  board: Record<string, string | number>;
  routes: Record<string, string | number>[];
}

async function run(backend: Backend, instances: 1 | 2, log: (l: string) => void): Promise<RunResult> {
  const sip = { routeSecret: ROUTE_SECRET };
  const h: Harness = await setup(backend, { ws: { revalidateSeconds: 600 }, sip });
  // PostgreSQL: the serving instances are gateway processes of their own (own pool, own LISTEN
  // connection); the harness's in-process gateway only makes the org and the users, and is
  // closed before the clients connect. PGlite (one process): the harness's gateway serves.
  const own: GatewayProcess[] = [];
  const sockets: WebSocket[] = [];
  let harnessOpen = true;
  try {
    if (backend === 'postgres') {
      for (let i = 0; i < instances; i++) {
        own.push(await startGatewayProcess({
          argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, authRateLimit: { capacity: 1e6, refillPerMinute: 1e6 },
          ipFailureLimit: { maxFailures: 1e6, windowMinutes: 1 }, ws: { revalidateSeconds: 600 }, databaseUrl: h.url!, sip, logLevel: 'warn',
        }, h.url!));
      }
      // tokens from the serving instances (their clock, the system's; the harness's is a test clock)
      (h as unknown as { client: GatewayTestClient }).client = GatewayTestClient.http(own[0]!.url);
    }
    const https = own.length ? own.map((g) => g.url) : [await h.gw.app.listen({ host: '127.0.0.1', port: 0 })];
    const bases = https.map((u) => u.replace(/^http/, 'ws'));
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
    // sign-ins, a few at a time (the hash budget answers 429 beyond its queue: wait and ask again)
    const token = async (u: TestUser): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await h.token(u);
        } catch (err) {
          if (attempt > 20 || !String(err).includes('429')) throw err;
          await sleep(200);
        }
      }
    };
    const opTokens = await pool(ops, 4, token);
    const leadTokens = await pool(leads, 4, token);
    if (own.length) {
      await h.gw.close();
      harnessOpen = false;
    }
    log(`${backend}, ${instances} instance(s)${own.length ? ` (processes ${own.map((g) => g.pid).join(', ')})` : ''}: ${OPERATORS} operators, ${LEADS} leads created and signed in`);
    // sent[userId] = { state, at } of the change in flight; the lead's boardUpdate closes it
    const sent = new Map<string, { state: string; at: number }>();
    const latencies: number[] = [];
    let crossed = 0;
    for (let t = 0; t < LEADS; t++) {
      const ws = await socket(t % 2 ? baseB : baseA, leadTokens[t]!, (m) => {
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
    const rssBefore = own.map((g) => g.rssKiB());
    const opSockets = await pool(ops, 16, async (_, i) => {
      // an operator on the other instance than its lead (two instances): every update crosses the bus
      const onB = instances === 2 && (i % LEADS) % 2 === 0;
      if (onB) crossed++;
      return socket(onB ? baseB : baseA, opTokens[i]!, () => undefined);
    });
    sockets.push(...opSockets);
    await sleep(1000);
    global.gc?.();
    const after = process.memoryUsage();
    const rssAfter = own.map((g) => g.rssKiB());
    log(`${OPERATORS} operators connected`);
    const state = new Map<string, string>();
    const interval = 1000 / RATE;
    const cpu0 = cpuNow(own);
    const load0 = loadavg()[0]!;
    const started = performance.now();
    let n = 0;
    let skipped = 0;
    while (performance.now() - started < SECONDS * 1000) {
      // a random operator each time (Poisson-like arrivals per operator at RATE / OPERATORS per second)
      const i = Math.floor(Math.random() * OPERATORS);
      n++;
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
    const cpu1 = cpuNow(own);
    log(`${latencies.length} board updates measured, ${sent.size} lost or late (>5 s), ${skipped} changes skipped (previous still in flight)`);
    const board = {
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
      ...cpuPer(cpu0, cpu1, latencies.length + sent.size, 'change'),
      'load avg (1 min)': Math.max(load0, loadavg()[0]!),
      // the gateway processes' resident memory grown by the operators' sockets (PGlite: this process, clients included)
      'gateway rss KiB/operator': own.length ? rssAfter.reduce((n, r, i) => n + r - rssBefore[i]!, 0) / OPERATORS : (after.rss - before.rss) / 1024 / OPERATORS,
      'gateway rss MiB': own.length ? rssAfter.reduce((n, r) => n + r, 0) / 1024 : after.rss / 1024 / 1024,
      'bench heap KiB/operator (clients)': (after.heapUsed - before.heapUsed) / 1024 / OPERATORS,
    };

    // ---- routing: GET /sip/route, ROUTE_CONCURRENCY in flight, round-robin over the instances
    const { campaignId, did } = await h.campaignWithDid('bench');
    for (let i = 0; i < ops.length; i += 500) {
      await h.db.insertInto('campaign_assignments').values(ops.slice(i, i + 500).map((u) => ({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }))).execute();
    }
    const routes: Record<string, string | number>[] = [];
    const measure = async (what: string, total: number | null, seconds: number | null) => {
      const times: number[] = [];
      const reasons = new Map<string, number>();
      let k = 0;
      const c0 = cpuNow(own);
      const t0 = performance.now();
      await Promise.all(Array.from({ length: ROUTE_CONCURRENCY }, async () => {
        while (total !== null ? k < total : performance.now() - t0 < seconds! * 1000) {
          const i = k++;
          const s = performance.now();
          const reason = await route(https[i % https.length]!, did, `bench-${i}-${crypto.randomUUID()}@x`);
          times.push(performance.now() - s);
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
      }));
      const elapsed = (performance.now() - t0) / 1000;
      const c1 = cpuNow(own);
      log(`routing (${what}): ${times.length} lookups in ${elapsed.toFixed(1)} s: ${[...reasons].map(([r, c]) => `${r} ${c}`).join(', ')}`);
      routes.push({
        backend, instances, lookups: what, 'in flight': ROUTE_CONCURRENCY, requests: times.length,
        answers: [...reasons].map(([r, c]) => `${r} ${c}`).join(', '),
        'lookups/s': times.length / elapsed, 'p50 ms': pct(times, 50), 'p99 ms': pct(times, 99), 'max ms': Math.max(...times),
        ...cpuPer(c0, c1, times.length, 'lookup'),
        'load avg (1 min)': loadavg()[0]!,
      });
    };
    // (a) nobody ready: every operator is on break or not ready after the board phase
    await measure('all busy', null, ROUTE_SECONDS);
    // (b) ROUTED operators ready (microphone reported, ready), then ROUTED lookups: each offers one call
    await pool(ops.slice(0, ROUTED), 16, async (u, i) => {
      const ws = opSockets[i]!;
      const answered = (id: string) =>
        new Promise<void>((resolve) => {
          const on = (raw: WebSocket.RawData) => {
            const m = JSON.parse(raw.toString());
            if (m.id === id && (m.type === 'operatorState' || m.type === 'operatorRefused')) {
              ws.off('message', on);
              resolve();
            }
          };
          ws.on('message', on);
        });
      for (const [id, intent] of [[`m${i}`, { kind: 'microphone', available: true }], [`r${i}`, { kind: 'setAvailability', state: 'ready' }]] as const) {
        const done = answered(id);
        ws.send(JSON.stringify({ type: 'operator', id, intent }));
        await done;
      }
    });
    await sleep(500);
    await measure(`routed (${ROUTED} ready)`, ROUTED, null);
    return { board, routes };
  } finally {
    for (const s of sockets) s.close();
    await sleep(300);
    for (const g of own) await g.stop();
    if (harnessOpen) await h.close();
    else await (h as unknown as { dropDb: () => Promise<void> }).dropDb();
  }
}

const bench: Bench = async (log) => {
  const results: RunResult[] = [];
  if (process.env.KOE_BENCH_DATABASE_URL) {
    process.env.KOE_TEST_DATABASE_URL = process.env.KOE_BENCH_DATABASE_URL;
    results.push(await run('postgres', 1, log));
    results.push(await run('postgres', 2, log));
  } else {
    log('no KOE_BENCH_DATABASE_URL: one instance on PGlite only');
    results.push(await run('pglite', 1, log));
  }
  const tables: Table[] = [
    {
      title: `Several instances: operator state change -> the watching lead's board updated (${SECONDS} s at ${RATE} changes/s, random operators; each gateway instance its own process, the clients in the bench process)`,
      rows: results.map((r) => r.board),
    },
    {
      title: `Routing lookups: GET /sip/route as Kamailio calls it, ${ROUTE_CONCURRENCY} in flight, round-robin over the instances (the gateway processes above)`,
      rows: results.flatMap((r) => r.routes),
    },
  ];
  return tables;
};
export default bench;
