// Seeded generation of hostile input for the fuzz suites (issue 19 item 5): the IPC half
// (tests/unit/ipc/fuzz.test.ts) and the HTTP half (tests/integration/gateway/fuzz-routes.test.ts).
// One seed per run, printed, and KOE_FUZZ_SEED replays it.
import { z } from 'zod';

export type Rng = () => number;

/** The run's seed: KOE_FUZZ_SEED, else one from the clock (print it: a failure is replayed with it). */
export function fuzzSeed(): number {
  return Number(process.env.KOE_FUZZ_SEED ?? Date.now() % 2 ** 31);
}

/** mulberry32: a small seeded generator (the run is replayable from its seed). */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed of its own for `name` under the run's seed: one route or channel replays without the others. */
export function subSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** %-encoding that can say what encodeURIComponent refuses: a lone surrogate as its (invalid) 3 UTF-8-style bytes. */
export function pct(s: string): string {
  if (!LONE_SURROGATE.test(s)) return encodeURIComponent(s);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s[i]! + s[i + 1]!);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(s[i]!);
  }
  return out;
}

export const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
/** An integer in [min, max]. */
export const between = (r: Rng, min: number, max: number): number => min + Math.floor(r() * (max - min + 1));

const LONG = 'x'.repeat(100_000);
const WIDE = 'あ'.repeat(50_000);
/** `levels` of alternating objects and arrays around a leaf. */
export function deep(levels: number): unknown {
  let v: unknown = { leaf: 1 };
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { next: v };
  return v;
}
/** Own keys __proto__ and constructor.prototype (what JSON.parse makes of them, and a prototype-pollution attempt). */
export const polluted = () => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown;

/** Hostile text: NUL, broken Unicode, bidi, 10k+ characters, injection-looking, card numbers, escapes. */
export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '\u3000', LONG, WIDE, 'x'.repeat(10_001), '\u0000', 'a\u0000b', '佐藤\u0000花子', '\u0001', '\u001b[2J', 'a\nb', '\u007f', '\u0085',
  '\ud800', 'a\udc00b', '\udbff', '\uffff', '\ufdd0', '\u202eevil', '\u2066x\u2069', '\u200f', '<script>alert(1)</script>',
  "'; drop table users; --", "' OR '1'='1", '../../../../etc/passwd', 'file:///etc/passwd', 'javascript:alert(1)', 'https://evil.example/',
  '4111 1111 1111 1111', '🙇'.repeat(1000), '%00%ff', '{"a":1}', 'ja\nen', '-1', '1e309', 'NaN', 'Infinity', '0x10', ' 1', '99999999999999999999',
  '\\u0000', '__proto__', 'constructor', 'テスト', 'not-a-uuid', '00000000-0000-0000-0000-00000000000g', '0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z',
];

/** Hostile values JSON can carry: wrong types, edge numbers, hostile text, deep and wide structures (objects made fresh each time: a fuzz may mutate what it gets). */
export const JSON_LEAVES: readonly (() => unknown)[] = [
  () => null, () => true, () => false, () => 0, () => -1, () => Number.MAX_SAFE_INTEGER + 2, () => 1e308, () => -1e308, () => 2 ** 31, () => 0.5,
  ...HOSTILE_STRINGS.map((s) => () => s),
  () => [], () => [null], () => new Array(1000).fill('x'), () => ({}), () => polluted(), () => deep(2_000),
  () => Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i])),
];

/** What only structured clone carries (IPC): undefined, NaN, bigint, Date, RegExp, Map, Set, binary. */
export const CLONE_LEAVES: readonly (() => unknown)[] = [
  () => undefined, () => -0, () => NaN, () => Infinity, () => -Infinity, () => 10n ** 30n,
  () => new Date(NaN), () => new Date(8.64e15), () => /x/g, () => new Map([['a', 1]]), () => new Set([1]), () => new ArrayBuffer(8), () => new Uint8Array(1024),
];

export function hostileLeaf(r: Rng, leaves: readonly (() => unknown)[] = JSON_LEAVES): unknown {
  return pick(r, leaves)();
}

/** The object shape of a schema, when it is an object (zod 4: `.shape`), else null. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | null {
  const s = schema as unknown as { shape?: Record<string, z.ZodType> };
  return s.shape && typeof s.shape === 'object' ? s.shape : null;
}

/** A payload: a hostile leaf, or an object with the schema's keys (some kept, some hostile, some extra). */
export function shallowPayload(r: Rng, schema: z.ZodType, leaves: readonly (() => unknown)[] = JSON_LEAVES): unknown {
  const shape = shapeOf(schema);
  if (!shape || r() < 0.25) return hostileLeaf(r, leaves);
  const out: Record<string, unknown> = r() < 0.2 ? (polluted() as Record<string, unknown>) : {};
  for (const key of Object.keys(shape)) {
    const p = r();
    if (p < 0.15) continue; // missing
    out[key] = p < 0.9 ? hostileLeaf(r, leaves) : { nested: hostileLeaf(r, leaves) };
  }
  if (r() < 0.3) out[`extra${Math.floor(r() * 5)}`] = hostileLeaf(r, leaves);
  return out;
}
