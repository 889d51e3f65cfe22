// Screen-pop bench: 1,000,000 customers over 500 campaigns, generated inside the database
// (insert ... select from generate_series), then scoped lookups through the real route
// (POST /screen-pop via app.inject: auth, scope, customers, history, notes, call record)
// and through the scoped phone query alone, next to the same query without scope on the
// same numbers in the same run. Also the name-prefix search (the index choice for names).
//
// Backends: PGlite (embedded, in memory) always; PostgreSQL when KOE_BENCH_DATABASE_URL is
// set (scripts/bench.sh starts a throwaway cluster). Sizes: KOE_BENCH_CUSTOMERS (default
// 1,000,000), KOE_BENCH_CAMPAIGNS (500).
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { TEST_ARGON2 } from '../../server/config';
import { campaignScope, type CampaignScope } from '../../server/crm/scope';
import { createScratchDatabase } from '../support/pg-database';
import { openDatabase } from '../../server/db/connect';
import type { Db } from '../../server/db/schema';
import { createGateway, type Gateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import { authenticate } from '../../server/principal';
import { customersByPhoneQuery } from '../../server/crm/queries';
import { onEachBackend } from './backends';
import type { Table } from './run';

const CUSTOMERS = Number(process.env.KOE_BENCH_CUSTOMERS ?? 1_000_000);
const CAMPAIGNS = Number(process.env.KOE_BENCH_CAMPAIGNS ?? 500);
const OPERATORS = 1000;
const PASSWORD = 'Bench-Koe-2026!';
const SURNAMES = [['佐藤', 'サトウ'], ['鈴木', 'スズキ'], ['高橋', 'タカハシ'], ['田中', 'タナカ'], ['伊藤', 'イトウ'], ['渡辺', 'ワタナベ'], ['山本', 'ヤマモト'],
  ['中村', 'ナカムラ'], ['小林', 'コバヤシ'], ['加藤', 'カトウ'], ['吉田', 'ヨシダ'], ['山田', 'ヤマダ'], ['佐々木', 'ササキ'], ['山口', 'ヤマグチ'], ['松本', 'マツモト'],
  ['井上', 'イノウエ'], ['木村', 'キムラ'], ['林', 'ハヤシ'], ['斎藤', 'サイトウ'], ['清水', 'シミズ']];
const GIVEN = [['一郎', 'イチロウ'], ['美咲', 'ミサキ'], ['大輔', 'ダイスケ'], ['陽子', 'ヨウコ'], ['翔太', 'ショウタ'], ['恵', 'メグミ'], ['健一', 'ケンイチ'],
  ['由美', 'ユミ'], ['拓也', 'タクヤ'], ['直子', 'ナオコ'], ['蓮', 'レン'], ['葵', 'アオイ'], ['陽翔', 'ハルト'], ['結衣', 'ユイ'], ['悠真', 'ユウマ'], ['さくら', 'サクラ']];

const arr = (l: string[]) => `array[${l.map((s) => `'${s}'`).join(',')}]`;
/** A deterministic RFC 4122 v4-shaped uuid from a string expression (md5 with the version and variant nibbles set). */
const uuidOf = (expr: string) => `overlay(overlay(md5(${expr}) placing '4' from 13) placing '8' from 17)::uuid`;
const campaignUuid = (expr: string) => uuidOf(`'koe-bench-campaign-' || (${expr})`);
/** Customer i: campaign i % CAMPAIGNS, mobile number shared by i and i + 900001 (different campaigns). */
const mobileOf = (i: number) => `+8190${String(i % 900_001).padStart(8, '0')}`;

interface Stats {
  n: number;
  perSecond: number;
  p50: number;
  p99: number;
}
function stats(samplesNs: bigint[], wallMs: number): Stats {
  const ms = samplesNs.map((s) => Number(s) / 1e6).sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  return { n: ms.length, perSecond: ms.length / (wallMs / 1000), p50: q(0.5), p99: q(0.99) };
}
async function measure(n: number, fn: (i: number) => Promise<unknown>): Promise<Stats> {
  const samples: bigint[] = [];
  const wall = Date.now();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    samples.push(process.hrtime.bigint() - t);
  }
  return stats(samples, Date.now() - wall);
}

async function openTarget(kind: 'pglite' | 'postgres'): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    return { db, drop: () => db.destroy() };
  }
  return createScratchDatabase(process.env.KOE_BENCH_DATABASE_URL!, 'koe_bench', 4);
}

async function generate(db: Db, gw: Gateway, orgId: string, log: (s: string) => void): Promise<{ genMs: number; indexMs: number }> {
  const run = (q: string) => sql.raw(q).execute(db);
  const operatorRole = await db.selectFrom('roles').select('id').where('org_id', '=', orgId).where('key', '=', 'operator').executeTakeFirstOrThrow();
  // load without the secondary indexes, then build them (kept exactly as the migration defines them)
  const indexes = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes
    where tablename in ('customers', 'customer_phones') and indexname not like '%_pkey'`.execute(db);
  for (const ix of indexes.rows) await run(`drop index ${ix.indexname}`);

  const t0 = Date.now();
  const base = Date.UTC(2026, 0, 1);
  await run(`insert into campaigns (id, org_id, name, time_zone, weekly_hours, closed_dates, dispositions, blocked_numbers, created_at, updated_at)
    select ${campaignUuid('i')}, '${orgId}', 'キャンペーン ' || i, 'Asia/Tokyo',
      '{"mon":[{"open":"09:00","close":"18:00"}],"tue":[{"open":"09:00","close":"18:00"}],"wed":[{"open":"09:00","close":"18:00"}],"thu":[{"open":"09:00","close":"18:00"}],"fri":[{"open":"09:00","close":"18:00"}]}',
      '[]', '["解決","折り返し","エスカレーション"]', '[]', now(), now()
    from generate_series(0, ${CAMPAIGNS - 1}) i`);
  await run(`insert into campaign_dids (org_id, e164, campaign_id)
    select '${orgId}', '+8150' || lpad(i::text, 8, '0'), ${campaignUuid('i')} from generate_series(0, ${CAMPAIGNS - 1}) i`);
  await run(`insert into users (id, org_id, username, display_name, role_id, password_hash, password_changed_at, disabled, totp_enabled, created_at)
    select ${uuidOf("'koe-bench-op-' || i")}, '${orgId}', 'bench-op-' || i, 'オペレーター ' || i, '${operatorRole.id}', 'x', now(), false, false, now()
    from generate_series(1, ${OPERATORS}) i`);
  await run(`insert into campaign_assignments (user_id, campaign_id, org_id)
    select distinct ${uuidOf("'koe-bench-op-' || i")}, ${campaignUuid(`(i * 7 + k * 131) % ${CAMPAIGNS}`)}, '${orgId}'::uuid
    from generate_series(1, ${OPERATORS}) i, generate_series(0, 2) k`);
  log(`campaigns, DIDs, ${OPERATORS} operators and assignments: ${Date.now() - t0} ms`);
  const chunk = 250_000;
  for (let from = 0; from < CUSTOMERS; from += chunk) {
    const to = Math.min(CUSTOMERS, from + chunk) - 1;
    await run(`insert into customers (id, org_id, campaign_id, name_kanji, name_kana, name_kanji_key, name_kana_key, email, fields, created_at, updated_at)
      select ${uuidOf("'koe-bench-cu-' || i")}, '${orgId}', ${campaignUuid(`i % ${CAMPAIGNS}`)},
        s[1 + i % ${SURNAMES.length}] || ' ' || g[1 + (i / ${SURNAMES.length}) % ${GIVEN.length}],
        sk[1 + i % ${SURNAMES.length}] || ' ' || gk[1 + (i / ${SURNAMES.length}) % ${GIVEN.length}],
        s[1 + i % ${SURNAMES.length}] || g[1 + (i / ${SURNAMES.length}) % ${GIVEN.length}],
        sk[1 + i % ${SURNAMES.length}] || gk[1 + (i / ${SURNAMES.length}) % ${GIVEN.length}],
        case when i % 4 = 0 then 'c' || i || '@example.jp' end,
        jsonb_build_object('会員番号', 'M-' || lpad(i::text, 8, '0')),
        to_timestamp(${base / 1000} + i / 1000.0), to_timestamp(${base / 1000} + i / 1000.0)
      from generate_series(${from}, ${to}) i,
        (select ${arr(SURNAMES.map((x) => x[0]!))} s, ${arr(SURNAMES.map((x) => x[1]!))} sk,
                ${arr(GIVEN.map((x) => x[0]!))} g, ${arr(GIVEN.map((x) => x[1]!))} gk) names`);
    await run(`insert into customer_phones (customer_id, e164, campaign_id, org_id)
      select ${uuidOf("'koe-bench-cu-' || i")}, '+8190' || lpad((i % 900001)::text, 8, '0'), ${campaignUuid(`i % ${CAMPAIGNS}`)}, '${orgId}'::uuid
      from generate_series(${from}, ${to}) i
      union all
      select ${uuidOf("'koe-bench-cu-' || i")}, '+813' || lpad(i::text, 8, '0'), ${campaignUuid(`i % ${CAMPAIGNS}`)}, '${orgId}'::uuid
      from generate_series(${from}, ${to}) i where i % 5 = 0`);
    log(`customers ${to + 1} / ${CUSTOMERS}`);
  }
  const genMs = Date.now() - t0;
  const t1 = Date.now();
  for (const ix of indexes.rows) await run(ix.indexdef);
  await run('analyze');
  const indexMs = Date.now() - t1;
  log(`data ${genMs} ms, indexes + analyze ${indexMs} ms`);
  void gw;
  return { genMs, indexMs };
}

async function benchBackend(kind: 'pglite' | 'postgres', log: (s: string) => void): Promise<Table[]> {
  const { db, drop } = await openTarget(kind);
  const gw = await createGateway({ logger: !!process.env.KOE_BENCH_LOG,
    db,
    config: {
      argon2: TEST_ARGON2, jwt: { secret: 'bench-secret-bench-secret-bench-secret-0123' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 }, logLevel: process.env.KOE_BENCH_LOG ? 'error' : 'silent',
    },
  });
  try {
    const orgId = await createOrg(gw.ctx, 'ベンチ株式会社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const { genMs, indexMs } = await generate(db, gw, orgId, (s) => log(`${kind}: ${s}`));
    const counts = await sql<{ customers: number; phones: number }>`select (select count(*) from customers)::int customers, (select count(*) from customer_phones)::int phones`.execute(db);

    // the operator under test: 3 campaigns (0, 1, 2); the admin: all 500
    const opId = await createUser(gw.ctx, { orgId, username: 'bench-operator', displayName: 'ベンチ 太郎', role: 'operator', password: PASSWORD });
    await createUser(gw.ctx, { orgId, username: 'bench-admin', displayName: 'ベンチ 管理者', role: 'admin', password: PASSWORD });
    const mine = [0, 1, 2];
    await sql.raw(`insert into campaign_assignments (user_id, campaign_id, org_id) select '${opId}', ${campaignUuid('c')}, '${orgId}' from unnest(array[${mine.join(',')}]) c`).execute(db);
    const signIn = async (username: string) => {
      const res = await gw.app.inject({ method: 'POST', url: '/auth/sign-in', payload: { username, password: PASSWORD }, remoteAddress: '10.0.0.1' });
      return JSON.parse(res.body).tokens.accessToken as string;
    };
    const opToken = await signIn('bench-operator');
    const adminToken = await signIn('bench-admin');
    const principal = await authenticate(gw.ctx, `Bearer ${opToken}`, '10.0.0.1');
    const adminPrincipal = await authenticate(gw.ctx, `Bearer ${adminToken}`, '10.0.0.1');
    const opScope: CampaignScope = campaignScope(principal);
    const orgScope: CampaignScope = campaignScope(adminPrincipal);

    // numbers to look up: half of them belong to the operator's campaigns (hits), half to others (out of scope)
    const N = 2000;
    const rnd = (k: number) => Math.floor((Math.sin(k * 12.9898) * 43758.5453 - Math.floor(Math.sin(k * 12.9898) * 43758.5453)) * CUSTOMERS);
    const numbers: { e164: string; did: string }[] = [];
    for (let k = 0; numbers.length < N; k++) {
      let i = rnd(k);
      if (numbers.length % 2 === 0) i = i - (i % CAMPAIGNS) + mine[k % mine.length]!; // in scope
      else if (mine.includes(i % CAMPAIGNS)) continue;
      if (i >= CUSTOMERS) continue;
      const campaign = i % CAMPAIGNS;
      numbers.push({ e164: mobileOf(i), did: `+8150${String(campaign).padStart(8, '0')}` });
    }
    const scoped = (i: number) => customersByPhoneQuery(db, opScope, numbers[i % N]!.e164).execute();
    const unscoped = (i: number) =>
      db.selectFrom('customer_phones as p').innerJoin('customers as t', 't.id', 'p.customer_id').selectAll('t')
        .where('p.e164', '=', numbers[i % N]!.e164).orderBy('t.updated_at', 'desc').orderBy('t.id').limit(20).execute();
    const adminScoped = (i: number) => customersByPhoneQuery(db, orgScope, numbers[i % N]!.e164).execute();
    const pop = (i: number) =>
      gw.app.inject({
        method: 'POST', url: '/screen-pop', remoteAddress: '10.0.0.1',
        headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ callId: `${randomUUID()}@bench`, dialledNumber: numbers[i % N]!.did, callerNumber: numbers[i % N]!.e164 }),
      });

    // sanity: the scope really filters
    let hits = 0;
    let unscopedHits = 0;
    for (let i = 0; i < 200; i++) {
      if ((await scoped(i)).length > 0) hits++;
      if ((await unscoped(i)).length > 0) unscopedHits++;
    }
    const popCheck = JSON.parse((await pop(0)).body);
    if (popCheck.status !== 'known') throw new Error(`bench: expected a known caller, got ${JSON.stringify(popCheck)}`);
    log(`${kind}: sanity: scoped hits ${hits}/200, unscoped hits ${unscopedHits}/200`);

    // warm up, then interleave scoped and unscoped blocks so neither gets a warmer cache
    await measure(300, scoped);
    await measure(300, unscoped);
    const rounds = 4;
    const s: Stats[] = [];
    const u: Stats[] = [];
    for (let r = 0; r < rounds; r++) {
      s.push(await measure(N / rounds, (i) => scoped(i + (r * N) / rounds)));
      u.push(await measure(N / rounds, (i) => unscoped(i + (r * N) / rounds)));
    }
    const merge = (l: Stats[]): Stats => ({
      n: l.reduce((a, x) => a + x.n, 0), perSecond: l.reduce((a, x) => a + x.n, 0) / l.reduce((a, x) => a + x.n / x.perSecond, 0),
      p50: l.map((x) => x.p50).sort((a, b) => a - b)[Math.floor(l.length / 2)]!, p99: Math.max(...l.map((x) => x.p99)),
    });
    const scopedStats = merge(s);
    const unscopedStats = merge(u);
    const adminStats = await measure(N, adminScoped);
    log(`${kind}: direct queries done`);
    await measure(100, pop);
    const popStats = await measure(N, pop);
    log(`${kind}: route done`);

    // name search: kana prefix in the operator's 3 campaigns, and in all 500 (admin)
    const prefixes = SURNAMES.map((x) => x[1]!.slice(0, 2)).concat(SURNAMES.map((x) => x[0]!));
    const search = (token: string) => (i: number) =>
      gw.app.inject({ method: 'GET', url: `/customers/search?q=${encodeURIComponent(prefixes[i % prefixes.length]!)}&limit=20`, headers: { authorization: `Bearer ${token}` }, remoteAddress: '10.0.0.1' });
    await measure(20, search(opToken));
    const searchOp = await measure(400, search(opToken));
    const searchAdmin = await measure(200, search(adminToken));

    const row = (what: string, st: Stats, extra: Record<string, string | number> = {}) => ({
      backend: kind, what, n: st.n, 'lookups/s': Math.round(st.perSecond), 'p50 ms': st.p50, 'p99 ms': st.p99, ...extra,
    });
    return [
      {
        title: `screen pop on ${kind}: ${counts.rows[0]!.customers.toLocaleString('en')} customers, ${counts.rows[0]!.phones.toLocaleString('en')} phone rows, ${CAMPAIGNS} campaigns; data ${(genMs / 1000).toFixed(1)} s, indexes + analyze ${(indexMs / 1000).toFixed(1)} s`,
        rows: [
          row('scoped phone query (operator, 3 campaigns)', scopedStats, { 'vs unscoped (p50)': `${(scopedStats.p50 / unscopedStats.p50).toFixed(2)}x` }),
          row('unscoped phone query (same numbers)', unscopedStats, { 'vs unscoped (p50)': '1.00x' }),
          row('scoped phone query (admin, whole org)', adminStats, { 'vs unscoped (p50)': `${(adminStats.p50 / unscopedStats.p50).toFixed(2)}x` }),
          row('POST /screen-pop via app.inject (operator)', popStats, { 'vs unscoped (p50)': `${(popStats.p50 / unscopedStats.p50).toFixed(2)}x` }),
          row('GET /customers/search kana/kanji prefix (operator)', searchOp),
          row('GET /customers/search kana/kanji prefix (admin, 500 campaigns)', searchAdmin),
        ],
      },
    ];
  } finally {
    await gw.close();
    await drop();
  }
}

export default onEachBackend(benchBackend);
