// Main's durable outbox (main/outbox) against the real parts: keytar on a real Secret Service
// (gnome-keyring, started by `npm test`), the real file system, and a real gateway on loopback
// (tests/support/gateway-harness.ts) reached over HTTP by main's own GatewayClient.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient, type FetchFn } from '../../../shared/gateway-client';
import type { OutboxEnqueue, OutboxSettled } from '../../../shared/ipc/contract';
import { gatewaySender, OutboxService, type OutboxItem } from '../../../main/outbox/outbox';
import { outboxFileName, outboxKey, outboxKeyAccount, SealedLog, unseal } from '../../../main/outbox/sealed-log';
import { KeytarVault, loadKeytar, type KeytarLike } from '../../../main/secrets/vault';
import { startLoopbackGateway } from '../../support/gateway-harness';

let keytar: KeytarLike;
const service = `Koe outbox test ${randomUUID()}`;
let gw: Awaited<ReturnType<typeof startLoopbackGateway>>;
let opToken: string;
let op: { id: string; username: string; password: string };
let campaignId: string;
let customerId: string;
/** Where main's client sends: the gateway, or a closed port (the gateway "down"). */
let base = 'http://127.0.0.1:1';
const DOWN = 'http://127.0.0.1:1';
const client = new GatewayClient(() => base, ((url, init) => fetch(url, init)) as FetchFn, 5_000);
const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
const log = {
  warn: (message: string, fields?: Record<string, unknown>) => void logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
  error: (message: string, fields?: Record<string, unknown>) => void logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
};
const NOTE = '山田様 折り返し希望 カード 4111 1111 1111 1111 は使えず';
const REDACTED = '山田様 折り返し希望 カード **** **** **** 1111 は使えず';

beforeAll(async () => {
  const loaded = await loadKeytar();
  if (!loaded) throw new Error('keytar did not load: npm ci must build it (needs Debian package libsecret-1-dev)');
  keytar = loaded;
  if (!(await new KeytarVault(keytar, service).available())) {
    throw new Error('No Secret Service: run the tests with `npm test` (gnome-keyring inside dbus-run-session)');
  }
  gw = await startLoopbackGateway({ deviceBindingRoles: [] });
  op = await gw.addUser('operator', '佐藤 花子');
  opToken = await gw.client.token(op.username, op.password);
  const camp = await gw.asAdmin<{ id: string }>('POST', '/campaigns', { name: '東京ガス相談窓口', dids: ['0120-111-222'], hours: { timeZone: 'Asia/Tokyo', weekly: {} }, dispositions: ['解決', '折り返し'] });
  expect(camp.status).toBe(200);
  campaignId = camp.body.id;
  expect((await gw.asAdmin('PUT', `/campaigns/${campaignId}/assignments`, { userIds: [op.id] })).status).toBe(200);
  const cust = await gw.asAdmin<{ id: string }>('POST', '/customers', { campaignId, nameKanji: '山田 太郎', nameKana: 'ヤマダ タロウ', phones: ['090-1234-5678'] });
  customerId = cust.body.id;
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

/** A call of the operator's, recorded by the gateway's screen pop (as a ring does). */
async function newCall(): Promise<string> {
  const callId = `${randomUUID()}@10.0.0.9`;
  await gw.client.ok('POST', '/screen-pop', opToken, { callId, dialledNumber: '0120-111-222', callerNumber: '090-1234-5678' });
  return callId;
}

async function newOutbox(opts: { dir?: string; userId?: string; send?: (i: OutboxItem) => Promise<void> } = {}) {
  const dir = opts.dir ?? (await mkdtemp(path.join(process.env.TMPDIR ?? os.tmpdir(), 'koe-outbox-')));
  const vault = new KeytarVault(keytar, service);
  const sender = gatewaySender(client, async () => opToken);
  const sent: string[] = [];
  const settled: OutboxSettled[] = [];
  const outbox = new OutboxService({
    dir,
    vault,
    send: async (item) => {
      await (opts.send ?? sender)(item);
      sent.push(item.id);
    },
    now: () => Date.now(),
    log,
    maxDelayMs: 50,
  });
  outbox.onSettled((s) => settled.push(s));
  await outbox.open(opts.userId ?? op.id);
  return { outbox, dir, sent, settled, vault };
}

const note = (sipCallId: string, body = NOTE): Extract<OutboxEnqueue, { kind: 'note' }> => ({ kind: 'note', id: randomUUID(), sipCallId, customerId: null, body });
const patch = (sipCallId: string, p: Extract<OutboxEnqueue, { kind: 'callPatch' }>['patch']): OutboxEnqueue => ({ kind: 'callPatch', id: randomUUID(), sipCallId, patch: p });

async function until(cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const notesOf = (callId: string) =>
  gw.gw.ctx.db.selectFrom('notes').innerJoin('calls', 'calls.id', 'notes.call_id').select(['notes.client_note_id', 'notes.body', 'notes.created_at']).where('calls.sip_call_id', '=', callId).orderBy('notes.created_at').execute();
const auditCount = async (action: string) => (await gw.auditActions()).filter((a) => a === action).length;

/** Every file the outbox left, as raw text. */
async function filesOf(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return (await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')))).join('\n');
}

describe('the durable outbox (main): real keychain, real files, real gateway on loopback', () => {
  it('seals each item on disk before enqueue answers (no plaintext, a file named by no customer data), then sends all in order once the gateway is back', async () => {
    base = DOWN;
    const callId = await newCall();
    const { outbox, dir, sent } = await newOutbox();
    const items = [note(callId, 'one ' + NOTE), patch(callId, { answeredAt: '2026-11-30T01:00:00Z' }), note(callId, 'two'), patch(callId, { endedAt: '2026-11-30T01:03:00Z', disposition: '折り返し', wrapUpSeconds: 30 }), note(callId, 'three')];
    for (const i of items) {
      await outbox.enqueue(i);
      // on disk already, sealed: the file holds one more line, and nothing readable
      const raw = await filesOf(dir);
      expect(raw.trim().split('\n')).toHaveLength(items.indexOf(i) + 1);
    }
    const raw = await filesOf(dir);
    for (const plain of ['4111', '1111', '山田', 'one', callId, callId.split('@')[0]!, '折り返し', op.id]) expect(raw).not.toContain(plain);
    expect(await readdir(dir)).toEqual([outboxFileName(op.id)]);
    expect(outboxFileName(op.id)).not.toContain(op.id);
    expect((await stat(path.join(dir, outboxFileName(op.id)))).mode & 0o077).toBe(0);
    // the gateway is down: everything waits (and main retries)
    await until(() => outbox.state().pending[0]!.attempts >= 2);
    expect(outbox.state().pending.map((p) => p.id)).toEqual(items.map((i) => i.id));
    base = gw.url;
    outbox.flush();
    await until(() => outbox.state().pending.length === 0);
    expect(sent).toEqual(items.map((i) => i.id));
    const rows = await notesOf(callId);
    expect(rows.map((r) => r.body)).toEqual(['one ' + REDACTED, 'two', 'three']);
    const call = await gw.gw.ctx.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
    expect(call).toMatchObject({ disposition: '折り返し', wrap_up_seconds: 30, status: 'ended' });
    // nothing left: the file is gone
    await outbox.idle();
    expect(await readdir(dir)).toEqual([]);
    await outbox.close();
  });

  it('a record cut short by a crash mid-append is skipped and reported; the rest is kept, sent after the restart, and later appends start clean', async () => {
    base = DOWN;
    const callId = await newCall();
    const first = await newOutbox();
    const items = [note(callId, 'body-a'), note(callId, 'body-b'), note(callId, 'body-c')];
    for (const i of items) await first.outbox.enqueue(i);
    await first.outbox.close();
    const file = path.join(first.dir, outboxFileName(op.id));
    // the app died while writing the third record: half of its line is on disk, no newline
    const size = (await stat(file)).size;
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    await truncate(file, size - Math.floor(lines[2]!.length / 2) - 1);
    logs.length = 0;
    // restart: a new service reads the file
    const second = await newOutbox({ dir: first.dir });
    expect(second.outbox.state().pending.map((p) => p.id)).toEqual([items[0]!.id, items[1]!.id]);
    expect(second.outbox.state().unreadable).toBe(1);
    expect(logs.some((l) => l.level === 'error' && l.message.includes('could not be read') && l.fields?.truncatedTail === true)).toBe(true);
    expect(JSON.stringify(logs)).not.toMatch(/body-|山田|4111/);
    // a new item after the cut lands on a clean line: a third start reads all three
    const d = note(callId, 'body-d');
    await second.outbox.enqueue(d);
    await second.outbox.close();
    const third = await newOutbox({ dir: first.dir });
    expect(third.outbox.state()).toMatchObject({ unreadable: 0 });
    expect(third.outbox.list().map((e) => e.body)).toEqual(['body-a', 'body-b', 'body-d']);
    base = gw.url;
    third.outbox.flush();
    await until(() => third.outbox.state().pending.length === 0);
    expect((await notesOf(callId)).map((r) => r.body)).toEqual(['body-a', 'body-b', 'body-d']);
    await third.outbox.close();
  });

  it('an altered record in the middle is skipped and reported; the records around it are kept', async () => {
    base = DOWN;
    const callId = await newCall();
    const first = await newOutbox();
    const items = [note(callId, 'x1'), note(callId, 'x2'), note(callId, 'x3')];
    for (const i of items) await first.outbox.enqueue(i);
    await first.outbox.close();
    const file = path.join(first.dir, outboxFileName(op.id));
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const flipped = lines[1]!.slice(0, 30) + (lines[1]![30] === 'A' ? 'B' : 'A') + lines[1]!.slice(31);
    await writeFile(file, [lines[0], flipped, lines[2]].join('\n') + '\n');
    const second = await newOutbox({ dir: first.dir });
    expect(second.outbox.list().map((e) => e.body)).toEqual(['x1', 'x3']);
    expect(second.outbox.state().unreadable).toBe(1);
    await second.outbox.close();
  });

  it("another user on this PC cannot read them: their own file under their own key; this user's file does not open with theirs", async () => {
    base = DOWN;
    const callId = await newCall();
    const a = await newOutbox();
    await a.outbox.enqueue(note(callId, 'secret of A'));
    await a.outbox.close();
    const otherUser = randomUUID();
    // B signs in on the same PC (same folder): B's outbox is empty
    const b = await newOutbox({ dir: a.dir, userId: otherUser });
    expect(b.outbox.list()).toEqual([]);
    await b.outbox.close();
    const keyA = await outboxKey(a.vault, op.id);
    const keyB = await outboxKey(a.vault, otherUser);
    expect(keyA.created).toBe(false);
    expect(keyB.key.equals(keyA.key)).toBe(false);
    // A's file with B's key: nothing opens
    const aFile = new SealedLog(a.dir, op.id, keyB.key);
    const read = await aFile.load((r): r is unknown => true);
    expect(read.records).toEqual([]);
    expect(read.unreadable).toBe(1);
    // a line moved into another user's file does not open there either (the file name is sealed in)
    const line = (await readFile(path.join(a.dir, outboxFileName(op.id)), 'utf8')).trim();
    expect(unseal(keyA.key, outboxFileName(otherUser), line)).toBeNull();
    expect(unseal(keyA.key, outboxFileName(op.id), line)).not.toBeNull();
    // the key is in the keychain under the user's account, nowhere on disk
    const stored = await keytar.getPassword(service, outboxKeyAccount(op.id));
    expect(Buffer.from(stored!, 'base64url')).toHaveLength(32);
    expect(await filesOf(a.dir)).not.toContain(stored!);
    await keytar.deletePassword(service, outboxKeyAccount(otherUser));
  });

  it('the session end closes it: nothing listed, the plaintext out of memory, the sealed file kept and sent at the next sign-in', async () => {
    base = DOWN;
    const callId = await newCall();
    const s = await newOutbox();
    const n = note(callId, 'kept for the next sign-in');
    await s.outbox.enqueue(n);
    expect(await s.outbox.close()).toBe(1);
    expect(s.outbox.list()).toEqual([]);
    expect(s.outbox.state()).toEqual({ open: false, pending: [], unreadable: 0 });
    await expect(s.outbox.enqueue(note(callId, 'after'))).rejects.toThrow(/no outbox is open/);
    expect(await filesOf(s.dir)).not.toContain('kept');
    base = gw.url;
    const again = await newOutbox({ dir: s.dir });
    await until(() => again.outbox.state().pending.length === 0);
    expect((await notesOf(callId)).map((r) => r.body)).toEqual(['kept for the next sign-in']);
    await again.outbox.close();
  });

  it('refusals for good (4xx) are dropped and reported as refused; the items behind them still go', async () => {
    base = gw.url;
    const callId = await newCall();
    const s = await newOutbox();
    const notMine = note(`${randomUUID()}@elsewhere`, 'call of nobody'); // 404
    const badDisposition = patch(callId, { disposition: '注文' }); // 400: not the campaign's
    const good = note(callId, 'after the refusals');
    for (const i of [notMine, badDisposition, good]) await s.outbox.enqueue(i);
    await until(() => s.settled.length === 3);
    expect(s.settled).toEqual([
      { id: notMine.id, kind: 'note', outcome: 'refused' },
      { id: badDisposition.id, kind: 'callPatch', outcome: 'refused' },
      { id: good.id, kind: 'note', outcome: 'saved' },
    ]);
    expect((await notesOf(callId)).map((r) => r.body)).toEqual(['after the refusals']);
    await s.outbox.idle();
    expect(await readdir(s.dir)).toEqual([]);
    await s.outbox.close();
  });

  it('a resend after a lost answer (sent, then the app died before "done") saves each note and disposition exactly once', async () => {
    base = gw.url;
    const callId = await newCall();
    const real = gatewaySender(client, async () => opToken);
    let lose = 2;
    const s = await newOutbox({
      send: async (item) => {
        await real(item);
        // the gateway has it; the answer is lost on the way back
        if (lose-- > 0) throw new TypeError('socket hang up');
      },
    });
    const audits = await auditCount('call.dispositioned');
    const notesBefore = await auditCount('note.created');
    const n = note(callId, 'once');
    const p = patch(callId, { endedAt: '2026-11-30T02:00:00Z', disposition: '解決', wrapUpSeconds: 12 });
    await s.outbox.enqueue(n);
    await s.outbox.enqueue(p);
    await until(() => s.outbox.state().pending.length === 0);
    expect((await notesOf(callId)).map((r) => r.body)).toEqual(['once']);
    expect(await auditCount('note.created')).toBe(notesBefore + 1);
    expect(await auditCount('call.dispositioned')).toBe(audits + 1);
    // and after a restart that replays a record not marked done (crash between send and "done")
    base = DOWN;
    const dir = s.dir;
    await s.outbox.close();
    const again = await newOutbox({ dir });
    await again.outbox.enqueue(p); // the same record, as a replay finds it
    await again.outbox.enqueue(n);
    base = gw.url;
    again.outbox.flush();
    await until(() => again.outbox.state().pending.length === 0);
    expect((await notesOf(callId)).map((r) => r.body)).toEqual(['once']);
    expect(await auditCount('call.dispositioned')).toBe(audits + 1);
    await again.outbox.close();
  });

  it('1,000 queued items (notes and call updates) flushed in order against the loopback gateway, each once', async () => {
    base = DOWN;
    const calls = await Promise.all(Array.from({ length: 10 }, () => newCall()));
    const s = await newOutbox();
    const items: OutboxEnqueue[] = [];
    for (let k = 0; k < 1000; k++) {
      const callId = calls[k % calls.length]!;
      items.push(k % 4 === 3 ? patch(callId, { wrapUpSeconds: k }) : note(callId, `note ${k} ${NOTE}`));
    }
    const t0 = performance.now();
    for (const i of items) await s.outbox.enqueue(i);
    const queueMs = performance.now() - t0;
    expect(s.outbox.state().pending).toHaveLength(1000);
    // a restart in between: all 1,000 read back
    await s.outbox.close();
    const again = await newOutbox({ dir: s.dir });
    expect(again.outbox.state().pending.map((p) => p.id)).toEqual(items.map((i) => i.id));
    base = gw.url;
    const t1 = performance.now();
    again.outbox.flush();
    await until(() => again.outbox.state().pending.length === 0, 300_000);
    const flushMs = performance.now() - t1;
    expect(again.sent).toEqual(items.map((i) => i.id));
    const stored = await gw.gw.ctx.db.selectFrom('notes').select(['client_note_id']).where('client_note_id', 'in', items.filter((i) => i.kind === 'note').map((i) => i.id)).execute();
    expect(stored).toHaveLength(750);
    await again.outbox.idle();
    expect(await readdir(again.dir)).toEqual([]);
    // the gateway's own cost, for comparison: 100 notes posted one after another without the outbox
    const t2 = performance.now();
    for (let k = 0; k < 100; k++) await gatewaySender(client, async () => opToken)({ kind: 'note', id: randomUUID(), sipCallId: calls[0]!, customerId: null, body: `direct ${k}`, queuedAt: 0 });
    const directMs = (performance.now() - t2) / 100;
    console.log(
      `[outbox] 1,000 items: queued (sealed + synced each) in ${queueMs.toFixed(0)} ms; flushed to the loopback gateway in ${flushMs.toFixed(0)} ms ` +
        `(${(flushMs / 1000).toFixed(1)} ms/item; the gateway alone: ${directMs.toFixed(1)} ms/note)`,
    );
    await again.outbox.close();
  }, 320_000);

  it('the keychain unavailable: nothing is opened or written in plaintext', async () => {
    const dir = await mkdtemp(path.join(process.env.TMPDIR ?? os.tmpdir(), 'koe-outbox-'));
    const broken = new KeytarVault(
      { getPassword: async () => Promise.reject(new Error('locked')), setPassword: async () => Promise.reject(new Error('locked')), deletePassword: async () => false },
      service,
    );
    const outbox = new OutboxService({ dir, vault: broken, send: async () => undefined, now: () => Date.now(), log });
    await expect(outbox.open(op.id)).rejects.toThrow(/keychain/i);
    await expect(outbox.enqueue(note(randomUUID(), 'x'))).rejects.toThrow(/no outbox is open/);
    expect(await readdir(dir)).toEqual([]);
  });
});
