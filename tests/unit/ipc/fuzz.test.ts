// IPC fuzz (issue 19 item 5): for every invoke channel of the contract, 10,000 generated bad
// payloads through main's one guard (createDispatcher) over the real handlers and services, as
// the app window sends them (structured-clonable values only: what ipcRenderer.invoke can carry).
// A payload counts only if the channel's own schema refuses it (a generated value that happens to
// be valid is regenerated), so every one must be answered `invalid_payload` with a short message,
// the dispatcher never throws, no handler is ever called, nothing is logged, and nothing main
// keeps changes (the session, the lock, the settings and outbox as the renderer can read them,
// the files under userData). Then 10,000 hostile channel names: `unknown_channel` each.
// Seeded: the seed is printed, and KOE_FUZZ_SEED replays a run.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers } from '../../../main/services';
import { channelTable } from '../../../shared/ipc/contract';
import { memoryKeytar } from '../../support/memory-keytar';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger } from '../helpers';

const PER_CHANNEL = 10_000;
const SEED = Number(process.env.KOE_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small seeded generator (the run is replayable from its seed). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LONG = 'x'.repeat(100_000);
const WIDE = 'あ'.repeat(50_000);
function deep(levels: number): unknown {
  let v: unknown = { leaf: 1 };
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { next: v };
  return v;
}
const DEEP = deep(2_000);
const polluted = () => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown;

/** Hostile leaves: wrong types, edge numbers, hostile text, clonable objects that are not plain. */
const LEAVES: (() => unknown)[] = [
  () => undefined, () => null, () => true, () => false, () => 0, () => -0, () => -1, () => NaN, () => Infinity, () => -Infinity,
  () => Number.MAX_SAFE_INTEGER + 2, () => 1e308, () => 2 ** 31, () => 0.5, () => 10n ** 30n,
  () => '', () => ' ', () => LONG, () => WIDE, () => '\u0000', () => 'a\u0000b', () => '\ud800', () => '\u202eevil', () => '<script>alert(1)</script>',
  () => "'; drop table users; --", () => '../../../../etc/passwd', () => 'file:///etc/passwd', () => 'javascript:alert(1)', () => 'https://evil.example/',
  () => '4111 1111 1111 1111', () => '🙇'.repeat(1000), () => '%00%ff', () => '{"a":1}', () => 'ja\nen', () => '-1', () => '1e309', () => 'NaN',
  () => new Date(NaN), () => new Date(8.64e15), () => /x/g, () => new Map([['a', 1]]), () => new Set([1]), () => new ArrayBuffer(8), () => new Uint8Array(1024),
  () => [], () => [null], () => new Array(1000).fill('x'), () => ({}), () => polluted(), () => DEEP,
  () => Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i])),
];

function hostileLeaf(r: () => number): unknown {
  return LEAVES[Math.floor(r() * LEAVES.length)]!();
}

/** The object shape of a schema, when it is an object (zod 4: `.shape`), else null. */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | null {
  const s = schema as unknown as { shape?: Record<string, z.ZodType> };
  return s.shape && typeof s.shape === 'object' ? s.shape : null;
}

/** A payload: a hostile leaf, or an object with the schema's keys (some kept, some hostile, some extra). */
function payload(r: () => number, schema: z.ZodType): unknown {
  const shape = shapeOf(schema);
  if (!shape || r() < 0.25) return hostileLeaf(r);
  const out: Record<string, unknown> = r() < 0.2 ? (polluted() as Record<string, unknown>) : {};
  for (const key of Object.keys(shape)) {
    const p = r();
    if (p < 0.15) continue; // missing
    out[key] = p < 0.9 ? hostileLeaf(r) : { nested: hostileLeaf(r) };
  }
  if (r() < 0.3) out[`extra${Math.floor(r() * 5)}`] = hostileLeaf(r);
  return out;
}

/** What the renderer could observe of main's state, and the bytes main keeps on disk. */
async function snapshot(s: Awaited<ReturnType<typeof makeServices>>, dispatch: ReturnType<typeof createDispatcher>) {
  const files = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
          const p = path.join(dir, e.name);
          return e.isDirectory() ? files(p) : [`${path.relative(s.userDataDir, p)}:${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`];
        })
      : [];
  const read = async (channel: string) => JSON.stringify(await dispatch(APP_SENDER, channel, {}));
  return JSON.stringify({
    session: s.session.current(),
    lock: s.lock.current(),
    settings: await read('settings:get'),
    outbox: await read('outbox:list'),
    files: files(s.userDataDir).sort(),
  });
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe(`IPC fuzz: ${PER_CHANNEL} refused payloads per channel through main's guard (seed ${SEED})`, () => {
  it('every channel answers invalid_payload to each, never throws, never calls a handler, logs nothing, changes nothing', async () => {
    console.log(`ipc fuzz seed ${SEED} (KOE_FUZZ_SEED replays it)`);
    const s = await makeServices({ keytar: memoryKeytar(), fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    dirs.push(s.userDataDir);
    const { log, records } = recordingLogger();
    // the real handlers, each counted: a refused payload must never reach one
    const calls = new Map<string, number>();
    const real = createHandlers(s) as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>;
    const counted = Object.fromEntries(
      Object.entries(real).map(([ns, methods]) => [
        ns,
        Object.fromEntries(Object.entries(methods).map(([m, fn]) => [m, (...a: unknown[]) => (calls.set(`${ns}:${m}`, (calls.get(`${ns}:${m}`) ?? 0) + 1), fn(...a))])),
      ]),
    );
    const dispatch = createDispatcher(counted as unknown as ReturnType<typeof createHandlers>, APP_ORIGIN, log, () => s.lock.current().locked);
    const before = await snapshot(s, dispatch);
    calls.clear();

    const r = rng(SEED);
    const counts: Record<string, number> = {};
    for (const [name, def] of channelTable) {
      let sent = 0;
      let regenerated = 0;
      while (sent < PER_CHANNEL) {
        const p = payload(r, def.input);
        if (def.input.safeParse(p).success) {
          // valid by chance: not a bad payload (bounded, so a channel that accepts anything fails loudly)
          expect(++regenerated, `${name} accepts what the generator makes: give it a refusing schema`).toBeLessThan(PER_CHANNEL);
          continue;
        }
        const answer = (await dispatch(APP_SENDER, name, p)) as { ok: boolean; error?: { code: string; message: string } };
        if (answer.ok || answer.error?.code !== 'invalid_payload' || answer.error.message.length > 400) {
          throw new Error(`${name}: a refused payload was answered ${JSON.stringify(answer).slice(0, 300)}`);
        }
        sent++;
      }
      counts[name] = sent;
    }
    // hostile channel names (and non-strings): unknown_channel, nothing called
    let unknown = 0;
    for (let i = 0; i < PER_CHANNEL; i++) {
      const leaf = hostileLeaf(r);
      const name = i % 3 === 0 ? leaf : `${typeof leaf === 'string' ? leaf.slice(0, 64) : String(i)}:${i}`;
      if (typeof name === 'string' && channelTable.has(name)) continue;
      const answer = (await dispatch(APP_SENDER, name as string, {})) as { ok: boolean; error?: { code: string } };
      expect(answer.error?.code).toBe('unknown_channel');
      unknown++;
    }
    console.log(`ipc fuzz: ${Object.keys(counts).length} channels x ${PER_CHANNEL} refused payloads (${Object.values(counts).reduce((a, b) => a + b, 0)}), ${unknown} hostile channel names`);

    expect(Object.keys(counts).sort()).toEqual([...channelTable.keys()].sort());
    expect(Object.values(counts).every((n) => n === PER_CHANNEL)).toBe(true);
    expect([...calls.entries()]).toEqual([]);
    expect(records).toEqual([]);
    expect(await snapshot(s, dispatch)).toBe(before);
  }, 300_000);
});
