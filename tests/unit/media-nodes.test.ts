// server/sip/media-nodes.ts: which rtpengine holds a call, against fake rtpengines (ng over UDP)
// and an in-memory database. Hostile reports are ignored (never stored), a node that is down is
// skipped, a wrong or stale record is corrected by asking the nodes.
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/connect';
import { migrateToLatest } from '../../server/db/migrations';
import type { Db } from '../../server/db/schema';
import { MediaNodes } from '../../server/sip/media-nodes';
import { bdecode, bencode } from '../../server/supervision/ng';

/** A fake rtpengine: answers ng `query` / `list` / `subscribe request` for the calls it holds. */
class FakeRtpengine {
  readonly calls = new Set<string>();
  /** Deleted, within rtpengine's delete-delay: `query` says unknown, `unsubscribe` still works. */
  readonly deleted = new Set<string>();
  readonly commands: string[] = [];
  private constructor(readonly sock: Socket, readonly port: number) {
    sock.on('message', (m, rinfo) => {
      const sp = m.indexOf(0x20);
      const cookie = m.toString('ascii', 0, sp);
      const req = bdecode(m.subarray(sp + 1)) as Record<string, unknown>;
      this.commands.push(`${req.command} ${req['call-id'] ?? ''}`);
      let answer: Record<string, unknown>;
      if (req.command === 'list') answer = { result: 'ok', calls: [...this.calls] };
      else if (typeof req['call-id'] === 'string' && this.calls.has(req['call-id'])) answer = { result: 'ok', node: this.port };
      else if (typeof req['call-id'] === 'string' && this.deleted.has(req['call-id']) && req.command !== 'query') answer = { result: 'ok', node: this.port };
      else answer = { result: 'error', 'error-reason': 'Unknown call-id' };
      sock.send(Buffer.concat([Buffer.from(`${cookie} `), bencode(answer as never)]), rinfo.port, rinfo.address);
    });
  }
  static async start(): Promise<FakeRtpengine> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new FakeRtpengine(sock, (sock.address() as { port: number }).port);
  }
  get address() {
    return `127.0.0.1:${this.port}`;
  }
  close() {
    this.sock.close();
  }
}

let db: Db;
let a: FakeRtpengine;
let b: FakeRtpengine;
let orgId: string;
let userId: string;
const warnings: string[] = [];

async function newCall(mediaNode: string | null = null): Promise<string> {
  const callId = `${randomUUID()}@test`;
  const now = new Date();
  await db
    .insertInto('calls')
    .values({
      id: randomUUID(), org_id: orgId, sip_call_id: callId, operator_id: userId, campaign_id: null, customer_id: null, caller_e164: null, dialled_e164: null,
      blocked: false, status: 'answered', ringing_at: now, answered_at: now, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
    })
    .execute();
  if (mediaNode) await db.updateTable('calls').set({ media_node: mediaNode }).where('sip_call_id', '=', callId).execute();
  return callId;
}
const recorded = async (callId: string) => (await db.selectFrom('calls').select('media_node').where('sip_call_id', '=', callId).executeTakeFirstOrThrow()).media_node;

beforeAll(async () => {
  db = await openDatabase({ kind: 'pglite', dataDir: null });
  await migrateToLatest(db);
  orgId = randomUUID();
  userId = randomUUID();
  const roleId = randomUUID();
  const now = new Date();
  await db.insertInto('orgs').values({ id: orgId, name: 'media', policy: '{}', created_at: now } as never).execute();
  await db.insertInto('roles').values({ id: roleId, org_id: orgId, key: 'operator', name: 'op', permissions: '[]', builtin: true } as never).execute();
  await db
    .insertInto('users')
    .values({ id: userId, org_id: orgId, username: `op-${userId.slice(0, 6)}`, display_name: 'op', role_id: roleId, password_hash: 'x', password_changed_at: now, disabled: false, created_at: now } as never)
    .execute();
  a = await FakeRtpengine.start();
  b = await FakeRtpengine.start();
}, 60_000); // PGlite + every migration
afterAll(async () => {
  a?.close();
  b?.close();
  await db?.destroy();
});

const nodes = () => new MediaNodes(db, [a.address, b.address], (m) => warnings.push(m), { timeoutMs: 100, retries: 0 });

describe('MediaNodes', () => {
  it('records the node Kamailio reported, and sends each ng command to the node holding the call', async () => {
    const m = nodes();
    const callId = await newCall();
    b.calls.add(callId);
    expect(await m.record(callId, b.address)).toBe(true);
    expect(await recorded(callId)).toBe(b.address);
    const before = a.commands.length;
    expect(await m.command('subscribe request', { 'call-id': callId })).toMatchObject({ result: 'ok', node: b.port });
    expect(a.commands.length).toBe(before); // the recorded node knew it: the other was not asked
    m.close();
  });

  it('a reported node that is not configured (hostile or misconfigured Kamailio) is ignored, logged, never stored', async () => {
    const m = nodes();
    const callId = await newCall();
    for (const bad of ['10.9.9.9:22222', '127.0.0.1:1', "127.0.0.1:22222'; drop table calls;--", 'x'.repeat(500)]) {
      expect(await m.record(callId, bad)).toBe(false);
    }
    expect(await m.record(callId, '')).toBe(false); // not reported: nothing to say
    expect(await recorded(callId)).toBeNull();
    expect(warnings.filter((w) => w.includes('not a configured node')).length).toBeGreaterThanOrEqual(4);
    expect(warnings.every((w) => w.length < 300)).toBe(true); // the value is cut in the log
    m.close();
  });

  it('no record (an outbound call) or a stale one: the node answering `query` is found and recorded', async () => {
    const m = nodes();
    const outbound = await newCall();
    a.calls.add(outbound);
    expect(await m.nodeFor(outbound)).toBe(a.address);
    expect(await recorded(outbound)).toBe(a.address);
    const moved = await newCall(a.address); // recorded on a, but b holds it
    b.calls.add(moved);
    expect(await m.command('query', { 'call-id': moved })).toMatchObject({ node: b.port });
    expect(await recorded(moved)).toBe(b.address);
    m.close();
  });

  it('a call just ended (no node answers `query`): the teardown\'s unsubscribe still goes to the recorded node', async () => {
    const m = nodes();
    const ended = await newCall(b.address);
    b.deleted.add(ended);
    expect(await m.command('unsubscribe', { 'call-id': ended, 'to-tag': 't' })).toMatchObject({ result: 'ok', node: b.port });
    m.close();
  });

  it('a call no node holds is `unknown call` (supervision refuses "not live"); a command without call-id is refused', async () => {
    const m = nodes();
    const gone = await newCall(a.address);
    await expect(m.command('subscribe request', { 'call-id': gone })).rejects.toThrow(/unknown call/i);
    await expect(m.command('list')).rejects.toThrow(/no call-id/);
    m.close();
  });

  it('a node that is down is skipped (logged); when no node can be asked, it throws instead of answering "unknown"', async () => {
    const dead = await FakeRtpengine.start();
    const deadAddress = dead.address;
    dead.close();
    const m = new MediaNodes(db, [deadAddress, b.address], (w) => warnings.push(w), { timeoutMs: 100, retries: 0 });
    const callId = await newCall(deadAddress);
    b.calls.add(callId);
    expect(await m.nodeFor(callId)).toBe(b.address);
    expect(warnings.some((w) => w.includes(deadAddress) && w.includes('could not be asked'))).toBe(true);
    const onlyDead = new MediaNodes(db, [deadAddress], () => undefined, { timeoutMs: 100, retries: 0 });
    await expect(onlyDead.nodeFor(callId)).rejects.toThrow(/no answer/);
    m.close();
    onlyDead.close();
  });

  it('the watchdog sees the live calls of every node; one node failing fails the whole list', async () => {
    const m = nodes();
    a.calls.add('live-a');
    b.calls.add('live-b');
    const all = await m.liveCalls(async (ng) => (await ng.command('list')).calls as string[]);
    expect(all).toEqual(expect.arrayContaining(['live-a', 'live-b']));
    await expect(m.liveCalls(async (ng) => (ng.port === b.port ? Promise.reject(new Error('down')) : []))).rejects.toThrow('down');
    m.close();
  });

  it('refuses a configuration that is not host:port', () => {
    expect(() => new MediaNodes(db, ['rtpengine.local:22222'])).toThrow(/IPv4 host:port/);
    expect(() => new MediaNodes(db, [])).toThrow(/none configured/);
  });
});
