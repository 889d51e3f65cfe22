// Admin console bench (issue 17): the audit viewer over 1,000,000 audit entries and the user
// search over 10,000 users, through the real routes (app.inject: auth, permission, org scope,
// validation, the query, the views), on PGlite and on PostgreSQL.
//
// Data: KOE_BENCH_USERS users (default 10,000) in the org; KOE_BENCH_AUDIT entries (default
// 1,000,000) of that org plus 10% of another org, one valid hash chain (computed here with
// entryHash, so the chain status route verifies real work), one entry every 30 s (~1 year),
// actions weighted like a call centre's (sign-ins most, policy changes rare), an actor among
// the users, 2,000 source addresses. The audit_log indexes are dropped for the load and built
// again exactly as the migrations define them.
//
// Measured (p50/p95 over KOE_BENCH_ROUNDS requests, default 200, each with its own actor,
// window or address): GET /admin/audit first page and next page (before = the first page's
// last seq) with no filter, by actor, by action prefix (common "auth.*", rare "policy.*"), by
// time range (the last day; a day a month back), by address; a page 500,000 entries deep; and
// GET /admin/users prefix and substring search; and GET /admin/audit/status (a 10,000-entry
// verification slice per call) with the number of calls to verify the whole chain from zero.
import { sql } from 'kysely';
import { TEST_ARGON2 } from '../../server/config';
import { entryHash } from '../../server/audit/audit';
import { openDatabase } from '../../server/db/connect';
import type { Db } from '../../server/db/schema';
import { createGateway, type Gateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import { createScratchDatabase } from '../support/pg-database';
import { onEachBackend } from './backends';
import type { Table } from './run';

const USERS = Number(process.env.KOE_BENCH_USERS ?? 10_000);
const ENTRIES = Number(process.env.KOE_BENCH_AUDIT ?? 1_000_000);
const ROUNDS = Number(process.env.KOE_BENCH_ROUNDS ?? 200);
const PAGE = 50;
const PASSWORD = 'Bench-Koe-2026!';
const STEP_MS = 30_000;
const BASE = Date.UTC(2025, 11, 1);

/** Actions and their weights (per 1000). */
const ACTIONS: [string, number][] = [
  ['auth.sign_in.success', 300], ['auth.sign_in.failure', 80], ['auth.sign_out', 200], ['auth.refresh', 0], ['call.answered', 150],
  ['call.ended', 150], ['note.created', 60], ['customer.updated', 40], ['user.updated', 10], ['device.enrolled', 8], ['auth.lockout', 1], ['policy.changed', 1],
];
const ACTION_TABLE: string[] = ACTIONS.flatMap(([a, w]) => Array<string>(w).fill(a));
const SURNAMES = ['佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '山本', '中村', '小林', '加藤', '吉田', '山田', '佐々木', '山口', '松本'];
const GIVEN = ['一郎', '美咲', '大輔', '陽子', '翔太', '恵', '健一', '由美', '拓也', '直子', '蓮', '葵', '花子'];

const uuidOf = (expr: string) => `overlay(overlay(md5(${expr}) placing '4' from 13) placing '8' from 17)::uuid`;
/** The same deterministic uuid as uuidOf, in JS (for the chain's hashed actor ids). */
async function userUuids(db: Db): Promise<string[]> {
  const rows = await sql<{ id: string }>`select ${sql.raw(uuidOf("'koe-bench-user-' || i"))} as id from generate_series(1, ${USERS}) i order by i`.execute(db);
  return rows.rows.map((r) => r.id);
}

interface Stats { n: number; p50: number; p95: number }
async function measure(n: number, fn: (i: number) => Promise<unknown>): Promise<Stats> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  return { n, p50: q(0.5), p95: q(0.95) };
}

async function openTarget(kind: 'pglite' | 'postgres'): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    return { db, drop: () => db.destroy() };
  }
  return createScratchDatabase(process.env.KOE_BENCH_DATABASE_URL!, 'koe_bench', 4);
}

async function load(db: Db, orgId: string, otherOrgId: string, log: (s: string) => void): Promise<{ loadMs: number; indexMs: number }> {
  const run = (q: string) => sql.raw(q).execute(db);
  const t0 = Date.now();
  const role = await db.selectFrom('roles').select('id').where('org_id', '=', orgId).where('key', '=', 'operator').executeTakeFirstOrThrow();
  await run(`insert into users (id, org_id, username, display_name, role_id, password_hash, password_changed_at, disabled, totp_enabled, created_at)
    select ${uuidOf("'koe-bench-user-' || i")}, '${orgId}', 'user-' || lpad(i::text, 5, '0'),
      (array[${SURNAMES.map((s) => `'${s}'`).join(',')}])[1 + i % ${SURNAMES.length}] || ' ' || (array[${GIVEN.map((s) => `'${s}'`).join(',')}])[1 + (i / ${SURNAMES.length}) % ${GIVEN.length}] || ' ' || i,
      '${role.id}', 'x', now(), false, false, now()
    from generate_series(1, ${USERS}) i`);
  const actors = await userUuids(db);

  const indexes = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes
    where tablename = 'audit_log' and indexname not like '%_pkey'`.execute(db);
  for (const ix of indexes.rows) await run(`drop index ${ix.indexname}`);

  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  let seq = Number(head.seq);
  let prev = head.hash;
  const total = Math.round(ENTRIES * 1.1);
  const batch = 1000;
  for (let done = 0; done < total; ) {
    const rows = [];
    for (let k = 0; k < batch && done < total; k++, done++) {
      seq += 1;
      const i = done;
      const mine = i % 11 !== 10; // 10 of 11 entries are the org's, 1 of 11 another org's
      const action = ACTION_TABLE[(i * 7919) % ACTION_TABLE.length]!;
      const actor = (i * 31) % USERS;
      const fields = {
        seq,
        at: new Date(BASE + i * (STEP_MS / 1.1)).toISOString(),
        orgId: mine ? orgId : otherOrgId,
        actorUserId: mine ? actors[actor]! : null,
        actorUsername: mine ? `user-${String(actor + 1).padStart(5, '0')}` : 'other',
        action,
        targetType: 'user',
        targetId: actors[(actor + 1) % USERS]!,
        sourceIp: `10.${(i % 2000) >> 8}.${i % 256}.${1 + (i % 7)}`,
        deviceId: null,
        detail: action === 'call.ended' ? { seconds: i % 600 } : {},
      };
      const hash = entryHash(prev, fields);
      rows.push({
        seq, at: new Date(fields.at), org_id: fields.orgId, actor_user_id: fields.actorUserId, actor_username: fields.actorUsername, action,
        target_type: fields.targetType, target_id: fields.targetId, source_ip: fields.sourceIp, device_id: null, detail: JSON.stringify(fields.detail), prev_hash: prev, hash,
      });
      prev = hash;
    }
    await db.insertInto('audit_log').values(rows).execute();
    if (done % 200_000 < batch) log(`audit entries ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`);
  }
  await db.updateTable('audit_head').set({ seq, hash: prev }).where('id', '=', 1).execute();
  const loadMs = Date.now() - t0;
  const t1 = Date.now();
  for (const ix of indexes.rows) await run(ix.indexdef);
  await run('analyze');
  return { loadMs, indexMs: Date.now() - t1 };
}

async function benchBackend(kind: 'pglite' | 'postgres', log: (s: string) => void): Promise<Table[]> {
  const { db, drop } = await openTarget(kind);
  const gw: Gateway = await createGateway({
    db, logger: !!process.env.KOE_BENCH_LOG,
    config: {
      argon2: TEST_ARGON2, jwt: { secret: 'bench-secret-bench-secret-bench-secret-0123' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 }, logLevel: process.env.KOE_BENCH_LOG ? 'error' : 'silent',
    },
  });
  try {
    const orgId = await createOrg(gw.ctx, 'ベンチ株式会社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const otherOrgId = await createOrg(gw.ctx, '別会社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    await createUser(gw.ctx, { orgId, username: 'bench-admin', displayName: 'ベンチ 管理者', role: 'admin', password: PASSWORD });
    const { loadMs, indexMs } = await load(db, orgId, otherOrgId, (s) => log(`${kind}: ${s}`));
    log(`${kind}: load ${(loadMs / 1000).toFixed(1)} s, indexes + analyze ${(indexMs / 1000).toFixed(1)} s`);
    const signIn = await gw.app.inject({ method: 'POST', url: '/auth/sign-in', payload: { username: 'bench-admin', password: PASSWORD }, remoteAddress: '10.0.0.1' });
    const token = JSON.parse(signIn.body).tokens.accessToken as string;
    const get = async (url: string) => {
      const res = await gw.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` }, remoteAddress: '10.0.0.1' });
      if (res.statusCode !== 200) throw new Error(`bench: ${url} answered ${res.statusCode} ${res.body}`);
      return JSON.parse(res.body);
    };
    const actors = await userUuids(db);
    const lastAt = BASE + Math.round(ENTRIES * 1.1) * (STEP_MS / 1.1);
    const day = 86_400_000;
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const filters: [string, (i: number) => string][] = [
      ['none', () => ''],
      ['actor', (i) => `&actorUserId=${actors[(i * 97) % USERS]}`],
      ['action prefix auth.* (common)', () => '&action=auth.*'],
      ['action prefix policy.* (rare)', () => '&action=policy.*'],
      ['time: the last day', (i) => `&from=${iso(lastAt - day - i * 60_000)}&to=${iso(lastAt - i * 60_000)}`],
      ['time: one day a month back', (i) => `&from=${iso(lastAt - 31 * day - i * 600_000)}&to=${iso(lastAt - 30 * day - i * 600_000)}`],
      ['source address', (i) => `&sourceIp=10.${(i % 2000) >> 8}.${i % 256}.${1 + (i % 7)}`],
    ];
    const rows: Record<string, string | number>[] = [];
    for (const [name, f] of filters) {
      const first = (i: number) => get(`/admin/audit?limit=${PAGE}${f(i)}`);
      await measure(10, first);
      const firstStats = await measure(ROUNDS, first);
      const cursors: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const page = (await first(i)).entries as { seq: number }[];
        cursors.push(page.length ? page[page.length - 1]!.seq : 0);
      }
      const nextStats = await measure(ROUNDS, (i) => get(`/admin/audit?limit=${PAGE}${f(i)}&before=${cursors[i]}`));
      const sample = (await first(0)).entries.length;
      rows.push({ backend: kind, filter: name, 'rows/page': sample, 'first p50 ms': firstStats.p50, 'first p95 ms': firstStats.p95, 'next p50 ms': nextStats.p50, 'next p95 ms': nextStats.p95 });
      log(`${kind}: audit ${name} done`);
    }
    const head = Number((await db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
    const deep = await measure(ROUNDS, (i) => get(`/admin/audit?limit=${PAGE}&before=${Math.max(1, Math.floor(head / 2) - (i % 100) * Math.floor(head / 1000))}`));
    rows.push({ backend: kind, filter: 'none, a page 500,000 entries deep', 'rows/page': PAGE, 'first p50 ms': deep.p50, 'first p95 ms': deep.p95, 'next p50 ms': '', 'next p95 ms': '' });

    // user search: a username prefix (user-012 -> 10 users... user-0 -> thousands) and a part of the display name
    const prefixes = ['user-01', 'user-012', 'user-0123', 'user-1'];
    const parts = ['花子', '佐藤', '123', '山本 恵'];
    await measure(10, (i) => get(`/admin/users?limit=100&q=${encodeURIComponent(prefixes[i % prefixes.length]!)}`));
    const prefix = await measure(ROUNDS, (i) => get(`/admin/users?limit=100&q=${encodeURIComponent(prefixes[i % prefixes.length]!)}`));
    const substring = await measure(ROUNDS, (i) => get(`/admin/users?limit=100&q=${encodeURIComponent(parts[i % parts.length]!)}`));
    const firstPage = await measure(ROUNDS, () => get('/admin/users?limit=100'));
    const users: Record<string, string | number>[] = [
      { backend: kind, search: 'no query, first page of 100', 'p50 ms': firstPage.p50, 'p95 ms': firstPage.p95 },
      { backend: kind, search: 'username prefix', 'p50 ms': prefix.p50, 'p95 ms': prefix.p95 },
      { backend: kind, search: 'display-name substring', 'p50 ms': substring.p50, 'p95 ms': substring.p95 },
    ];

    // the chain status: from zero (every call verifies a 10,000-entry slice) to caught up
    const tCatch = Date.now();
    let calls = 0;
    const per: number[] = [];
    for (;;) {
      const t = process.hrtime.bigint();
      const s = await get('/admin/audit/status');
      per.push(Number(process.hrtime.bigint() - t) / 1e6);
      calls += 1;
      if (s.broken) throw new Error(`bench: the generated chain is broken at ${s.broken.seq} (${s.broken.kind})`);
      if (s.verifiedSeq >= s.headSeq) break;
    }
    const catchMs = Date.now() - tCatch;
    per.sort((a, b) => a - b);
    const steady = await measure(20, () => get('/admin/audit/status'));
    log(`${kind}: chain verified from zero in ${calls} calls, ${(catchMs / 1000).toFixed(1)} s`);
    const status: Record<string, string | number>[] = [
      { backend: kind, what: 'status call while behind (slice: 10,000 entries or 50 ms)', n: per.length, 'p50 ms': per[Math.floor(per.length / 2)]!, 'p95 ms': per[Math.min(per.length - 1, Math.floor(per.length * 0.95))]! },
      { backend: kind, what: 'status call caught up (re-check slice)', n: steady.n, 'p50 ms': steady.p50, 'p95 ms': steady.p95 },
      { backend: kind, what: `whole chain from zero: ${calls} calls`, n: calls, 'p50 ms': '', 'p95 ms': '', total: `${(catchMs / 1000).toFixed(1)} s` },
    ];
    const counts = await sql<{ n: number; mine: number }>`select count(*)::int n, count(*) filter (where org_id = ${orgId})::int mine from audit_log`.execute(db);
    return [
      { title: `audit viewer on ${kind}: ${counts.rows[0]!.mine.toLocaleString('en')} entries of the org (${counts.rows[0]!.n.toLocaleString('en')} in the chain), pages of ${PAGE}, ${ROUNDS} requests each; load ${(loadMs / 1000).toFixed(1)} s, indexes ${(indexMs / 1000).toFixed(1)} s`, rows },
      { title: `user search on ${kind}: ${USERS.toLocaleString('en')} users, pages of 100`, rows: users },
      { title: `audit chain status on ${kind}`, rows: status },
    ];
  } finally {
    await gw.close();
    await drop();
  }
}

export default onEachBackend(benchBackend);
