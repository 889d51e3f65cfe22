// Fuzz of the whole gateway surface with hostile text, on both backends: every route of
// ROUTES and every WebSocket client message type, each string-ish field of its body, query
// and path parameters (found by walking the zod schemas, so a new route or field is fuzzed
// without touching this file), sent as admin, operator and unauthenticated.
//
// The gateway runs in a child process (`tsx server/cli.ts serve`, as an operator runs it) on
// a database seeded here, so a crash is a process exit this test sees: requests start failing
// with a connection error naming the exit, and the end asserts the process is alive and
// /health answers. Every HTTP answer must be 2xx (valid input) or 4xx with
// {error:{code,message}} and a code of ERROR_CODES; never 5xx. Every hostile WebSocket
// message must get a typed error (never internal_error), a valid answer, or a 44xx close, and
// the process goes on. The gateway must log no error at all, and the audit chain must verify.
// Attempts per hostile class are printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROUTES, WsClientMessage, type RouteSpec } from '../../../shared/gateway/api';
import { ERROR_CODES } from '../../../shared/gateway/errors';
import { audit, toAuditView, verifyAuditChain } from '../../../server/audit/audit';
import { systemClock } from '../../../server/clock';
import { parseConfig, TEST_ARGON2, type GatewayConfigInput } from '../../../server/config';
import { createContext } from '../../../server/context';
import { openDatabase } from '../../../server/db/connect';
import { migrateToLatest } from '../../../server/db/migrations';
import type { Db } from '../../../server/db/schema';
import { createOrg, createUser } from '../../../server/orgs';
import { BACKENDS, newDeviceKey, openBackend, PASSWORD, signChallenge, type Backend, type DeviceKey } from './harness';
import { GatewayTestClient } from '../../support/gateway-client';
import { pct } from '../../support/fuzz';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const JWT_SECRET = 'fuzz-secret-fuzz-secret-fuzz-secret-0123456789';
const ROUTE_SECRET = 'R'.repeat(40);
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';
const DID = '+81312345678';
const CALLER = '+819012345678';
const CALL_ID = 'fuzz-call-1@koe.test';

// ---------------------------------------------------------------------------- hostile values
/** One hostile value: `value` goes into JSON bodies and WS messages; `raw` replaces its JSON text where JSON cannot say it (1e400); `q` is the raw (already %-encoded) form for query strings and paths where it differs. */
interface Hostile {
  cls: string;
  value: unknown;
  raw?: string;
  q?: string;
}
/**
 * Classes about one kind of field get all their values there and one value elsewhere (where
 * they are just more text): cursors, numbers written as text, ids.
 */
const FOCUS: Record<string, RegExp> = {
  'malformed cursor': /cursor|before/i,
  'number text': /limit|cursor|before|seconds|minutes|hours/i,
  'non-UUID/unknown id': /(^id|Id|Ids)$/,
  'edge date': /At$|^since$|^from$|^to$|Dates$/,
};
const firstOfClass = (list: Hostile[]) => list.filter((h, i) => list.findIndex((x) => x.cls === h.cls) === i);
/** The values for a field named `name` out of `values`. */
function focused(values: Hostile[], name: string): Hostile[] {
  const first = new Set(firstOfClass(values));
  return values.filter((h) => first.has(h) || !FOCUS[h.cls] || FOCUS[h.cls]!.test(name));
}
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const nest = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const HOSTILE: Hostile[] = [
  ...['a\u0000b', '\u0000', '佐藤\u0000花子'].map((value) => ({ cls: 'NUL', value })),
  ...['\u0001', '\b', '\u001b[2J', 'a\tb', 'a\nb', 'a\r\nb', '\u000b'].map((value) => ({ cls: 'C0 control', value })),
  ...['\u007f', '\u0085', '\u009b'].map((value) => ({ cls: 'DEL/C1 control', value })),
  ...['a\ud800b', '\udbff'].map((value) => ({ cls: 'lone high surrogate', value })),
  ...['a\udc00b', '\udfff'].map((value) => ({ cls: 'lone low surrogate', value })),
  ...['\uffff', '\ufffe', '\ufdd0', 'x\ud83f\udffe'].map((value) => ({ cls: 'noncharacter', value })),
  ...['abc\u202edcba', '\u2066x\u2069', '\u200f'].map((value) => ({ cls: 'bidi control', value })),
  ...['x'.repeat(10_000), 'あ'.repeat(10_000), '🙇'.repeat(5_000)].map((value) => ({ cls: '10k characters', value })),
  ...["'; DROP TABLE users; --", "' OR '1'='1", "Robert'); DROP TABLE customers;--"].map((value) => ({ cls: 'SQL', value })),
  { cls: '%-escapes', value: '%00', q: '%00' },
  { cls: '%-escapes', value: '%00', q: '%2500' },
  { cls: '%-escapes', value: '%zz%', q: '%zz%' },
  { cls: '%-escapes', value: '\u0000', q: '%C0%80' },
  { cls: '%-escapes', value: '\ufffd', q: '%FF%FE' },
  ...['\\u0000', '\\x00', '\\'].map((value) => ({ cls: 'escaped NUL text', value })),
  ...['', ' ', '\u3000'].map((value) => ({ cls: 'empty/blank', value })),
  ...[-1, 1.5, 1e308, 9007199254740993, -1e308].map((value) => ({ cls: 'number', value })),
  { cls: 'number', value: null, raw: '1e400', q: '1e400' },
  { cls: 'number', value: null, raw: '-1e400', q: '-1e400' },
  ...[true, false, null].map((value) => ({ cls: 'boolean/null', value })),
  ...[[], ['a'], [['\u0000']]].map((value) => ({ cls: 'array', value })),
  { cls: 'object', value: {} },
  { cls: 'object', value: { a: 'b' } },
  { cls: 'object', value: null, raw: '{"__proto__":{"isAdmin":true}}' },
  { cls: 'object', value: null, raw: '{"constructor":{"prototype":{"isAdmin":true}}}' },
  { cls: 'JSON nesting', value: null, raw: nest(2_000), q: encodeURIComponent(nest(200)) },
  { cls: 'JSON nesting', value: null, raw: `${'['.repeat(5_000)}${']'.repeat(5_000)}` },
  ...['not-a-uuid', '00000000-0000-0000-0000-00000000000g', '../../etc/passwd', '00000000-0000-0000-0000-000000000000', randomUUID().toUpperCase()].map((value) => ({ cls: 'non-UUID/unknown id', value })),
  ...['-1', '99999999999999999999999', '1e309', 'NaN', 'Infinity', '0x10', ' 1'].map((value) => ({ cls: 'number text', value })),
  ...[
    b64('x|y'),
    b64('2026-01-01T00:00:00.000Z|------------------------------------'),
    b64('0000-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000'),
    b64('+275760-09-13T00:00:00.000Z|00000000-0000-4000-8000-000000000000'),
    b64('2026-02-31T00:00:00.000Z|00000000-0000-4000-8000-000000000000'),
    b64('2026-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000\u0000'),
    b64('\u0000'.repeat(40)),
    'AAAA',
    '!!!',
  ].map((value) => ({ cls: 'malformed cursor', value })),
  ...['0000-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00+23:59', '1969-12-31T23:59:59.999999999Z'].map((value) => ({ cls: 'edge date', value })),
  ...['テスト', 'お客様 🙇 カード 4111 1111 1111 1111', 'ｻﾄｳ ﾊﾅｺ'].map((value) => ({ cls: 'valid text', value })),
];
const HOSTILE_KEYS: Hostile[] = HOSTILE.filter((h) => typeof h.value === 'string' && !h.raw).concat([
  { cls: 'proto key', value: '__proto__' },
  { cls: 'proto key', value: 'constructor' },
  { cls: 'proto key', value: 'prototype' },
]);
const rawJson = (h: Hostile) => h.raw ?? JSON.stringify(h.value);

/** Query-string form of `key=value`: arrays repeat the key, objects use key[sub]=. */
function queryPart(key: string, h: Hostile): string {
  if (h.q !== undefined) return `${pct(key)}=${h.q}`;
  const v = h.value;
  if (Array.isArray(v)) return v.length ? v.map((x) => `${pct(key)}=${pct(String(x))}`).join('&') : `${pct(key)}[]=`;
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${pct(key)}[${pct(k)}]=${pct(String(x))}`).join('&') || `${pct(key)}[]=`;
  return `${pct(key)}=${pct(String(v))}`;
}
const pathPart = (h: Hostile) => (h.q !== undefined ? h.q : pct(typeof h.value === 'string' ? h.value : rawJson(h)));

// ---------------------------------------------------------------------------- schema walking
type Seg = string | number | typeof KEY;
const KEY = Symbol('record key');
const PLACEHOLDER = '\u2063fuzz-placeholder\u2063';
interface Leaf {
  path: Seg[];
  key: boolean;
  /** Where text goes (strings, enums, unions with a string): every hostile value; elsewhere one per class. */
  text: boolean;
  /** Unions of objects on the way (a WebSocket intent): the variant this leaf belongs to, by the union's path. */
  variants?: Record<string, any>;
}
const def = (s: any): any => s._zod.def;
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);
function unwrap(s: any): any {
  for (;;) {
    const d = def(s);
    if (WRAPPERS.has(d.type)) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else return s;
  }
}
/** Every leaf of a schema (and every record key), where a hostile value can go. */
function leaves(schema: any, path: Seg[] = [], out: Leaf[] = []): Leaf[] {
  const s = unwrap(schema);
  const d = def(s);
  if (d.type === 'object') {
    // Siblings with the same schema (the seven weekdays of business hours) are one field to a
    // fuzz: the first of them stands for the rest.
    const seen = new Set<string>();
    for (const [k, v] of Object.entries(d.shape)) {
      const signature = JSON.stringify(z.toJSONSchema(v as z.ZodType, { io: 'input', unrepresentable: 'any' }));
      if (seen.has(signature) && def(unwrap(v)).type !== 'string') continue;
      seen.add(signature);
      leaves(v, [...path, k], out);
    }
  } else if (d.type === 'array') {
    leaves(d.element, [...path, 0], out);
  } else if (d.type === 'record') {
    out.push({ path: [...path, KEY], key: true, text: true });
    leaves(d.valueType, [...path, 'fuzz-field'], out);
  } else if (d.type === 'union' && d.options.some((o: any) => def(unwrap(o)).type === 'object')) {
    for (const o of d.options) {
      const start = out.length;
      leaves(o, path, out);
      for (const leaf of out.slice(start)) leaf.variants = { ...leaf.variants, [JSON.stringify(path)]: o };
    }
  } else {
    const kinds = d.type === 'union' ? d.options.map((o: any) => def(unwrap(o)).type) : [d.type];
    out.push({ path, key: false, text: kinds.some((k: string) => k === 'string' || k === 'enum' || k === 'literal') });
  }
  return out;
}
function childSchema(schema: any, seg: Seg): any {
  const d = def(unwrap(schema));
  if (d.type === 'object') return d.shape[seg as string];
  if (d.type === 'array') return d.element;
  if (d.type === 'record') return d.valueType;
  throw new Error(`no child ${String(seg)} in ${d.type}`);
}

/** Values for required fields, by field name; functions run per attempt (unique names). */
type Baselines = Record<string, unknown | (() => unknown)>;
function baseline(schema: any, name: string, named: Baselines, force = false): unknown {
  const d = def(schema);
  if (!force && (d.type === 'optional' || d.type === 'default' || d.type === 'prefault')) return undefined;
  const shape = def(unwrap(schema)).type;
  const given = named[name];
  // a named value only where its shape fits (the policy's `password` section is not a password)
  if (name in named && (shape === 'object') === (given !== null && typeof given === 'object' && !Array.isArray(given))) {
    const v = given;
    return typeof v === 'function' ? (v as () => unknown)() : structuredClone(v);
  }
  if (WRAPPERS.has(d.type)) return baseline(d.innerType, name, named, true);
  if (d.type === 'pipe') return baseline(d.in, name, named, true);
  switch (d.type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d.shape)) {
        const b = baseline(v, k, named);
        if (b !== undefined) o[k] = b;
      }
      return o;
    }
    case 'array':
      return [];
    case 'record':
      return {};
    case 'string':
      if (d.format === 'uuid') return randomUUID();
      if (d.format === 'email') return 'fuzz@example.jp';
      if (d.format === 'datetime') return new Date().toISOString();
      return 'テスト';
    case 'enum':
      return Object.values(d.entries)[0];
    case 'literal':
      return d.values[0];
    case 'number':
      return 1;
    case 'boolean':
      return false;
    case 'union':
      return baseline(d.options[0], name, named, true);
    default:
      return undefined;
  }
}
/** `root` with the placeholder at `path`; missing containers on the way are built from their schemas. */
function withPlaceholder(schema: any, root: unknown, path: Seg[], named: Baselines, variants: Record<string, any> = {}): unknown {
  const top = root === undefined ? baseline(schema, '', named, true) : root;
  let node: any = top;
  let s = schema;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (seg === KEY) {
      node[PLACEHOLDER] = baseline(childSchema(s, 'x'), 'fuzz-field', named, true) ?? 'テスト';
      return top;
    }
    let child = childSchema(s, seg);
    if (last) {
      node[seg as string | number] = PLACEHOLDER;
      return top;
    }
    // a union of objects on the way: the leaf's own variant, built from its baseline
    const variant = variants[JSON.stringify(path.slice(0, i + 1))];
    if (variant) {
      child = variant;
      node[seg as string | number] = baseline(variant, String(seg), named, true);
    }
    if (node[seg as string | number] === undefined) node[seg as string | number] = baseline(child, String(seg), named, true);
    const next = node[seg as string | number];
    // an array on the way: its first element is where the path goes
    if (Array.isArray(next) && next.length === 0) next.push(baseline(childSchema(child, 0), '', named, true));
    node = next;
    s = child;
  }
  return top;
}
/** JSON text of `obj` with the placeholder (value or key) replaced by the hostile value's JSON. */
function bodyText(obj: unknown, h: Hostile): string {
  return JSON.stringify(obj).split(JSON.stringify(PLACEHOLDER)).join(rawJson(h));
}
const pathName = (p: Seg[]) => p.map((s) => (s === KEY ? '<key>' : String(s))).join('.') || '<root>';

// ---------------------------------------------------------------------------- bookkeeping
interface ClassCount {
  attempts: number;
  ok: number;
  refused: number;
}
class Counts {
  readonly byClass = new Map<string, ClassCount>();
  readonly byCode = new Map<string, number>();
  add(cls: string, status: 'ok' | 'refused', code?: string) {
    const c = this.byClass.get(cls) ?? { attempts: 0, ok: 0, refused: 0 };
    c.attempts++;
    c[status]++;
    this.byClass.set(cls, c);
    if (code) this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }
  total() {
    return [...this.byClass.values()].reduce((n, c) => n + c.attempts, 0);
  }
  table(title: string): string {
    const rows = [...this.byClass.entries()].map(([cls, c]) => `  ${cls.padEnd(22)} ${String(c.attempts).padStart(6)} attempts  ${String(c.ok).padStart(5)} accepted  ${String(c.refused).padStart(6)} refused`);
    const codes = [...this.byCode.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}:${n}`).join(' ');
    return `${title}: ${this.total()} attempts\n${rows.join('\n')}\n  codes: ${codes}`;
  }
}

// ---------------------------------------------------------------------------- the gateway process
interface Running {
  child: ChildProcess;
  base: string;
  output: string[];
  exited: { code: number | null; signal: string | null } | null;
}
async function startGateway(env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(TSX, ['server/cli.ts', 'serve', '--port', '0', '--host', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Running = { child, base: '', output: [], exited: null };
  const lines = (chunk: Buffer) => run.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', lines);
  child.stderr!.on('data', lines);
  child.on('exit', (code, signal) => (run.exited = { code, signal }));
  const started = Date.now();
  while (!run.base) {
    if (run.exited) throw new Error(`gateway exited during start-up (${JSON.stringify(run.exited)}):\n${run.output.join('\n')}`);
    if (Date.now() - started > 90_000) throw new Error(`gateway did not start:\n${run.output.join('\n')}`);
    const m = run.output.map((l) => /koe gateway (http:\/\/\S+)/.exec(l)).find(Boolean);
    if (m) run.base = m[1]!;
    else await new Promise((r) => setTimeout(r, 100));
  }
  return run;
}
async function stopGateway(run: Running): Promise<void> {
  if (run.exited) return;
  const done = new Promise((r) => run.child.once('exit', r));
  run.child.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
  if (!run.exited) run.child.kill('SIGKILL');
}

interface Fixture {
  backend: Backend;
  run: Running;
  db: () => Promise<Db>;
  cleanup: () => Promise<void>;
  orgId: string;
  users: Record<'admin' | 'operator' | 'victim' | 'signer' | 'doomed', { id: string; username: string; device: DeviceKey }>;
}

async function seed(backend: Backend): Promise<Fixture> {
  const config: GatewayConfigInput = {
    jwt: { secret: JWT_SECRET },
    argon2: TEST_ARGON2,
    authRateLimit: { capacity: 1_000_000_000, refillPerMinute: 1_000_000_000 },
    ipFailureLimit: { maxFailures: 1_000_000_000, windowMinutes: 1 },
    logLevel: 'error',
    sip: { authephSecrets: ['S'.repeat(40)], routeSecret: ROUTE_SECRET },
  };
  const dir = mkdtempSync(join(tmpdir(), 'koe-fuzz-'));
  const configFile = join(dir, 'gateway.json');
  writeFileSync(configFile, JSON.stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, KOE_GATEWAY_CONFIG: configFile };
  delete env.DATABASE_URL;
  let db: Db;
  let reopen: () => Promise<Db>;
  let drop: () => Promise<void>;
  if (backend === 'postgres') {
    const b = await openBackend('postgres');
    db = b.db;
    env.DATABASE_URL = b.url;
    reopen = () => openDatabase({ kind: 'postgres', url: b.url!, poolSize: 2 });
    drop = b.drop;
  } else {
    const dataDir = join(dir, 'data');
    db = await openDatabase({ kind: 'pglite', dataDir });
    env.KOE_GATEWAY_DATA_DIR = dataDir;
    reopen = () => openDatabase({ kind: 'pglite', dataDir });
    drop = async () => {};
  }
  await migrateToLatest(db);
  const ctx = await createContext(db, parseConfig(config), systemClock);
  // No TOTP (not what this test is about); lockout high enough that the fuzz's wrong
  // passwords do not lock the accounts it signs in with.
  const orgId = await createOrg(ctx, 'ファズ株式会社', { totpRequiredRoles: [], lockout: { maxFailures: 100, windowMinutes: 1, lockMinutes: 1 } });
  const hash = await ctx.hasher.hash(PASSWORD);
  const mk = async (role: string, username: string) => ({
    id: await createUser(ctx, { orgId, username, displayName: `ファズ ${username}`, role, password: PASSWORD, passwordHash: hash }),
    username,
    device: newDeviceKey(`PC of ${username}`),
  });
  const users = {
    admin: await mk('admin', 'fuzz-admin'),
    operator: await mk('operator', 'fuzz-operator'),
    victim: await mk('operator', 'fuzz-victim'),
    signer: await mk('operator', 'fuzz-signer'),
    // DELETE /admin/users/:id's real row: deleting is for good (a tombstone), so not the victim the other routes need
    doomed: await mk('operator', 'fuzz-doomed'),
  };
  await db.destroy(); // PGlite: one process per data directory; the gateway opens it next
  const run = await startGateway(env);
  return {
    backend,
    run,
    orgId,
    users,
    db: reopen,
    cleanup: async () => {
      await stopGateway(run);
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------- the suite
describe.each(BACKENDS)('fuzz of every route and WebSocket message on %s', (backend) => {
  let fx: Fixture;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const http = new Counts();
  const ws = new Counts();
  let resignIns = 0;

  const client = GatewayTestClient.http(() => fx.run.base, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
  /** A request through the one test client; the body is sent as it is (every answer must be JSON: checked by the callers). */
  async function send(method: string, url: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
    if (fx.run.exited) throw new Error(`the gateway process exited (${JSON.stringify(fx.run.exited)}) before ${method} ${url.slice(0, 200)}:\n${fx.run.output.slice(-40).join('\n')}`);
    try {
      const res = await client.req(method, url, { token: opts.token, ...(opts.body !== undefined ? { raw: opts.body } : {}), ...(opts.headers ? { headers: opts.headers } : {}) });
      return { status: res.status, body: res.body };
    } catch (err) {
      await new Promise((r) => setTimeout(r, 300));
      throw new Error(`${method} ${url.slice(0, 200)}: no answer (${(err as Error).message}); gateway process: ${JSON.stringify(fx.run.exited ?? 'running')}\n${fx.run.output.slice(-40).join('\n')}`);
    }
  }

  async function signIn(user: Fixture['users']['admin']): Promise<{ accessToken: string; sessionId: string }> {
    const ch = await send('POST', '/auth/challenge', { body: JSON.stringify({ username: user.username, purpose: 'sign-in' }) });
    const device = { publicKey: user.device.publicKey, name: user.device.name, challenge: ch.body.challenge, signature: signChallenge(user.device, 'sign-in', user.username, ch.body.challenge) };
    const res = await send('POST', '/auth/sign-in', { body: JSON.stringify({ username: user.username, password: PASSWORD, device }) });
    if (res.status !== 200) throw new Error(`sign-in of ${user.username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.tokens;
  }

  beforeAll(async () => {
    fx = await seed(backend);
    tokens.admin = (await signIn(fx.users.admin)).accessToken;
    tokens.operator = (await signIn(fx.users.operator)).accessToken;
    await signIn(fx.users.victim);
    const admin = { token: tokens.admin };
    const ok = async (p: Promise<{ status: number; body: any }>) => {
      const r = await p;
      if (r.status !== 200) throw new Error(`seeding failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const campaign = await ok(send('POST', '/campaigns', { ...admin, body: JSON.stringify({ name: 'ファズ', dids: [DID], hours: { timeZone: 'Asia/Tokyo', weekly: {} }, dispositions: ['完了', '折り返し'] }) }));
    ids.campaign = campaign.id;
    await ok(send('PUT', `/campaigns/${campaign.id}/assignments`, { ...admin, body: JSON.stringify({ userIds: [fx.users.admin.id, fx.users.operator.id, fx.users.victim.id] }) }));
    ids.customer = (await ok(send('POST', '/customers', { ...admin, body: JSON.stringify({ campaignId: campaign.id, nameKanji: '佐藤 花子', nameKana: 'サトウ ハナコ', phones: [CALLER] }) }))).id;
    for (const t of [tokens.admin, tokens.operator]) {
      await ok(send('POST', '/screen-pop', { token: t, body: JSON.stringify({ callId: CALL_ID, dialledNumber: DID, callerNumber: CALLER }) }));
    }
    ids.note = (await ok(send('POST', '/notes', { ...admin, body: JSON.stringify({ clientNoteId: randomUUID(), customerId: ids.customer, body: 'メモ' }) }))).id;
    ids.team = (await ok(send('POST', '/admin/teams', { ...admin, body: JSON.stringify({ name: 'ファズチーム' }) }))).id;
    ids.role = (await ok(send('POST', '/admin/roles', { ...admin, body: JSON.stringify({ key: 'fuzz_role', name: 'ファズ', permissions: [] }) }))).id;
    const devices = await ok(send('GET', `/admin/devices?userId=${fx.users.victim.id}`, admin));
    ids.device = devices.devices[0].id;
    ids.alert = (await ok(send('GET', '/admin/alerts', admin))).alerts[0].id;
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  /** Per route: the path parameter values that name real rows (deeper than a 404). */
  const paramFor = (path: string, name: string, method?: string): string => {
    if (name === 'callId') return CALL_ID;
    if (method === 'DELETE' && path === '/admin/users/:id') return fx.users.doomed.id;
    if (path.startsWith('/admin/users/')) return fx.users.victim.id;
    if (path.startsWith('/admin/devices/')) return ids.device!;
    if (path.startsWith('/admin/alerts/')) return ids.alert!;
    if (path.startsWith('/admin/roles/')) return ids.role!;
    if (path.startsWith('/admin/teams/')) return ids.team!;
    if (path.startsWith('/campaigns/')) return ids.campaign!;
    if (path.startsWith('/customers/')) return ids.customer!;
    if (path.startsWith('/notes/')) return ids.note!;
    return randomUUID();
  };
  let unique = 0;
  const named = (role: string): Baselines => ({
    username: (): string => (role === 'signIn' ? fx.users.signer.username : `fuzz-u-${++unique}`),
    password: PASSWORD,
    currentPassword: PASSWORD,
    newPassword: PASSWORD,
    displayName: 'ファズ 太郎',
    role: 'operator',
    key: () => `fz_${++unique}`,
    name: () => `ファズ ${++unique}`,
    permissions: [],
    dispositions: ['完了'],
    hours: { timeZone: 'Asia/Tokyo', weekly: {} },
    timeZone: 'Asia/Tokyo',
    campaignId: ids.campaign,
    customerId: ids.customer,
    clientNoteId: () => randomUUID(),
    body: 'ファズのメモ',
    callId: CALL_ID,
    callerNumber: CALLER,
    dialledNumber: DID,
    did: DID,
    from: CALLER,
    phone: CALLER,
    q: '佐藤',
    sdp: SDP,
    refreshToken: 'r'.repeat(43),
    publicKey: fx.users.signer.device.publicKey,
    challenge: 'c'.repeat(43),
    signature: 's'.repeat(86),
    purpose: 'sign-in',
    code: '123456',
    state: 'not_ready',
    reason: role === 'ws' ? '休憩' : 'idle',
    accessToken: tokens[role] ?? 'x.y.z',
    open: true,
    mode: 'monitor',
  });
  /** Route-specific set-up of one attempt: sign-ins with a device proof get a real challenge and signature (the device reset first, so the name is a first sign-in's). */
  const unlock = async (role: 'admin' | 'operator' | 'none') => {
    if (role !== 'none') await send('POST', `/admin/users/${fx.users[role].id}/unlock`, { token: tokens.admin });
  };
  const prepare: Partial<Record<string, (body: any, role: 'admin' | 'operator' | 'none') => Promise<void>>> = {
    // Wrong passwords here count toward the lockout of the user the fuzz signs in as: the
    // count starts again before each attempt (a lockout at /me/reverify also ends the session).
    reverify: async (_body, role) => unlock(role),
    changePassword: async (_body, role) => unlock(role),
    totpDisable: async (_body, role) => unlock(role),
    signIn: async (body) => {
      await send('POST', `/admin/users/${fx.users.signer.id}/unlock`, { token: tokens.admin });
      const d = body?.device;
      if (!d || typeof d !== 'object' || d.challenge === PLACEHOLDER || d.signature === PLACEHOLDER || d.publicKey === PLACEHOLDER) return;
      await send('POST', `/admin/users/${fx.users.signer.id}/devices/reset`, { token: tokens.admin });
      const ch = await send('POST', '/auth/challenge', { body: JSON.stringify({ username: fx.users.signer.username, purpose: 'sign-in' }) });
      d.challenge = ch.body.challenge;
      d.signature = signChallenge(fx.users.signer.device, 'sign-in', fx.users.signer.username, ch.body.challenge);
    },
  };

  /**
   * Every hostile value as admin (every permission, so every handler runs) and on public
   * routes; one value per class as operator (the same validation, then the operator's own
   * rows or a 403) and unauthenticated elsewhere (validation, then 401). Keeps a backend's
   * run near a minute on two cores.
   */
  // Kamailio's routes: every request carries its secret (the client above), so every role reaches their handlers
  const roleGetsFullFuzz = (role: 'admin' | 'operator' | 'none', spec: RouteSpec) => role === 'admin' || spec.auth === null || spec.auth === 'kamailio';
  /** The first value of each class: what a role gets on a route it cannot use (validation runs first; then 401/403). */
  const SAMPLE = HOSTILE.filter((h, i) => HOSTILE.findIndex((x) => x.cls === h.cls) === i);
  /** Unknown keys (strict objects refuse any): one per class. */
  const KEY_SAMPLE = HOSTILE_KEYS.filter((h, i) => HOSTILE_KEYS.findIndex((x) => x.cls === h.cls) === i);
  const keysFor = (values: Hostile[]) => (values === HOSTILE ? HOSTILE_KEYS : KEY_SAMPLE);

  function check(res: { status: number; body: any }, what: string, cls: string, counts: Counts) {
    const detail = `${what} [${cls}] -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
    expect(res.status, detail).toBeLessThan(500);
    expect([2, 4], detail).toContain(Math.floor(res.status / 100));
    if (res.status >= 400) {
      expect(res.body, detail).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
      expect(ERROR_CODES, detail).toContain(res.body.error.code);
      counts.add(cls, 'refused', res.body.error.code);
    } else counts.add(cls, 'ok');
  }

  /** Runs `jobs` with a few in flight (the gateway has a pool; PGlite serialises). */
  async function pool(jobs: (() => Promise<void>)[], width = 4) {
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
  }

  async function tokenFor(role: 'admin' | 'operator' | 'none'): Promise<string | undefined> {
    return role === 'none' ? undefined : tokens[role];
  }
  /** A fuzz attempt may legitimately end the session it used (a lockout at /me/reverify): sign in again. */
  async function afterAttempt(role: 'admin' | 'operator' | 'none', res: { body: any }) {
    const code = res.body?.error?.code;
    if (role !== 'none' && (code === 'session_revoked' || code === 'session_expired' || code === 'token_expired')) {
      resignIns++;
      tokens[role] = (await signIn(fx.users[role])).accessToken;
    }
  }

  it('answers every hostile value in every field of every route with a typed 4xx (or 2xx when valid), never 5xx', async () => {
    const jobs: (() => Promise<void>)[] = [];
    const specs = Object.entries(ROUTES) as [string, RouteSpec][];
    for (const role of ['admin', 'operator', 'none'] as const) {
      for (const [name, spec] of specs) {
        const values = roleGetsFullFuzz(role, spec) ? HOSTILE : SAMPLE;
        const names = named(name === 'signIn' ? 'signIn' : role);
        const paramNames = [...spec.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
        const url = (override?: { name: string; h: Hostile }, query?: string) => {
          const path = spec.path.replace(/:(\w+)/g, (_m, p: string) => (override?.name === p ? pathPart(override.h) : encodeURIComponent(paramFor(spec.path, p, spec.method))));
          return query ? `${path}?${query}` : path;
        };
        const queryBase = (): Record<string, string> => {
          const b = spec.query ? (baseline(spec.query, '', names, true) as Record<string, unknown>) : {};
          return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, String(v)]));
        };
        const baseQuery = () => new URLSearchParams(queryBase()).toString();
        const bodyBase = () => (spec.body ? baseline(spec.body, '', names, true) : undefined);
        const attempt = (what: string, cls: string, make: () => Promise<{ method: string; url: string; body?: string }>) =>
          jobs.push(async () => {
            const r = await make();
            const res = await send(r.method, r.url, { token: await tokenFor(role), ...(r.body !== undefined ? { body: r.body } : {}) });
            check(res, `${role} ${spec.method} ${spec.path} ${what}`, cls, http);
            await afterAttempt(role, res);
          });
        const baseBodyText = () => {
          const b = bodyBase();
          return b === undefined ? undefined : JSON.stringify(b);
        };

        // path parameters
        for (const p of paramNames) {
          for (const h of focused(values, p)) attempt(`params.${p}`, h.cls, async () => ({ method: spec.method, url: url({ name: p, h }, baseQuery()), body: baseBodyText() }));
        }
        // query fields (and a hostile unknown key)
        const queryLeaves = spec.query ? leaves(spec.query).filter((l) => !l.key) : [];
        for (const leaf of queryLeaves) {
          const k = String(leaf.path[0]);
          for (const h of leaf.text ? focused(values, k) : SAMPLE) {
            attempt(`query.${k}`, h.cls, async () => {
              const rest = queryBase();
              delete rest[k];
              const q = [new URLSearchParams(rest).toString(), queryPart(k, h)].filter(Boolean).join('&');
              return { method: spec.method, url: url(undefined, q), body: baseBodyText() };
            });
          }
        }
        for (const h of KEY_SAMPLE) {
          attempt('query.<unknown key>', `${h.cls} (as key)`, async () => ({ method: spec.method, url: url(undefined, [baseQuery(), queryPart(typeof h.value === 'string' ? h.value || 'k' : 'k', { cls: h.cls, value: 'x' })].filter(Boolean).join('&')), body: baseBodyText() }));
        }
        // body fields, record keys, and a hostile unknown key; routes without a body get hostile bodies
        const bodyLeaves: Leaf[] = spec.body ? leaves(spec.body) : spec.method === 'GET' ? [] : [{ path: [], key: false, text: true }];
        for (const leaf of bodyLeaves) {
          for (const h of leaf.key ? keysFor(values) : leaf.text ? focused(values, String(leaf.path.filter((x) => typeof x === 'string').at(-1) ?? '')) : SAMPLE) {
            attempt(`body.${pathName(leaf.path)}`, leaf.key ? `${h.cls} (as key)` : h.cls, async () => {
              const obj = spec.body ? withPlaceholder(spec.body, bodyBase(), leaf.path, names, leaf.variants) : PLACEHOLDER;
              await prepare[name]?.(obj, role);
              const text = leaf.key
                ? JSON.stringify(obj).split(JSON.stringify(PLACEHOLDER)).join(JSON.stringify(h.value))
                : bodyText(obj, h);
              return { method: spec.method, url: url(undefined, baseQuery()), body: text };
            });
          }
        }
        if (spec.body) {
          for (const h of KEY_SAMPLE) {
            attempt('body.<unknown key>', `${h.cls} (as key)`, async () => {
              const obj = { ...(bodyBase() as object), [PLACEHOLDER]: 1 };
              return { method: spec.method, url: url(undefined, baseQuery()), body: JSON.stringify(obj).split(JSON.stringify(PLACEHOLDER)).join(JSON.stringify(h.value)) };
            });
          }
        }
      }
    }
    // Every combination runs once, on one of the backends: each takes every BACKENDS.length-th
    // job (interleaved, so each backend sees every route, role and kind of hostile value). Both
    // whole sweeps took 233 s of the suite's budget; the gateway code under them is the same.
    const mine = jobs.filter((_, i) => i % BACKENDS.length === BACKENDS.indexOf(backend));
    const started = Date.now();
    await pool(mine);
    const seconds = (Date.now() - started) / 1000;
    console.log(`${http.table(`HTTP fuzz on ${backend}`)}\n  ${mine.length} of ${jobs.length} requests (the rest on the other backend) in ${seconds.toFixed(1)} s; sessions re-signed-in: ${resignIns}`);
    expect(http.total()).toBe(mine.length);
    expect((await send('GET', '/health')).status).toBe(200);
  });

  it('answers every hostile value in every WebSocket client message with a typed error, an answer or a 44xx close; the socket and the process survive', async () => {
    const base = fx.run.base.replace(/^http/, 'ws');
    const options = def(WsClientMessage).options as any[];
    interface Conn {
      socket: WebSocket;
      inbox: any[];
      closed: number | null;
      wake: (() => void) | null;
    }
    const open = async (): Promise<Conn> => {
      const socket = new WebSocket(`${base}/ws`);
      const c: Conn = { socket, inbox: [], closed: null, wake: null };
      socket.on('message', (d) => {
        c.inbox.push(JSON.parse(d.toString()));
        c.wake?.();
      });
      socket.on('close', (code) => {
        c.closed = code;
        c.wake?.();
      });
      socket.on('error', () => undefined); // the close event carries what matters
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', (e) => reject(new Error(`ws connect failed (${e.message}); gateway process: ${JSON.stringify(fx.run.exited ?? 'running')}`)));
      });
      return c;
    };
    /** Waits until `done(c)` or the socket closes; fails after 10 s. */
    const until = async (c: Conn, done: () => boolean, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!done() && c.closed === null) {
        if (Date.now() > deadline) throw new Error(`${what}: no answer and no close within 10 s; inbox ${JSON.stringify(c.inbox).slice(0, 300)}; gateway: ${JSON.stringify(fx.run.exited ?? 'running')}`);
        await new Promise<void>((r) => {
          c.wake = r;
          setTimeout(r, 200);
        });
      }
    };
    const authed = async (role: 'admin' | 'operator'): Promise<Conn> => {
      const c = await open();
      c.socket.send(JSON.stringify({ type: 'auth', accessToken: tokens[role] }));
      await until(c, () => c.inbox.some((m) => m.type === 'ready'), `${role} ws auth`);
      if (!c.inbox.some((m) => m.type === 'ready')) {
        tokens[role] = (await signIn(fx.users[role])).accessToken;
        return authed(role);
      }
      c.inbox.length = 0;
      return c;
    };
    const conns: Partial<Record<'admin' | 'operator', Conn>> = {};
    let probe = 0;

    /** Sends one frame and a ping probe; everything that comes back is checked. */
    async function attempt(role: 'admin' | 'operator' | 'none', what: string, cls: string, frame: string | Buffer, fresh: boolean) {
      let c: Conn;
      if (role === 'none' || fresh) c = await open();
      else c = conns[role] && conns[role]!.closed === null ? conns[role]! : (conns[role] = await authed(role));
      const id = `probe-${++probe}`;
      if (typeof frame === 'string') c.socket.send(frame);
      else c.socket.send(frame, { binary: what !== 'invalid UTF-8 text frame' });
      if (c.closed === null && c.socket.readyState === WebSocket.OPEN) c.socket.send(JSON.stringify({ type: 'ping', id }));
      await until(c, () => c.inbox.some((m) => m.type === 'pong' && m.id === id), `${role} ${what} [${cls}]`);
      const detail = `${role} ${what} [${cls}]: ${JSON.stringify(c.inbox).slice(0, 400)} close=${c.closed}`;
      const errors = c.inbox.filter((m) => m.type === 'error');
      for (const e of errors) {
        expect(ERROR_CODES, detail).toContain(e.code);
        expect(e.code, detail).not.toBe('internal_error');
        expect(e.message, detail).toEqual(expect.any(String));
      }
      if (c.closed !== null) {
        // 44xx: the gateway's own refusal; 1007/1009: the ws library refused the frame itself
        // (invalid UTF-8, over maxPayload) before any handler ran.
        expect(cls === 'malformed frame' ? [4400, 4401, 4403, 1007, 1009] : [4400, 4401, 4403], detail).toContain(c.closed);
        ws.add(cls, 'refused', errors[0]?.code ?? `close ${c.closed}`);
      } else if (errors.length > 0) ws.add(cls, 'refused', errors[0].code);
      else ws.add(cls, 'ok');
      c.inbox.length = 0;
      if (role === 'none' || fresh) c.socket.close();
    }

    // The three roles at once (each on its own sockets), one message at a time per role.
    await Promise.all((['operator', 'admin', 'none'] as const).map(async (role) => {
      const values = role === 'none' ? SAMPLE : HOSTILE;
      const names = named(role === 'none' ? 'none' : 'ws');
      names.accessToken = role === 'none' ? 'x.y.z' : tokens[role];
      // every field's hostile values once across the backends (interleaved, as the HTTP sweep);
      // unknown keys, hostile types and malformed frames on both
      let k = 0;
      const mine = () => k++ % BACKENDS.length === BACKENDS.indexOf(backend);
      for (const option of options) {
        const type = def(option).shape.type._zod.def.values[0] as string;
        const fresh = type === 'auth';
        for (const leaf of leaves(option).filter((l) => l.path[0] !== 'type')) {
          for (const h of focused(values, String(leaf.path.at(-1)))) {
            if (!mine()) continue;
            const obj = withPlaceholder(option, baseline(option, '', names, true), leaf.path, names, leaf.variants);
            await attempt(role, `${type}.${pathName(leaf.path)}`, h.cls, bodyText(obj, h), fresh);
          }
        }
        for (const h of HOSTILE_KEYS.slice(0, role === 'none' ? 6 : undefined)) {
          const obj = { ...(baseline(option, '', names, true) as object), [PLACEHOLDER]: 1 };
          await attempt(role, `${type}.<unknown key>`, `${h.cls} (as key)`, JSON.stringify(obj).split(JSON.stringify(PLACEHOLDER)).join(JSON.stringify(h.value)), fresh);
        }
      }
      for (const h of values) await attempt(role, 'type', h.cls, `{"type":${rawJson(h)}}`, false);
      const frames: [string, string | Buffer][] = [
        ['not JSON', 'not json'],
        ['JSON nesting', `${'['.repeat(5_000)}${']'.repeat(5_000)}`],
        ['17 KiB message', JSON.stringify({ type: 'ping', id: 'x'.repeat(17 * 1024) })],
        ['binary frame', Buffer.from(JSON.stringify({ type: 'ping' }))],
        ['invalid UTF-8 text frame', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
        ['JSON null', 'null'],
        ['JSON string', '"\\u0000"'],
      ];
      for (const [what, frame] of frames) await attempt(role, what, 'malformed frame', frame, false);
    }));
    for (const c of Object.values(conns)) c?.socket.close();
    console.log(ws.table(`WebSocket fuzz on ${backend}`));
    expect((await send('GET', '/health')).status).toBe(200);
  });

  it('refuses access tokens whose claims are not UUIDs with 401 (HTTP and /ws), never a database error', async () => {
    const key = new TextEncoder().encode(JWT_SECRET);
    const forge = (claims: Record<string, unknown>, sub = fx.users.admin.id) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuer('koe-gateway').setAudience('koe-client').setIssuedAt().setExpirationTime('5m').sign(key);
    const bad: [Record<string, unknown>, string?][] = [
      [{ org: fx.orgId, sid: 'not-a-uuid', did: null }],
      [{ org: fx.orgId, sid: "'; DROP TABLE sessions; --", did: null }],
      [{ org: fx.orgId, sid: 'a\u0000b', did: null }],
      [{ org: fx.orgId, sid: randomUUID(), did: 'not-a-uuid' }],
      [{ org: 'x', sid: randomUUID(), did: null }],
      [{ org: fx.orgId, sid: randomUUID(), did: null }, 'not-a-uuid'],
      [{ org: fx.orgId, sid: 42, did: null }],
    ];
    for (const [claims, sub] of bad) {
      const token = await forge(claims, sub);
      const res = await send('GET', '/me', { token });
      check(res, `GET /me with claims ${JSON.stringify(claims)}`, 'forged claims', http);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('token_invalid');
    }
    // a well-formed token for a session that does not exist: 401 too
    const unknown = await send('GET', '/me', { token: await forge({ org: fx.orgId, sid: randomUUID(), did: null }) });
    expect(unknown.status).toBe(401);
    const socket = new WebSocket(`${fx.run.base.replace(/^http/, 'ws')}/ws`);
    await new Promise((r) => socket.once('open', r));
    const answer = new Promise<any>((r) => socket.once('message', (d) => r(JSON.parse(d.toString()))));
    const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
    socket.send(JSON.stringify({ type: 'auth', accessToken: await forge({ org: fx.orgId, sid: 'not-a-uuid', did: null }) }));
    expect(await answer).toMatchObject({ type: 'error', code: 'token_invalid' });
    expect(await closed).toBe(4401);
  });

  it('refuses malformed export cursors with 400 validation_failed and pages with a real one', async () => {
    const admin = { token: tokens.admin };
    const first = await send('GET', '/export/customers?limit=1', admin);
    expect(first.status).toBe(200);
    expect(typeof first.body.nextCursor).toBe('string');
    expect((await send('GET', `/export/customers?cursor=${first.body.nextCursor}`, admin)).status).toBe(200);
    for (const cursor of HOSTILE.filter((h) => h.cls === 'malformed cursor').map((h) => h.value as string)) {
      for (const kind of ['customers', 'calls', 'notes']) {
        const res = await send('GET', `/export/${kind}?cursor=${encodeURIComponent(cursor)}`, admin);
        expect(res.status, `${kind} ${cursor}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.body.error.code).toBe('validation_failed');
      }
    }
  });

  it('stores what a person typed with card numbers masked, whatever the route, and refuses card-number numeric fields', async () => {
    const admin = { token: tokens.admin };
    const card = '4111 1111 1111 1111';
    const customer = await send('POST', '/customers', {
      ...admin,
      body: JSON.stringify({ campaignId: ids.campaign, nameKanji: `佐藤 ${card}`, nameKana: 'サトウ', fields: { [`メモ ${card}`]: `番号 ${card}`, 会員番号: 12345 } }),
    });
    expect(customer.status, JSON.stringify(customer.body)).toBe(200);
    expect(JSON.stringify(customer.body)).not.toContain('4111 1111 1111 1111');
    expect(customer.body.nameKanji).toBe('佐藤 **** **** **** 1111');
    expect(customer.body.fields).toEqual({ 'メモ **** **** **** 1111': '番号 **** **** **** 1111', 会員番号: 12345 });
    for (const n of [4111111111111111, -4111111111111111, 378282246310005, 4222222222222]) {
      const res = await send('PATCH', `/customers/${customer.body.id}`, { ...admin, body: JSON.stringify({ fields: { 番号: n } }) });
      expect(res.status, `${n}`).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    // a 16-digit number that fails Luhn is an ordinary number
    expect((await send('PATCH', `/customers/${customer.body.id}`, { ...admin, body: JSON.stringify({ fields: { 番号: 4111111111111112 } }) })).status).toBe(200);
    const renamed = await send('PATCH', `/admin/devices/${ids.device}`, { ...admin, body: JSON.stringify({ name: `PC ${card}` }) });
    expect(renamed.body.name).toBe('PC **** **** **** 1111');
  });

  it('answers requests racing past the same uniqueness check with one 200 and 409 conflicts, never 500', async () => {
    const admin = { token: tokens.admin };
    const race = async (make: (i: number) => Promise<{ status: number; body: any }>) => {
      const answers = await Promise.all(Array.from({ length: 6 }, (_v, i) => make(i)));
      for (const a of answers) check(a, 'race', 'concurrent duplicate', http);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      expect(answers.filter((a) => a.status !== 200).map((a) => a.body.error.code)).toEqual(Array(5).fill('conflict'));
    };
    await race(() => send('POST', '/admin/teams', { ...admin, body: JSON.stringify({ name: 'レース' }) }));
    await race(() => send('POST', '/admin/roles', { ...admin, body: JSON.stringify({ key: 'race_role', name: 'レース', permissions: [] }) }));
    await race((i) => send('POST', '/campaigns', { ...admin, body: JSON.stringify({ name: `レース ${i}`, dids: ['+81312349999'], hours: { timeZone: 'Asia/Tokyo', weekly: {} }, dispositions: ['完了'] }) }));
  });

  it('leaves the process alive, with no error logged, and an audit chain that verifies', async () => {
    expect(fx.run.exited, fx.run.output.slice(-40).join('\n')).toBeNull();
    expect((await send('GET', '/health')).body).toMatchObject({ status: 'ok' });
    const errors = fx.run.output.filter((l) => /"level":\s*(50|60)/.test(l));
    expect(errors, errors.join('\n').slice(0, 3000)).toEqual([]);
    await stopGateway(fx.run);
    expect(fx.run.exited).not.toBeNull();
    const db = await fx.db();
    try {
      // The audit writer's own defence: text no schema checked (a SIP value, a future route)
      // is stored sanitized, the row is written, and the chain still verifies.
      const entry = await audit(db, systemClock, {
        action: 'fuzz.probe\u0000', orgId: fx.orgId, actor: { userId: null, username: 'sip\u0000user' }, sourceIp: '10.0.0.1\u0000',
        target: { type: 'call\u0007', id: 'a\ud800b\u0000' },
        detail: { reason: 'a\u0000b\udc00', nested: { 'k\u0000ey': ['\ud83d', 1, null, true], ok: '佐藤 🙇' } },
      });
      expect(entry).toMatchObject({ action: 'fuzz.probe', actorUsername: 'sipuser', sourceIp: '10.0.0.1', targetType: 'call', targetId: 'a\ufffdb' });
      expect(entry.detail).toEqual({ reason: 'ab\ufffd', nested: { key: ['\ufffd', 1, null, true], ok: '佐藤 🙇' } });
      const stored = await db.selectFrom('audit_log').selectAll().where('seq', '=', entry.seq).executeTakeFirstOrThrow();
      expect(toAuditView(stored)).toEqual(entry);
      const result = await verifyAuditChain(db);
      expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
      console.log(`audit chain on ${backend}: ${result.ok ? result.entries : 0} entries verify`);
    } finally {
      await db.destroy();
    }
  });
});
