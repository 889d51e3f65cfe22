// Password-hashing budget bench: many guessing clients from many addresses against
// production argon2 parameters (m=64 MiB, t=3), while a legitimate user with an enrolled
// device signs in once a second. Runs on the same machine: no flood (baseline), the budget as configured
// (default: concurrency = cores, normal queue 4), and the budget effectively off (256 at
// once, no queue bound) to show what it protects against. Requests go through the real
// routes over HTTP on loopback from a worker thread, the per-address limits stay at their defaults (each guessing address
// gets its burst of 30, then 30/min), and guessers ignore Retry-After: they retry at once
// (closed loop, zero think time: as fast as the gateway answers), or after `think ms` (paced).
//
// Reported per run: guesses hashed per second (answered invalid_credentials), shed by the
// budget, refused by the per-address limits, and the legitimate sign-in's latency
// (challenge + signed sign-in, end to end) and success count.
// Env: KOE_BENCH_GUESSERS (default 300 addresses), KOE_BENCH_SECONDS (default 10).
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { deviceSignatureMessage } from '../../shared/gateway/device-message';
import { DEFAULT_ORG_POLICY } from '../../shared/gateway/policy';
import { PRODUCTION_ARGON2, type GatewayConfigInput } from '../../server/config';
import { openDatabase } from '../../server/db/connect';
import type { Db } from '../../server/db/schema';
import { createGateway, type Gateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import { createScratchDatabase } from '../support/pg-database';
import type { Bench, Table } from './run';

const GUESSERS = Number(process.env.KOE_BENCH_GUESSERS ?? 300);
const SECONDS = Number(process.env.KOE_BENCH_SECONDS ?? 10);
const PASSWORD = 'Bench-Koe-2026!';

interface Device {
  publicKey: string;
  privateKey: KeyObject;
}
const newDevice = (): Device => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: (publicKey.export({ format: 'jwk' }) as { x: string }).x, privateKey };
};

/** JSON POST over real HTTP (loopback); X-Forwarded-For names the client (loopback is a trusted proxy). */
async function post(base: string, url: string, body: unknown, ip: string) {
  const res = await fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

async function legitSignIn(base: string, username: string, device: Device, ip: string) {
  const c = await post(base, '/auth/challenge', { username, purpose: 'sign-in' }, ip);
  if (c.status !== 200) return c;
  const challenge = c.body.challenge as string;
  const signature = sign(null, Buffer.from(deviceSignatureMessage({ purpose: 'sign-in', username, challenge, publicKey: device.publicKey })), device.privateKey).toString('base64url');
  return post(base, '/auth/sign-in', { username, password: PASSWORD, device: { publicKey: device.publicKey, name: 'bench PC', challenge, signature } }, ip);
}

/**
 * The guessers run in a worker thread (their own event loop, like a remote attacker's
 * machine, though on the same cores): `guessers` concurrent loops, one address each,
 * retrying at once whatever the answer (Retry-After ignored).
 */
const ATTACKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { base, guessers, seconds, victim, thinkMs } = workerData;
const counts = { hashed: 0, shedByBudget: 0, perAddress: 0, other: 0 };
const deadline = Date.now() + seconds * 1000;
async function guesser(i) {
  const ip = '198.18.' + (i >> 8) + '.' + (i & 255);
  let n = 0;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(base + '/auth/sign-in', {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ username: n % 2 ? victim : 'ghost-' + i + '-' + n, password: 'Guess-' + i + '-' + n + '!aA' }),
      });
      const body = await res.json();
      if (res.status === 401) counts.hashed++;
      else if (res.status === 429 && /busy checking passwords/.test(body.error.message)) counts.shedByBudget++;
      else if (res.status === 429) counts.perAddress++;
      else counts.other++;
    } catch (e) {
      counts.other++;
    }
    n++;
    if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs));
  }
}
Promise.all(Array.from({ length: guessers }, (_, i) => guesser(i))).then(() => parentPort.postMessage(counts));
`;

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function run(label: string, db: Db, opts: GatewayConfigInput & { guessers?: number; thinkMs?: number }, log: (l: string) => void): Promise<Record<string, string | number>> {
  const { guessers = GUESSERS, thinkMs = 0, ...config } = opts;
  const gw = await createGateway({ db, config: { argon2: PRODUCTION_ARGON2, trustedProxies: ['127.0.0.1/32'], ...config } });
  try {
    const orgId = await createOrg(gw.ctx, `bench ${label}`);
    await db.updateTable('orgs').set({ policy: JSON.stringify({ ...DEFAULT_ORG_POLICY, totpRequiredRoles: [], lockout: { ...DEFAULT_ORG_POLICY.lockout, maxFailures: 100 } }) }).where('id', '=', orgId).execute();
    const tag = Math.random().toString(36).slice(2, 8);
    const legit = `legit-${tag}`;
    const victim = `victim-${tag}`;
    for (const username of [legit, victim]) await createUser(gw.ctx, { orgId, username, displayName: username, role: 'operator', password: PASSWORD });
    const device = newDevice();
    const base = await gw.app.listen({ host: '127.0.0.1', port: 0 });
    const first = await legitSignIn(base, legit, device, '10.1.0.1');
    if (first.status !== 200) throw new Error(`enrolment sign-in failed: ${JSON.stringify(first.body)}`);

    const stats0 = gw.ctx.hasher.budget.stats();
    const latencies: number[] = [];
    let legitOk = 0;
    let legitRefused = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const legitLoop = async () => {
      let k = 0;
      while (Date.now() < deadline) {
        const t = performance.now();
        const r = await legitSignIn(base, legit, device, `10.1.1.${++k}`);
        latencies.push(performance.now() - t);
        if (r.status === 200) legitOk++;
        else legitRefused++;
        await new Promise((res) => setTimeout(res, 1000));
      }
    };
    log(`${label}: ${guessers} guessing addresses (worker thread, HTTP) for ${SECONDS} s, legitimate sign-in once a second`);
    const started = performance.now();
    const attacker = guessers > 0
      ? new Promise<Record<string, number>>((resolve, reject) => {
          const w = new Worker(ATTACKER, { eval: true, workerData: { base, guessers, seconds: SECONDS, victim, thinkMs } });
          w.once('message', (m) => resolve(m as Record<string, number>));
          w.once('error', reject);
        })
      : Promise.resolve({ hashed: 0, shedByBudget: 0, perAddress: 0, other: 0 });
    await new Promise((r) => setTimeout(r, 300)); // the flood is on before the first legitimate sign-in
    const [counts] = await Promise.all([attacker, legitLoop()]);
    const elapsed = (performance.now() - started) / 1000;
    const stats = gw.ctx.hasher.budget.stats();
    return {
      run: label,
      guessers,
      'think ms': thinkMs,
      concurrency: gw.ctx.hasher.budget.concurrency,
      'hashed guesses/s': counts.hashed / elapsed,
      'shed by budget/s': counts.shedByBudget / elapsed,
      'per-address 429/s': counts.perAddress / elapsed,
      other: counts.other,
      'legit ok': legitOk,
      'legit refused': legitRefused,
      'legit p50 ms': pct(latencies, 50),
      'legit p95 ms': pct(latencies, 95),
      'legit max ms': Math.max(...latencies),
      'priority admitted': stats.priorityAdmitted - stats0.priorityAdmitted,
    };
  } finally {
    await gw.close();
  }
}

const bench: Bench = async (log) => {
  const backends: { name: string; open: () => Promise<{ db: Db; drop: () => Promise<void> }> }[] = [
    { name: 'pglite', open: async () => { const db = await openDatabase({ kind: 'pglite', dataDir: null }); return { db, drop: () => db.destroy() }; } },
  ];
  if (process.env.KOE_BENCH_DATABASE_URL) backends.push({ name: 'postgres', open: () => createScratchDatabase(process.env.KOE_BENCH_DATABASE_URL!, 'koe_bench', 4) });
  const tables: Table[] = [];
  for (const b of backends) {
    const rows: Record<string, string | number>[] = [];
    for (const [label, config] of [
      ['no flood (baseline)', { guessers: 0 }],
      ['budget (default)', {}],
      ['budget, paced flood', { thinkMs: 500 }],
      ['budget, 2 at a time (= cores)', { passwordHashing: { concurrency: 2 } }],
      ['budget off', { passwordHashing: { concurrency: 256, queue: 10_000 } }],
    ] as const) {
      const { db, drop } = await b.open();
      try {
        rows.push(await run(label, db, config, log));
      } finally {
        await drop();
      }
    }
    tables.push({ title: `password hashing under a guessing flood (${b.name}; ${availableParallelism()} cores, argon2id m=64 MiB t=3)`, rows });
  }
  return tables;
};
export default bench;
