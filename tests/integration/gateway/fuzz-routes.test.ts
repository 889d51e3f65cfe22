// HTTP fuzz (issue 19 item 5, the HTTP half of tests/unit/ipc/fuzz.test.ts): for every route of
// ROUTES (the list is ROUTES itself: a new route is fuzzed without touching this file), 10,000
// generated bad requests through the real gateway in-process (Fastify inject, PGlite), each as a
// built-in role that holds the route's permission (operator, else team lead, else admin), so it
// passes authentication and is judged by validation; then 1,000 more without a token.
// A request counts only if it is bad, decided here with the parsers the gateway itself uses (the
// URL as inject parses it, the router's decoding, fast-querystring, Fastify's JSON parser) and the
// route's own zod schemas: params, query or body refused (wrong types, missing fields, unknown
// keys, out-of-range numbers, NUL, broken Unicode, bidi, 10k+ characters, deep nesting, huge
// arrays), or refused before that (malformed JSON, JSON that is not UTF-8, a wrong content type,
// over the body limit, a URL the router cannot decode). A generated request that happens to be
// valid, or that is not one for this route (a path the router gives another route, a URL longer
// than a real request line can be), is regenerated.
// Every answer must be exactly the refusal predicted for it: a 4xx whose body is the API's
// ErrorBody (code in ERROR_CODES), never 2xx or 5xx, with whatever it quotes back bounded.
// Around each route's requests every table of the public schema is compared (row count and a
// hash of all rows): nothing changes, except that /auth/* routes take a token from the sign-in
// throttle of the source address before anything else (throttle_buckets, by design): exactly the
// addresses the fuzz used gain a row, holding what it took, and addresses are changed before the
// bucket runs dry (so a 429 never hides a validation). The gateway logs no error, still answers
// /health, and the audit chain verifies at the end.
// Seeded: the seed is printed, KOE_FUZZ_SEED replays a run (each route has its own stream).
// Cost: about 1 ms a request on two cores (authentication reads the session, user, role and
// policy from PGlite for each). In `npm test` each route gets 250 (about 29,000 requests; 1,000
// took 270 s of a suite that must stay well under 30 minutes; the seed changes every run, so
// runs explore different requests); `npm run fuzz:http` sends the full 10,000 per route
// (1.15 million requests, about 20 minutes; KOE_FUZZ_PER_ROUTE sets any other count).
import { Writable } from 'node:stream';
import querystring from 'fast-querystring';
import { sql } from 'kysely';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '../../../shared/gateway/api';
import { ErrorBody, type ErrorCode } from '../../../shared/gateway/errors';
import { BUILTIN_ROLES } from '../../../shared/gateway/permissions';
import { verifyAuditChain } from '../../../server/audit/audit';
import { ISSUE_MESSAGE_MAX, ISSUE_PATH_MAX, ISSUES_MAX } from '../../../server/http';
import { between, fuzzSeed, HOSTILE_STRINGS, hostileLeaf, pct, pick, rng, shallowPayload, subSeed, type Rng } from '../../support/fuzz';
import { setup, type Harness } from './harness';

const PER_ROUTE = Number(process.env.KOE_FUZZ_PER_ROUTE ?? 250);
/** Sent again without a token, per route that needs one (refused 401 unless refused before). */
const UNAUTHENTICATED = Math.ceil(PER_ROUTE / 10);
const SEED = fuzzSeed();
/** The gateway's sign-in throttle as shipped (server/config.ts): 30 per source address, refilled 30 a minute (the clock here stands still). */
const AUTH_BUCKET = 30;
/** Fastify's default (the gateway does not change it): a longer path parameter is refused by the router. */
const MAX_PARAM_LENGTH = 100;
const DEFAULT_BODY_LIMIT = 64 * 1024;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** An answer quotes back at most ISSUES_MAX issues of bounded path and message: never the payload. */
const MAX_ERROR_BYTES = 1_024 + ISSUES_MAX * (ISSUE_PATH_MAX + ISSUE_MESSAGE_MAX) * 6;
const IN_FLIGHT = 4;
/** A route's requests may take their time on a loaded machine (about 1 ms each on two cores, 3 when they are busy). */
const ROUTE_TIMEOUT_MS = Math.max(60_000, PER_ROUTE * 30);

type Route = [name: string, spec: RouteSpec];
const ALL_ROUTES = Object.entries(ROUTES) as Route[];
const BODYLESS = new Set(['GET', 'HEAD']);
/** What server/http.ts checks a route without a query or body schema against. */
const EMPTY_QUERY = z.strictObject({});
const NO_BODY = z.union([z.undefined(), z.null(), z.strictObject({})]);

// ---------------------------------------------------------------------------- near-valid values
// Values each route's schema accepts, so that the mutations below are what makes a request bad
// and the refusal comes from deep inside the schema, not only from its first field.
const STRING_CANDIDATES: readonly string[] = [
  'テスト', '0b7c1f8e-6d7a-4b7e-9d3c-2f1e0a9b8c7d', '5f0e2a61-3c44-4d1b-8a9e-6b7c8d9e0f12', 'fuzz.user', 'fz_role', 'sign-in', '+81312345678',
  '123456', 'ABCD-EFGH-JKLM', 'A'.repeat(43), 'S'.repeat(86), 'C'.repeat(40), '2026-01-01T00:00:00.000Z', '2026-01-01', '09:00', 'Asia/Tokyo',
  'https://example.jp/hook', '10.0.0.0/8', '10.0.0.1', 'ja', 'fuzz-call-1@koe.test', 'UklGRiQAAABXQVZF', 'sip:alice@example.jp', 'fuzz@example.jp',
  'Sakura-Koe-2026!', 'abc.def', '127.0.0.1:2223', '2026-01-01T00:00:00.000Z~0b7c1f8e-6d7a-4b7e-9d3c-2f1e0a9b8c7d', 'default', '200', 'a', 'x'.repeat(8),
];
const NUMBER_CANDIDATES: readonly number[] = [1, 0, 5, 30, 60, 100, 1000, 3600, 86_400, 2026, 0.5];
const acceptedCache = new WeakMap<object, unknown[]>();
function accepted(schema: z.ZodType, candidates: readonly unknown[]): unknown[] {
  let list = acceptedCache.get(schema);
  if (!list) acceptedCache.set(schema, (list = candidates.filter((c) => schema.safeParse(c).success)));
  return list;
}
const def = (s: any): any => s._zod.def;

/** A value `schema` accepts, most of the time (a string no candidate fits stays 'テスト': the request is then bad there too). */
function nearValid(r: Rng, schema: any, depth = 0): unknown {
  const d = def(schema);
  if (depth > 24) throw new Error('nearValid: a schema deeper than 24 levels (recursive?): teach the generator');
  switch (d.type) {
    case 'optional':
    case 'default':
    case 'prefault':
      return r() < 0.5 ? undefined : nearValid(r, d.innerType, depth + 1);
    case 'nullable':
      return r() < 0.2 ? null : nearValid(r, d.innerType, depth + 1);
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return nearValid(r, d.innerType, depth + 1);
    case 'pipe': // z.preprocess is a pipe from a transform: its input is what the schema after it takes
      return nearValid(r, def(d.in).type === 'transform' ? d.out : d.in, depth + 1);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d.shape)) {
        const value = nearValid(r, v, depth + 1);
        if (value !== undefined) out[k] = value;
      }
      return out;
    }
    case 'array':
      return Array.from({ length: between(r, 1, 2) }, () => nearValid(r, d.element, depth + 1));
    case 'record': {
      const key = nearValid(r, d.keyType, depth + 1);
      return { [typeof key === 'string' ? key : 'k']: nearValid(r, d.valueType, depth + 1) };
    }
    case 'union':
      return nearValid(r, pick(r, d.options), depth + 1);
    case 'string': {
      const fits = accepted(schema, STRING_CANDIDATES);
      return fits.length ? pick(r, fits) : 'テスト';
    }
    case 'number': {
      const fits = accepted(schema, NUMBER_CANDIDATES);
      return fits.length ? pick(r, fits) : 1;
    }
    case 'boolean':
      return r() < 0.5;
    case 'enum':
      return pick(r, Object.values(d.entries));
    case 'literal':
      return pick(r, d.values);
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'unknown':
    case 'any':
      return 'テスト';
    default:
      throw new Error(`nearValid: zod type "${d.type}" in a route schema: teach the generator`);
  }
}

// ---------------------------------------------------------------------------- mutations
/** N levels of `open`...`close` around a value, written as JSON text as it is (no recursion to build or serialise it). */
class Nest {
  constructor(
    readonly depth: number,
    readonly open: string,
    readonly close: string,
    readonly inner: unknown,
  ) {}
}
/** Text already written as JSON (toJson's work list). */
class Raw {
  constructor(readonly text: string) {}
}
/** JSON text of a generated value (Nest written out; own `__proto__` keys kept); no recursion, so any depth. */
function toJson(root: unknown): string {
  const out: string[] = [];
  const todo: unknown[] = [root];
  while (todo.length) {
    const v = todo.pop();
    if (v instanceof Raw) out.push(v.text);
    else if (v instanceof Nest) {
      out.push(v.open.repeat(v.depth));
      todo.push(new Raw(v.close.repeat(v.depth)), v.inner);
    } else if (Array.isArray(v)) {
      out.push('[');
      todo.push(new Raw(']'));
      for (let i = v.length - 1; i >= 0; i--) todo.push(v[i], ...(i > 0 ? [new Raw(',')] : []));
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      out.push('{');
      todo.push(new Raw('}'));
      for (let i = keys.length - 1; i >= 0; i--) todo.push((v as Record<string, unknown>)[keys[i]!], new Raw(`${JSON.stringify(keys[i])}:`), ...(i > 0 ? [new Raw(',')] : []));
    } else out.push(JSON.stringify(v) ?? 'null');
  }
  return out.join('');
}
const setOwn = (o: object, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
const EXTRA_KEYS: readonly string[] = ['extra', 'isAdmin', 'orgId', 'role', '__proto__', 'constructor', 'prototype', '', 'k'.repeat(10_000), 'a\u0000b', '\ud800', '\u202ekey', '🙇'.repeat(3000)];
const EDGE_TEXT: readonly string[] = ['\u0000', '\ud800', '\udc00', '\u202e', '\u0007', '\uffff', '\u200f', '\t', '\r\n'];
const EDGE_NUMBERS: readonly number[] = [-1, -0.5, 1.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 31, 1e21, Number.MIN_VALUE];

interface Spot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
}
/** Places in `holder.root` a mutation can go (every node; bounded). */
function spots(holder: { root: unknown }): Spot[] {
  const out: Spot[] = [{ parent: holder as unknown as Record<string, unknown>, key: 'root' }];
  const walk = (v: unknown, depth: number) => {
    if (depth > 12 || out.length > 300 || v === null || typeof v !== 'object' || v instanceof Nest) return;
    for (const k of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      out.push({ parent: v as Record<string, unknown>, key: k });
      walk((v as Record<string, unknown>)[k as string], depth + 1);
    }
  };
  walk(holder.root, 0);
  return out;
}
function edge(r: Rng, v: unknown): unknown {
  if (typeof v === 'string') {
    const which = r();
    if (which < 0.4) return v + pick(r, EDGE_TEXT) + v;
    if (which < 0.7) {
      const length = between(r, 65, 70_000); // past every bound a field has, some past the body limit
      return (v || 'x').repeat(Math.ceil(length / Math.max(1, v.length))).slice(0, length);
    }
    return pick(r, ['', ' ', `${v} `, v.toUpperCase(), v.normalize('NFD'), v.slice(1)]);
  }
  if (typeof v === 'number') return pick(r, [v + 0.5, -v - 1, v * 1e9, ...EDGE_NUMBERS]);
  if (Array.isArray(v)) {
    // many of a primitive: an object repeated would be one object written thousands of times (and mutated again, millions)
    const item = v[0] !== null && typeof v[0] === 'object' ? 0 : (v[0] ?? 'x');
    return Array.from({ length: between(r, 101, 5_000) }, () => item);
  }
  if (typeof v === 'boolean') return pick(r, [String(v), v ? 1 : 0, null]);
  return pick(r, [0, '', [], {}]);
}
/** 1 to 3 mutations of `value` (in place where it is an object; the result is returned). */
function mutate(r: Rng, value: unknown): unknown {
  const holder = { root: value };
  for (let n = between(r, 1, 3); n > 0; n--) {
    const { parent, key } = pick(r, spots(holder));
    const p = parent as Record<string, unknown>;
    const k = key as string;
    const cur = p[k];
    const op = r();
    if (op < 0.3) p[k] = hostileLeaf(r);
    else if (op < 0.42) {
      // a field missing (or, at a leaf, the leaf itself)
      if (cur !== null && typeof cur === 'object' && !(cur instanceof Nest) && !Array.isArray(cur) && Object.keys(cur).length) delete (cur as Record<string, unknown>)[pick(r, Object.keys(cur))];
      else if (Array.isArray(parent)) parent.splice(key as number, 1);
      else if (k !== 'root') delete p[k];
      else p[k] = undefined;
    } else if (op < 0.56) {
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && !(cur instanceof Nest)) setOwn(cur, pick(r, EXTRA_KEYS), hostileLeaf(r));
      else setOwn(p, k, setOwn({}, pick(r, EXTRA_KEYS), cur));
    } else if (op < 0.66) {
      const kind = pick(r, [['[', ']'], ['{"a":', '}'], ['[[', ']]']] as const);
      p[k] = new Nest(between(r, 2, 25_000), kind[0], kind[1], cur);
    } else if (op < 0.9) p[k] = edge(r, cur);
    else p[k] = r() < 0.5 ? [cur] : { value: cur };
  }
  return holder.root;
}

// ---------------------------------------------------------------------------- requests
type Kind = 'body' | 'hostile body' | 'query' | 'params' | 'malformed JSON' | 'content type' | 'invalid UTF-8' | 'oversized';
interface Planned {
  kind: Kind;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}
interface Expected {
  status: number;
  code: ErrorCode;
  /** Where the gateway refuses it: before the handler (router, body parser), at authentication, or at the schemas. */
  stage: 'router' | 'parser' | 'auth' | 'schema';
}
const WRONG_CONTENT_TYPES: readonly (string | undefined)[] = [
  'application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json-patch+json',
  'application/jsonx', 'application/vnd.api+json', 'image/png', 'application/octet-stream', '', undefined,
];
const JSON_CONTENT_TYPES: readonly string[] = ['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'text/plain; charset=utf-8'];
/**
 * What a real request line can hold: Node's HTTP parser refuses a longer one before Fastify sees
 * it (server/gateway.ts clientErrorHandler: 413). Inject has no such limit, so a generated URL
 * over it is not a request the gateway's code would ever judge: regenerated.
 */
const MAX_URL = 16 * 1024 - 512;
/** Hostile text for a URL: up to 3,000 characters (past every bound a query or path field has). */
const urlText = (r: Rng, from: readonly string[] = HOSTILE_STRINGS) => pick(r, from).slice(0, between(r, 0, 3_000));
const RAW_ESCAPES: readonly string[] = ['%zz', '%', '%E3%81', '%ED%A0%80', '%C0%80', '%FF%FE', '%00', '%2500', '%u0041'];
const PADDING = new Map<number, string>();
const padding = (bytes: number) => PADDING.get(bytes) ?? (PADDING.set(bytes, 'x'.repeat(bytes)), PADDING.get(bytes)!);

/** Breaks JSON text the way a broken client or an attacker would. */
function breakJson(r: Rng, text: string): string {
  const at = between(r, 0, text.length);
  switch (between(r, 0, 9)) {
    case 0: return text.slice(0, Math.max(0, at - 1));
    case 1: return text.slice(0, at) + pick(r, ['{', '}', '[', ']', ',', ':', '"', '\\', '\u0000', 'x', '\n']) + text.slice(at);
    case 2: return text.replaceAll('"', "'");
    case 3: return `${text},`;
    case 4: return `${text}${text}`;
    case 5: return pick(r, ['NaN', 'undefined', 'Infinity', '-Infinity', '{a:1}', "{'a':1}", '[1,]', '{"a":1,}', '01', '"\\x00"', '"\\ud800', '/* */{}', ')]}\'\n{}']);
    case 6: return `${'['.repeat(between(r, 1, 30_000))}`;
    case 7: return `callback(${text})`;
    case 8: return text.replace(/:/, '::');
    default: return `\u0000${text}`;
  }
}

/** The role a route is fuzzed as: the least one holding its permission (public routes: none; Kamailio's: its shared secret). */
function roleFor(spec: RouteSpec): 'operator' | 'lead' | 'admin' | 'kamailio' | null {
  if (spec.auth === null) return null;
  if (spec.auth === 'kamailio') return 'kamailio';
  if (spec.auth === 'authenticated') return 'operator';
  if (BUILTIN_ROLES.operator.permissions.includes(spec.auth)) return 'operator';
  if (BUILTIN_ROLES.team_lead.permissions.includes(spec.auth)) return 'lead';
  return 'admin';
}

/** Per route: the other routes of its method and length with a static segment where it has a parameter (the router prefers them). */
const RIVALS = new Map<RouteSpec, string[][]>(ALL_ROUTES.map(([, spec]) => {
  const own = spec.path.split('/');
  const rivals = ALL_ROUTES.map(([, other]) => other)
    .filter((other) => other !== spec && other.method === spec.method)
    .map((other) => other.path.split('/'))
    .filter((pattern) => pattern.length === own.length && pattern.some((seg, i) => !seg.startsWith(':') && own[i]!.startsWith(':')));
  return [spec, rivals];
}));
/** Another route the router prefers for this path. */
function shadowedBy(spec: RouteSpec, segments: string[]): boolean {
  return RIVALS.get(spec)!.some((pattern) => pattern.length === segments.length && pattern.every((seg, i) => seg.startsWith(':') || seg === segments[i]));
}

const jsonParserOf = (h: Harness) => {
  const parse = h.gw.app.getDefaultJsonParser('error', 'error') as unknown as (req: unknown, body: string, done: (err: Error | null, v?: unknown) => void) => void;
  return (text: string): { ok: true; value: unknown } | { ok: false } => {
    let out: { ok: true; value: unknown } | { ok: false } = { ok: false };
    parse({}, text, (err, value) => (out = err ? { ok: false } : { ok: true, value }));
    return out;
  };
};
/** True when `schema` refuses `value` (a schema that throws counts as refusing: the gateway must then still answer 4xx). */
function refuses(schema: z.ZodType, value: unknown): boolean {
  try {
    return !schema.safeParse(value).success;
  } catch {
    return true;
  }
}

/**
 * What the gateway must answer to `p` on `spec` (server/http.ts's order: the router and the body
 * parser before any handler; then the sign-in throttle on /auth/*, authentication, and the
 * schemas), or null when the request is valid or is not one for this route (regenerate it).
 */
function expected(spec: RouteSpec, p: Planned, authenticated: boolean, parseJson: ReturnType<typeof jsonParserOf>): Expected | null {
  if (p.url.length > MAX_URL) return null;
  const url = new URL(p.url, 'http://localhost');
  const segments = url.pathname.split('/');
  const pattern = spec.path.split('/');
  if (segments.length !== pattern.length || shadowedBy(spec, segments)) return null;
  const params: Record<string, string> = {};
  let router = false;
  for (let i = 0; i < pattern.length; i++) {
    if (!pattern[i]!.startsWith(':')) {
      if (pattern[i] !== segments[i]) return null;
      continue;
    }
    try {
      params[pattern[i]!.slice(1)] = decodeURIComponent(segments[i]!);
      if (params[pattern[i]!.slice(1)]!.length > MAX_PARAM_LENGTH) router = true;
    } catch {
      router = true;
    }
  }
  if (router) return { status: 400, code: 'validation_failed', stage: 'router' };
  let body: unknown;
  if (!BODYLESS.has(spec.method) && p.payload !== undefined) {
    const ct = p.headers['content-type'];
    const media = ct?.split(';')[0]!.trim().toLowerCase();
    if (media !== 'application/json' && media !== 'text/plain') return { status: 415, code: 'unsupported_media_type', stage: 'parser' };
    const bytes = typeof p.payload === 'string' ? Buffer.from(p.payload, 'utf8') : p.payload;
    if (bytes.length > (spec.bodyLimit ?? DEFAULT_BODY_LIMIT)) return { status: 413, code: 'payload_too_large', stage: 'parser' };
    if (media === 'application/json') {
      // JSON is UTF-8 or refused (server/gateway.ts); text/plain is decoded as Fastify does, bad bytes as U+FFFD
      let text: string;
      try {
        text = STRICT_UTF8.decode(bytes);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
        return { status: 400, code: 'validation_failed', stage: 'parser' };
      }
      const parsed = parseJson(text);
      if (!parsed.ok) return { status: 400, code: 'validation_failed', stage: 'parser' };
      body = parsed.value;
    } else body = bytes.toString('utf8');
  }
  const query = url.search.length > 1 ? querystring.parse(url.search.slice(1)) : {};
  const bad = (spec.params !== undefined && refuses(spec.params, params)) || refuses(spec.query ?? EMPTY_QUERY, query) || refuses(spec.body ?? NO_BODY, body);
  if (!bad) return null;
  if (spec.auth !== null && !authenticated) return { status: 401, code: 'unauthenticated', stage: 'auth' };
  return { status: 400, code: 'validation_failed', stage: 'schema' };
}

/** One generated request for `spec` (not yet judged). */
function generate(r: Rng, spec: RouteSpec): Planned {
  const hasBody = !BODYLESS.has(spec.method);
  const paramNames = [...spec.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const roll = r();
  const kind: Kind = hasBody
    ? roll < 0.45 ? 'body' : roll < 0.52 ? 'hostile body' : roll < 0.67 ? 'query' : roll < 0.77 ? (paramNames.length ? 'params' : 'query') : roll < 0.86 ? 'malformed JSON' : roll < 0.93 ? 'content type' : roll < 0.97 ? 'invalid UTF-8' : 'oversized'
    : roll < (paramNames.length ? 0.65 : 1) ? 'query' : 'params';

  // path parameters: near-valid, or one of them hostile
  const paramValues = (spec.params ? nearValid(r, spec.params) : {}) as Record<string, unknown>;
  const encoded: Record<string, string> = {};
  for (const name of paramNames) encoded[name] = pct(String(paramValues[name] ?? 'テスト'));
  if (kind === 'params') {
    const name = pick(r, paramNames);
    const which = r();
    encoded[name] = which < 0.55
      ? pct(urlText(r).slice(0, between(r, 1, 400)))
      : which < 0.75 ? pick(r, RAW_ESCAPES) + encoded[name]!.slice(0, between(r, 0, 8))
        : which < 0.9 ? pct(String(edge(r, paramValues[name] ?? 'テスト')))
          : pct(`${String(paramValues[name])}${pick(r, ['x', '0', ' ', '\u0000', '-', '.json'])}`);
  }
  const path = spec.path.replace(/:(\w+)/g, (_m, name: string) => encoded[name]!);

  // query: near-valid pairs, or mutated ones
  const queryValue = (spec.query ? nearValid(r, spec.query) : {}) as Record<string, unknown>;
  const pairs: [string, string | null][] = [];
  for (const [k, v] of Object.entries(queryValue)) for (const x of Array.isArray(v) ? v : [v]) pairs.push([pct(k), pct(String(x))]);
  if (kind === 'query') {
    for (let n = between(r, 1, 3); n > 0; n--) {
      const op = r();
      const i = Math.floor(r() * pairs.length);
      if (op < 0.3 || pairs.length === 0) pairs.push([pct(urlText(r, [...EXTRA_KEYS, ...HOSTILE_STRINGS])), r() < 0.8 ? pct(urlText(r)) : null]);
      else if (op < 0.55) pairs[i]![1] = pct(urlText(r));
      else if (op < 0.65) pairs.splice(i, 1);
      else if (op < 0.75) pairs.push([pairs[i]![0], pairs[i]![1]]);
      else if (op < 0.85) pairs[i]![1] = pick(r, RAW_ESCAPES);
      else if (op < 0.93) pairs[i]![1] = pct(pick(r, ['-1', '0', '1e309', 'NaN', '1.5', '99999999999999999999', ' 1', '0x10', '', 'true', 'null']));
      else pairs[i]![0] = `${pairs[i]![0]}${pick(r, ['[]', '[0]', '%5B%5D', '.x', '%00'])}`;
    }
  }
  const query = pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&');
  const url = query ? `${path}?${query}` : path;
  if (!hasBody) return { kind, method: spec.method, url, headers: {} };

  // body: near-valid JSON, or what the kind makes of it
  const schema = spec.body ?? NO_BODY;
  const base = nearValid(r, schema);
  const headers: Record<string, string> = { 'content-type': pick(r, JSON_CONTENT_TYPES.slice(0, 3)) };
  const baseText = base === undefined ? undefined : toJson(base);
  let payload: string | Buffer | undefined = baseText;
  switch (kind) {
    case 'body':
      payload = toJson(mutate(r, base === undefined ? {} : base) ?? null);
      headers['content-type'] = pick(r, JSON_CONTENT_TYPES);
      if (headers['content-type'].startsWith('text/plain') && r() < 0.5) payload = pick(r, HOSTILE_STRINGS);
      break;
    case 'hostile body':
      payload = toJson(shallowPayload(r, schema) ?? null);
      break;
    case 'malformed JSON':
      payload = breakJson(r, baseText ?? '{}');
      break;
    case 'content type': {
      const ct = pick(r, WRONG_CONTENT_TYPES);
      if (ct === undefined) delete headers['content-type'];
      else headers['content-type'] = ct;
      payload = baseText ?? '{}';
      break;
    }
    case 'invalid UTF-8': {
      const bytes = Buffer.from(toJson(r() < 0.5 ? mutate(r, base ?? {}) : base ?? {}), 'utf8');
      const at = between(r, 0, bytes.length);
      payload = Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(r, [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe3, 0x81], [0xfe, 0xff], [0x80]])), bytes.subarray(at)]);
      break;
    }
    case 'oversized': {
      const limit = spec.bodyLimit ?? DEFAULT_BODY_LIMIT;
      payload = `{"pad":"${padding(limit)}"}`;
      break;
    }
    default:
      break; // query, params: the near-valid body
  }
  if (payload === undefined) delete headers['content-type'];
  return { kind, method: spec.method, url, headers, ...(payload !== undefined ? { payload } : {}) };
}

// ---------------------------------------------------------------------------- the database
/**
 * Columns the gateway's timers write whatever the requests do, left out of the hash (the rest of
 * those rows is compared): the instance's heartbeat (server/sip/connections.ts, every few seconds)
 * and how far the background chain verifier has got (server/audit/chain-status.ts, every minute:
 * it moves over entries already there; audit_log itself is compared whole, and a break it records
 * would still show).
 */
const TIMER_COLUMNS: Record<string, string[]> = {
  gateway_instances: ['seen_at'],
  audit_checkpoint: ['seq', 'hash', 'verified_at', 'sweep_seq', 'sweep_hash', 'sweep_completed_at'],
};
/**
 * Tables a timer prunes by age (the event bus keeps 10 minutes of events, server/bus/event-bus.ts,
 * on the database's clock): compared by their identity sequence instead, which any new row
 * moves and a pruning does not (so: nothing published).
 */
const PRUNED_BY_TIMER: Record<string, string> = { bus_events: 'seq' };
/** Every table of the public schema: its row count and a hash of all its rows. */
async function snapshot(h: Harness, except: readonly string[] = []): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`.execute(h.db);
  const out: Record<string, string> = {};
  for (const { name } of tables.rows) {
    if (except.includes(name)) continue;
    const identity = PRUNED_BY_TIMER[name];
    if (identity) {
      const seq = await sql<{ s: string }>`select pg_get_serial_sequence(${name}, ${identity}) as s`.execute(h.db);
      const last = await sql<{ last_value: string; is_called: boolean }>`select last_value, is_called from ${sql.raw(seq.rows[0]!.s)}`.execute(h.db);
      out[name] = `sequence at ${last.rows[0]!.last_value} (${last.rows[0]!.is_called ? 'used' : 'unused'})`;
      continue;
    }
    const row = await sql<{ n: number; hash: string }>`
      select count(*)::int as n, md5(coalesce(string_agg(r.j, E'\n' order by r.j), '')) as hash
      from (select (to_jsonb(t) - ${TIMER_COLUMNS[name] ?? []}::text[])::text as j from ${sql.table(name)} t) r`.execute(h.db);
    out[name] = `${row.rows[0]!.n} rows ${row.rows[0]!.hash}`;
  }
  return out;
}
async function throttleRows(h: Harness): Promise<Map<string, number>> {
  const rows = await h.db.selectFrom('throttle_buckets').select(['key', 'tokens']).execute();
  return new Map(rows.map((row) => [row.key, Number(row.tokens)]));
}

// ---------------------------------------------------------------------------- the suite
describe(`HTTP fuzz: ${PER_ROUTE} bad requests per route through the gateway (PGlite, seed ${SEED})`, () => {
  let h: Harness;
  const lines: string[] = [];
  const tokens: Record<'operator' | 'lead' | 'admin', string> = { operator: '', lead: '', admin: '' };
  const ROUTE_SECRET = 'fuzz-route-secret-0123456789abcdef';
  const covered: { name: string; sent: number; unauthenticated: number }[] = [];
  let parseJson: ReturnType<typeof jsonParserOf>;
  let ipSeq = 0;
  const freshIp = () => `10.${100 + (++ipSeq >> 16)}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
  const started = Date.now();

  beforeAll(async () => {
    console.log(`http fuzz seed ${SEED} (KOE_FUZZ_SEED replays it)`);
    const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    h = await setup('pglite', { logLevel: 'warn', authRateLimit: { capacity: AUTH_BUCKET, refillPerMinute: AUTH_BUCKET }, sip: { routeSecret: ROUTE_SECRET } }, { logger: { stream } });
    tokens.operator = await h.token(h.users.operator);
    tokens.lead = await h.token(h.users.lead);
    tokens.admin = await h.token(h.users.admin);
    parseJson = jsonParserOf(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('covers every route of ROUTES, and every path parameter has a schema', () => {
    for (const [name, spec] of ALL_ROUTES) {
      if (spec.path.includes(':')) expect(spec.params, `${name}: a path parameter without a params schema is not validated`).toBeDefined();
    }
    expect(ALL_ROUTES.length).toBe(Object.keys(ROUTES).length);
  });

  it.each(ALL_ROUTES)('%s: every bad request is refused as predicted, nothing changes', async (name, spec) => {
    const t0 = Date.now();
    const role = roleFor(spec);
    const throttled = spec.path.startsWith('/auth/');
    const r = rng(subSeed(SEED, name));
    const codes = new Map<string, number>();
    const kinds = new Map<string, number>();
    const stages = new Map<string, number>();
    // the sign-in throttle: requests that reach the handler take a token of their address; a fresh address before one runs dry
    const taken = new Map<string, number>();
    let ip = throttled ? freshIp() : '10.0.0.1';
    const before = await snapshot(h, throttled ? ['throttle_buckets'] : []);
    const throttleBefore = throttled ? await throttleRows(h) : null;

    let regenerated = 0;
    const plan = (authenticated: boolean) => {
      for (;;) {
        const p = generate(r, spec);
        const e = expected(spec, p, authenticated, parseJson);
        if (e) {
          let from = '10.0.0.1';
          if (throttled) {
            if (e.stage === 'auth' || e.stage === 'schema') {
              if ((taken.get(ip) ?? 0) >= AUTH_BUCKET) ip = freshIp();
              taken.set(ip, (taken.get(ip) ?? 0) + 1);
            }
            from = ip;
          }
          return { p, e, from };
        }
        if (++regenerated > PER_ROUTE) throw new Error(`${name}: the generator makes valid requests more often than bad ones (${regenerated} regenerated): teach it this route`);
      }
    };
    let sent = 0;
    let unauthenticated = 0;
    const total = PER_ROUTE + (role ? UNAUTHENTICATED : 0);
    let failure: Error | null = null;
    let next = 0;
    const worker = async () => {
      try {
        await work();
      } catch (err) {
        failure ??= err as Error; // the other workers stop at their next request; thrown below
      }
    };
    const work = async () => {
      while (next < total && !failure) {
        const authenticated = role !== null && next < PER_ROUTE;
        const i = next++;
        const { p, e, from } = plan(authenticated);
        const credential = !authenticated ? {} : role === 'kamailio' ? { 'x-koe-route-secret': ROUTE_SECRET } : { authorization: `Bearer ${tokens[role!]}` };
        const headers = { ...p.headers, ...credential };
        const res = await h.gw.app.inject({ method: p.method as 'GET', url: p.url, headers, remoteAddress: from, ...(p.payload !== undefined ? { payload: p.payload } : {}) });
        const what = () =>
          `${name} #${i} (seed ${SEED}) ${p.kind}, ${authenticated ? role : 'no token'}: ${p.method} ${p.url.slice(0, 300)} ${JSON.stringify(p.headers)} ` +
          `${p.payload === undefined ? '' : JSON.stringify(String(p.payload).slice(0, 300))}\n  expected ${e.status} ${e.code} (${e.stage}), answered ${res.statusCode} ${res.body.slice(0, 500)}`;
        let body: unknown;
        try {
          body = JSON.parse(res.body);
        } catch {
          failure ??= new Error(`not JSON: ${what()}`);
          return;
        }
        const typed = ErrorBody.safeParse(body);
        if (res.statusCode !== e.status || !typed.success || typed.data.error.code !== e.code) {
          failure ??= new Error(`not the refusal predicted: ${what()}`);
          return;
        }
        const issues = typed.data.error.issues ?? [];
        if (res.body.length > MAX_ERROR_BYTES || typed.data.error.message.length > ISSUE_MESSAGE_MAX || issues.length > ISSUES_MAX
          || issues.some((x) => x.path.length > ISSUE_PATH_MAX || x.message.length > ISSUE_MESSAGE_MAX)) {
          failure ??= new Error(`an answer quoting back more than its bounds (${res.body.length} bytes): ${what()}`);
          return;
        }
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
        stages.set(e.stage, (stages.get(e.stage) ?? 0) + 1);
        if (authenticated || role === null) sent++;
        else unauthenticated++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    if (failure) throw failure;

    expect(await snapshot(h, throttled ? ['throttle_buckets'] : [])).toEqual(before);
    if (throttleBefore) {
      // exactly the addresses used gained a row, holding the tokens the fuzz took; no other row moved
      const expectedRows = new Map(throttleBefore);
      for (const [addr, n] of taken) expectedRows.set(addr, AUTH_BUCKET - n);
      expect(await throttleRows(h)).toEqual(expectedRows);
    }
    expect(sent).toBe(PER_ROUTE);
    covered.push({ name, sent, unauthenticated });
    const tally = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}:${n}`).join(' ');
    console.log(`${name.padEnd(24)} ${String(sent).padStart(6)} sent as ${role ?? 'nobody'}, +${unauthenticated} without a token, ${((Date.now() - t0) / 1000).toFixed(1)} s, ${regenerated} regenerated; ${tally(codes)}; refused by ${tally(stages)}; ${tally(kinds)}`);
  }, ROUTE_TIMEOUT_MS);

  it('fuzzed every route, logged no error, still answers /health, and the audit chain verifies', async () => {
    expect(covered.map((c) => c.name)).toEqual(ALL_ROUTES.map(([name]) => name));
    expect(covered.length).toBe(Object.keys(ROUTES).length);
    expect(covered.every((c) => c.sent === PER_ROUTE)).toBe(true);
    const errors = lines.filter((l) => /"level":\s*(50|60)/.test(l));
    expect(errors, errors.join('\n').slice(0, 3000)).toEqual([]);
    expect((await h.req('GET', '/health')).status).toBe(200);
    const chain = await verifyAuditChain(h.db);
    expect(chain, JSON.stringify(chain)).toMatchObject({ ok: true });
    const requests = covered.reduce((n, c) => n + c.sent + c.unauthenticated, 0);
    console.log(`http fuzz: ${covered.length} routes, ${requests} requests (${PER_ROUTE} per route + ${UNAUTHENTICATED} without a token where one is needed) in ${((Date.now() - started) / 1000).toFixed(0)} s; ${lines.length} warnings logged; seed ${SEED}`);
  });
});
