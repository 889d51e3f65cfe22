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
import { afterAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers } from '../../../main/services';
import { channelTable } from '../../../shared/ipc/contract';
import { CLONE_LEAVES, fuzzSeed, hostileLeaf, JSON_LEAVES, rng, shallowPayload } from '../../support/fuzz';
import { memoryKeytar } from '../../support/memory-keytar';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger } from '../helpers';

const PER_CHANNEL = 10_000;
const SEED = fuzzSeed();
/** Everything the app window can send: what JSON carries and what only structured clone does. */
const LEAVES = [...JSON_LEAVES, ...CLONE_LEAVES];

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
        const p = shallowPayload(r, def.input, LEAVES);
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
      const leaf = hostileLeaf(r, LEAVES);
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
