// The outbox's IPC channels through main's one guard (createDispatcher: sender, lock, payload,
// result) over the real services: who may hand items, what the lock refuses, what bad payloads
// get, and that nothing readable reaches the disk or the events.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers, wireEvents } from '../../../main/services';
import { OutboxEnqueue } from '../../../shared/ipc/contract';
import { memoryKeytar } from '../../support/memory-keytar';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger, signedInAs } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const CARD = '4111 1111 1111 1111';
const note = (body = `折り返し希望 ${CARD}`) => ({ kind: 'note', id: randomUUID(), sipCallId: 'abc@10.0.0.1', customerId: null, body });

async function setup(opts: { open?: boolean } = {}) {
  // the gateway is not there: items stay queued (what these tests look at)
  const s = await makeServices({ keytar: memoryKeytar(), fetch: async () => Promise.reject(new TypeError('fetch failed')) });
  dirs.push(s.userDataDir);
  const { log } = recordingLogger();
  const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, log, () => s.lock.current().locked);
  if (opts.open !== false) {
    // signed in as user-1 (the session's sign-in is tested elsewhere: here, what main's session says)
    signedInAs(s);
    await s.outbox.open('user-1');
  }
  const events: [string, unknown][] = [];
  wireEvents(s, (e, p) => events.push([e, p]));
  const files = () => {
    const dir = path.join(s.userDataDir, 'outbox');
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => fs.readFileSync(path.join(dir, n), 'utf8')).join('\n') : '';
  };
  return { s, dispatch, events, files };
}

describe('outbox IPC (main/outbox through the dispatcher)', () => {
  it('takes a note only from the app window, seals it (no card number, no text on disk) and lists it redacted', async () => {
    const { s, dispatch, files } = await setup();
    const item = note();
    for (const sender of [{ url: 'https://evil.example/', isMainFrame: true }, { url: 'koe://app/index.html', isMainFrame: false }, { url: null, isMainFrame: true }]) {
      expect(await dispatch(sender, 'outbox:enqueue', item)).toMatchObject({ ok: false, error: { code: 'forbidden_sender' } });
      expect(await dispatch(sender, 'outbox:list', {})).toMatchObject({ ok: false, error: { code: 'forbidden_sender' } });
    }
    expect(files()).toBe('');
    expect(await dispatch(APP_SENDER, 'outbox:enqueue', item)).toEqual({ ok: true, value: { id: item.id, status: 'queued' } });
    const listed = await dispatch(APP_SENDER, 'outbox:list', {});
    expect(listed).toMatchObject({ ok: true, value: { items: [{ id: item.id, kind: 'note', body: '折り返し希望 **** **** **** 1111' }] } });
    const raw = files();
    expect(raw.length).toBeGreaterThan(0);
    for (const plain of ['1111', '折り返し', 'abc@10.0.0.1']) expect(raw).not.toContain(plain);
    await s.outbox.close();
  });

  it('refuses hostile payloads with invalid_payload and keeps nothing', async () => {
    const { s, dispatch, files } = await setup();
    const bad: unknown[] = [
      undefined, null, 'note', 42, [], {},
      { ...note(), extra: 'x' },
      { ...note(), id: 'not-a-uuid' },
      { ...note(), kind: 'agentState' },
      { ...note(), body: '' },
      { ...note(), body: 'x'.repeat(4001) },
      { ...note(), body: 'a\u0000b' },
      { ...note(), sipCallId: 'has space' },
      { ...note(), customerId: 'nope' },
      { kind: 'callPatch', id: randomUUID(), sipCallId: 'abc@h', patch: { customerId: randomUUID() } },
      { kind: 'callPatch', id: randomUUID(), sipCallId: 'abc@h', patch: { wrapUpSeconds: -1 } },
      { kind: 'callPatch', id: randomUUID(), sipCallId: 'abc@h', patch: { answeredAt: 'yesterday' } },
      { kind: 'callPatch', id: randomUUID(), sipCallId: 'abc@h' },
      { __proto__: { kind: 'note' } },
    ];
    for (let k = 0; k < 300; k++) {
      const n = note(randomUUID());
      const keys = Object.keys(n);
      const key = keys[k % keys.length]!;
      const junk = [null, 1, true, {}, [], 'x'.repeat(k), -k, { $ne: 1 }][k % 8];
      bad.push({ ...n, [key]: junk });
    }
    for (const payload of bad) {
      const r = await dispatch(APP_SENDER, 'outbox:enqueue', payload);
      // a typed answer every time: queued only when the mutation is still a valid item (a longer plain body, a null customer)
      expect(r.ok ? 'queued' : r.error.code).toBe(OutboxEnqueue.safeParse(payload).success ? 'queued' : 'invalid_payload');
    }
    for (const p of [{ x: 1 }, null, 'list']) expect(await dispatch(APP_SENDER, 'outbox:list', p)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const kept = s.outbox.list();
    for (const k of kept) expect(k.kind).toBe('note');
    expect(files()).not.toContain('x'.repeat(10));
    await s.outbox.close();
  });

  it('while locked: an item can still be handed (a call can end then), the list with its text is refused', async () => {
    const { s, dispatch } = await setup();
    s.lock.lock('idle');
    const patch = { kind: 'callPatch', id: randomUUID(), sipCallId: 'abc@10.0.0.1', patch: { endedAt: '2026-11-30T01:00:00Z' } };
    expect(await dispatch(APP_SENDER, 'outbox:enqueue', patch)).toEqual({ ok: true, value: { id: patch.id, status: 'queued' } });
    expect(await dispatch(APP_SENDER, 'outbox:list', {})).toMatchObject({ ok: false, error: { code: 'locked' } });
    expect(await dispatch(APP_SENDER, 'outbox:state', {})).toMatchObject({ ok: true, value: { open: true, pending: [{ id: patch.id, kind: 'callPatch' }] } });
    await s.outbox.close();
  });

  it('signed out (no outbox open): not_allowed, nothing written', async () => {
    const { dispatch, files } = await setup({ open: false });
    expect(await dispatch(APP_SENDER, 'outbox:enqueue', note())).toMatchObject({ ok: false, error: { code: 'not_allowed' } });
    expect(await dispatch(APP_SENDER, 'outbox:list', {})).toEqual({ ok: true, value: { items: [] } });
    expect(files()).toBe('');
  });

  it('its events carry no text (they also reach a locked window)', async () => {
    const { s, dispatch, events } = await setup();
    await dispatch(APP_SENDER, 'outbox:enqueue', note('お客様の住所 東京都港区'));
    const changed = events.filter(([e]) => e === 'outbox:changed');
    expect(changed.length).toBeGreaterThan(0);
    expect(JSON.stringify(changed)).not.toMatch(/住所|東京都|1111/);
    await s.outbox.close();
    expect(events.at(-1)).toEqual(['outbox:changed', { open: false, pending: [], unreadable: 0 }]);
  });
});
