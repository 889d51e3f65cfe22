// Two gateway instances on one database (issue 14, live state and fan-out): deadlines fire once
// whichever instance sees them due (and whatever their clocks say), an operator's change made
// through one instance reaches the operator's and the lead's sockets on the other, supervision
// sessions and their rtpengine legs are rows any instance tears down (once), and the
// registration reports, the SIP cut list and the sign-in throttles are shared.
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../../server/clock';
import type { GatewayConfigInput } from '../../../server/config';
import { createGateway, type Gateway } from '../../../server/gateway';
import { authenticate } from '../../../server/principal';
import { bdecode, bencode } from '../../../server/supervision/ng';
import { BACKENDS, setup, testGatewayConfig, type Harness, type TestUser } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUTE_SECRET = 'route-secret-route-secret-0123456789';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';

/** A fake rtpengine ng endpoint: live calls answer `query` with two dialogue tags; every command is recorded. */
class FakeEngine {
  readonly live = new Set<string>();
  readonly commands: Record<string, any>[] = [];
  private seq = 0;
  private constructor(readonly sock: Socket, readonly port: number) {}
  static async start(): Promise<FakeEngine> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const e = new FakeEngine(sock, sock.address().port);
    sock.on('message', (m, rinfo) => {
      const sp = m.indexOf(0x20);
      const cookie = m.toString('ascii', 0, sp);
      const req = bdecode(m.subarray(sp + 1)) as Record<string, any>;
      e.commands.push(req);
      const callId = String(req['call-id'] ?? '');
      let answer: Record<string, unknown> = { result: 'ok' };
      if (req.command === 'query') {
        answer = e.live.has(callId)
          ? { result: 'ok', tags: { [`cust-${callId}`]: { subscriptions: [{ type: 'offer/answer' }] }, [`op-${callId}`]: { subscriptions: [{ type: 'offer/answer' }] } } }
          : { result: 'error', 'error-reason': 'Unknown call-id' };
      } else if (req.command === 'subscribe request' || req.command === 'publish') {
        answer = { result: 'ok', 'to-tag': `sub-${++e.seq}`, sdp: SDP };
      } else if (req.command === 'list') {
        answer = { result: 'ok', calls: [...e.live] };
      }
      sock.send(Buffer.concat([Buffer.from(`${cookie} `), bencode(answer as never)]), rinfo.port, rinfo.address);
    });
    return e;
  }
  unsubscribed(toTag: string): number {
    return this.commands.filter((c) => c.command === 'unsubscribe' && c['to-tag'] === toTag).length;
  }
  close() {
    this.sock.close();
  }
}

interface Client {
  messages: any[];
  next(pred: (m: any) => boolean, ms?: number): Promise<any>;
  send(m: unknown): void;
  close(): void;
}

async function open(base: string, token: string): Promise<Client> {
  const ws = new WebSocket(`${base}/ws`);
  const messages: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (raw) => {
    messages.push(JSON.parse(raw.toString()));
    for (const w of [...waiters]) w();
  });
  const next = (pred: (m: any) => boolean, ms = 3000) =>
    new Promise<any>((resolve, reject) => {
      const check = () => {
        const hit = messages.find(pred);
        if (!hit) return;
        waiters.delete(check);
        clearTimeout(t);
        resolve(hit);
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timeout; got ${JSON.stringify(messages.slice(-5))}`));
      }, ms);
      waiters.add(check);
      check();
    });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'auth', accessToken: token }));
  await next((m) => m.type === 'ready');
  return { messages, next, send: (m) => ws.send(JSON.stringify(m)), close: () => ws.close() };
}

/** Instance B on A's database, with its own clock (a skewed one where a test says so). */
function secondInstance(h: Harness, clock: ManualClock, config: GatewayConfigInput = {}): Promise<Gateway> {
  return createGateway({
    db: h.db,
    clock,
    migrate: false,
    config: testGatewayConfig({ ws: { revalidateSeconds: 600 }, ...config }, h.url),
  });
}

describe.each(BACKENDS)('two instances on %s: deadlines fire once', (backend) => {
  let h: Harness;
  let b: Gateway;
  let clockB: ManualClock;
  beforeAll(async () => {
    h = await setup(backend);
    // B's clock runs 5 s ahead of A's: it sees every deadline due first
    clockB = new ManualClock(new Date(h.clock.now().getTime() + 5_000));
    b = await secondInstance(h, clockB);
    h.gw.ctx.agents.close(); // the test drives both sweepers
    b.ctx.agents.close();
    await h.patchPolicy({ agents: { wrapUpSeconds: 2 } });
  });
  afterAll(async () => {
    await b?.close();
    await h?.close();
  });

  it('a wrap-up deadline swept by both instances at once (clocks 5 s apart) fires exactly once: one transition, one audit', async () => {
    const agents = h.gw.ctx.agents;
    const ops: TestUser[] = [];
    for (let i = 0; i < 12; i++) ops.push(await h.newUser('operator'));
    for (const u of ops) {
      const who = { userId: u.id, orgId: h.orgId, username: u.username };
      await agents.apply(who, { type: 'connected' });
      await agents.apply(who, { type: 'microphone', available: true });
      await agents.apply(who, { type: 'setAvailability', state: 'ready' });
      await agents.apply(who, { type: 'offer', callId: `dl-${u.id}@x` });
      await agents.apply(who, { type: 'answered', callId: `dl-${u.id}@x` });
      await agents.apply(who, { type: 'ended', callId: `dl-${u.id}@x`, cause: 'completed' });
      expect((await agents.get(u.id))!.model.agent).toBe('wrap_up');
    }
    // A: not due yet (1 s of 2); B (5 s ahead): due. Then both past it; every round both sweep at once.
    h.clock.advance(1_000);
    clockB.advance(1_000);
    for (let round = 0; round < 4; round++) {
      await Promise.all([h.gw.ctx.agents.sweep(), b.ctx.agents.sweep(), h.gw.ctx.agents.sweep(), b.ctx.agents.sweep()]);
      h.clock.advance(1_000);
      clockB.advance(1_000);
    }
    await Promise.all([h.gw.ctx.agents.idle(), b.ctx.agents.idle()]);
    const ids = ops.map((u) => u.id);
    const fired = await h.db
      .selectFrom('operator_transitions')
      .select(['user_id', 'event'])
      .where('user_id', 'in', ids)
      .where('subject', '=', 'agent')
      .where('from_state', '=', 'wrap_up')
      .execute();
    const audits = (await h.db.selectFrom('audit_log').select(['target_id', 'detail']).where('action', '=', 'agent.state').where('target_id', 'in', ids).execute())
      .map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail))
      .filter((d) => d.previous === 'wrap_up');
    for (const u of ops) {
      expect(fired.filter((t) => t.user_id === u.id)).toEqual([{ user_id: u.id, event: 'tick' }]);
      expect((await agents.get(u.id))!.model.agent).toBe('ready');
      expect((await h.db.selectFrom('operator_states').select('next_deadline').where('user_id', '=', u.id).executeTakeFirstOrThrow()).next_deadline).toBeNull();
    }
    expect(audits).toHaveLength(ops.length);
  });

  it('a row another instance holds is skipped, not waited for; the deadline still fires once', async () => {
    const u = await h.newUser('operator');
    const who = { userId: u.id, orgId: h.orgId, username: u.username };
    const agents = h.gw.ctx.agents;
    await agents.apply(who, { type: 'connected' });
    await agents.apply(who, { type: 'microphone', available: true });
    await agents.apply(who, { type: 'setAvailability', state: 'ready' });
    await agents.apply(who, { type: 'offer', callId: `hold-${u.id}@x` });
    await agents.apply(who, { type: 'answered', callId: `hold-${u.id}@x` });
    await agents.apply(who, { type: 'ended', callId: `hold-${u.id}@x`, cause: 'completed' });
    h.clock.advance(3_000);
    clockB.advance(3_000);
    if (backend === 'postgres') {
      // another transaction holds the row: B's tick skips it (returns at once) instead of queueing
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const tx = h.db.transaction().execute(async (t) => {
        await t.selectFrom('operator_states').select('user_id').where('user_id', '=', u.id).forUpdate().execute();
        locked();
        await held;
      });
      await isLocked;
      expect(await b.ctx.agents.tickIfDue(who)).toBe('not_due');
      release();
      await tx;
    }
    const outs = await Promise.all([agents.tickIfDue(who), b.ctx.agents.tickIfDue(who), agents.tickIfDue(who)]);
    expect(outs.filter((o) => o !== 'not_due' && o.kind === 'accepted')).toHaveLength(1);
    expect((await agents.get(u.id))!.model.agent).toBe('ready');
  });
});

describe.each(BACKENDS)('two instances on %s: fan-out and shared live state', (backend) => {
  let h: Harness;
  let b: Gateway;
  let baseA = '';
  let baseB = '';
  let engine: FakeEngine;
  let lead: TestUser;
  let adminToken = '';
  const clients: Client[] = [];
  const connect = async (base: string, u: TestUser) => {
    const c = await open(base, await h.token(u));
    clients.push(c);
    return c;
  };
  const team = async (...operators: TestUser[]) => {
    const id = randomUUID();
    await h.db.insertInto('teams').values({ id, org_id: h.orgId, name: `team-${id.slice(0, 8)}` }).execute();
    await h.db.insertInto('team_members').values([{ team_id: id, user_id: lead.id, member_role: 'lead' }, ...operators.map((o) => ({ team_id: id, user_id: o.id, member_role: 'operator' as const }))]).execute();
  };
  const inject = (gw: Gateway, method: string, url: string, token: string, body?: unknown) =>
    gw.app.inject({
      method: method as 'GET',
      url,
      remoteAddress: '10.0.0.1',
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    engine = await FakeEngine.start();
    const sip = { routeSecret: ROUTE_SECRET, rtpengineNg: `127.0.0.1:${engine.port}` };
    h = await setup(backend, { ws: { revalidateSeconds: 600 }, sip });
    b = await secondInstance(h, h.clock, { sip });
    baseA = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    baseB = (await b.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    lead = h.users.lead;
    adminToken = await h.token(h.users.admin);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await sleep(100);
    await b?.close();
    await h?.close();
    engine?.close();
  });

  it('an operator\'s state change through A reaches the operator\'s own socket and the lead\'s board on B', async () => {
    const op = await h.newUser('operator');
    await team(op);
    const opB = await connect(baseB, op);
    const leadB = await connect(baseB, lead);
    leadB.send({ type: 'boardSubscribe' });
    await leadB.next((m) => m.type === 'board' && m.operators.some((o: any) => o.userId === op.id));
    const opA = await connect(baseA, op); // the same operator's second client, on A
    const t0 = performance.now();
    opA.send({ type: 'operator', id: 'x1', intent: { kind: 'setAvailability', state: 'break' } });
    const own = await opB.next((m) => m.type === 'operatorState' && m.view.agent === 'break');
    const tOwn = performance.now() - t0;
    const row = await leadB.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.state === 'break');
    const tBoard = performance.now() - t0;
    console.log(`${backend}: state change on A -> operator socket on B ${tOwn.toFixed(0)} ms, lead board on B ${tBoard.toFixed(0)} ms`);
    expect(own.id).toBeUndefined(); // the answer with the id went to the socket that asked (on A)
    await opA.next((m) => m.type === 'operatorState' && m.id === 'x1');
    expect(row.operator.state).toBe('break');
    expect(b.ctx.bus.stats.remote).toBeGreaterThan(0);
    // a registration reported on A shows on B's board; a call row touched on A re-reads the row on B
    opA.send({ type: 'registration', state: 'failed' });
    await leadB.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.registration === 'failed');
    const before = leadB.messages.length;
    h.gw.ctx.supervision.touch(op.id);
    await leadB.next((m) => leadB.messages.indexOf(m) >= before && m.type === 'boardUpdate' && m.operator.userId === op.id);
  });

  it('the board is one set of queries for the whole team (no query per operator)', async () => {
    const ops: TestUser[] = [];
    for (let i = 0; i < 15; i++) ops.push(await h.newUser('operator'));
    await team(...ops);
    const p = await authenticate(h.gw.ctx, `Bearer ${adminToken}`, '10.0.0.1');
    let queries = 0;
    const db = h.gw.ctx.db as any;
    const execute = db.getExecutor().executeQuery.bind(db.getExecutor());
    const executor = db.getExecutor();
    executor.executeQuery = (...args: any[]) => {
      queries++;
      return execute(...args);
    };
    try {
      const rows = await h.gw.ctx.supervision.board(p);
      expect(rows.length).toBeGreaterThanOrEqual(15);
    } finally {
      executor.executeQuery = execute;
    }
    console.log(`${backend}: board of ${ops.length}+ operators: ${queries} queries`);
    expect(queries).toBeLessThanOrEqual(6);
  });

  it('a supervision started through B: A lists it and stops it; the legs are torn down once and the lead\'s socket on B hears it', async () => {
    const op = await h.newUser('operator');
    await team(op);
    const callId = `sup-${randomUUID()}@x`;
    engine.live.add(callId);
    const now = h.clock.now();
    await h.db
      .insertInto('calls')
      .values({
        id: randomUUID(), org_id: h.orgId, sip_call_id: callId, operator_id: op.id, campaign_id: null, customer_id: null, caller_e164: '+819011112222',
        dialled_e164: null, blocked: false, status: 'answered', ringing_at: now, answered_at: now, ended_at: null, disposition: null, wrap_up_seconds: null,
        created_at: now, updated_at: now,
      })
      .execute();
    await connect(baseA, op);
    const who = { userId: op.id, orgId: h.orgId, username: op.username };
    expect((await h.gw.ctx.agents.apply(who, { type: 'dial', callId })).kind).toBe('accepted');
    expect((await h.gw.ctx.agents.apply(who, { type: 'answered', callId })).kind).toBe('accepted');
    const leadToken = await h.token(lead);
    const leadB = await connect(baseB, lead);
    const started = await inject(b, 'POST', '/supervision', leadToken, { callId });
    expect(started.statusCode, started.body).toBe(200);
    const { supervisionId } = started.json();
    const listenTag = engine.commands.filter((c) => c.command === 'subscribe request').length;
    expect(listenTag).toBeGreaterThan(0);
    const row = await h.db.selectFrom('supervision_sessions').selectAll().where('id', '=', supervisionId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ call_id: callId, lead_id: lead.id, operator_id: op.id, rtpengine: `127.0.0.1:${engine.port}`, ended_at: null });
    // A (which did not start it) lists it
    expect((await h.gw.ctx.supervision.active()).map((s) => s.supervisionId)).toContain(supervisionId);
    // stopped through A (and B), at the same time as the call's end is reported to both: one teardown
    const [stop] = await Promise.all([
      inject(h.gw, 'DELETE', `/supervision/${supervisionId}`, leadToken), b.ctx.supervision.callEnded(callId), h.gw.ctx.supervision.callEnded(callId),
      inject(b, 'DELETE', `/supervision/${supervisionId}`, leadToken), b.ctx.supervision.callEnded(callId),
    ]);
    expect([200, 404]).toContain(stop.statusCode);
    const ended = await leadB.next((m) => m.type === 'supervisionEnded' && m.supervisionId === supervisionId);
    expect(['stopped', 'call_ended']).toContain(ended.reason);
    expect(engine.unsubscribed(row.listen_to_tag)).toBe(1);
    const audits = (await h.db.selectFrom('audit_log').select('detail').where('action', '=', 'supervision.stopped').execute())
      .map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail))
      .filter((d) => d.supervisionId === supervisionId);
    expect(audits).toHaveLength(1);
    expect((await b.ctx.supervision.active()).map((s) => s.supervisionId)).not.toContain(supervisionId);
    await sleep(300);
    expect(leadB.messages.filter((m) => m.type === 'supervisionEnded' && m.supervisionId === supervisionId)).toHaveLength(1);
  });

  it('a whisper leg: the offer reaches the operator\'s socket on A, their answer there wakes B, and a call end on A tears it down', async () => {
    const op = await h.newUser('operator');
    await team(op);
    const callId = `wh-${randomUUID()}@x`;
    engine.live.add(callId);
    const now = h.clock.now();
    await h.db
      .insertInto('calls')
      .values({
        id: randomUUID(), org_id: h.orgId, sip_call_id: callId, operator_id: op.id, campaign_id: null, customer_id: null, caller_e164: '+819011112222',
        dialled_e164: null, blocked: false, status: 'answered', ringing_at: now, answered_at: now, ended_at: null, disposition: null, wrap_up_seconds: null,
        created_at: now, updated_at: now,
      })
      .execute();
    const opA = await connect(baseA, op);
    const who = { userId: op.id, orgId: h.orgId, username: op.username };
    await h.gw.ctx.agents.apply(who, { type: 'dial', callId });
    await h.gw.ctx.agents.apply(who, { type: 'answered', callId });
    const leadToken = await h.token(lead);
    const leadB = await connect(baseB, lead);
    const { supervisionId } = (await inject(b, 'POST', '/supervision', leadToken, { callId })).json();
    expect((await inject(b, 'POST', `/supervision/${supervisionId}/mode`, leadToken, { mode: 'whisper', publishOffer: SDP })).statusCode).toBe(200);
    // the second call (the lead's connection is up) opens the operator's leg and waits for their answer
    const switching = inject(b, 'POST', `/supervision/${supervisionId}/mode`, leadToken, { mode: 'whisper' });
    const offer = await opA.next((m) => m.type === 'supervisionOffer');
    expect(offer.sdp).toContain('m=audio');
    const t0 = performance.now();
    opA.send({ type: 'supervisionAnswer', legId: offer.legId, sdp: SDP });
    const res = await switching;
    expect(res.statusCode, res.body).toBe(200);
    expect(performance.now() - t0).toBeLessThan(4_000); // woken by the answer, not the 5 s wait
    expect(res.json().operatorConnected).toBe(true);
    const leg = await h.db.selectFrom('supervision_sessions').selectAll().where('id', '=', supervisionId).executeTakeFirstOrThrow();
    // Kamailio reports the end to A: the session B started ends, both legs go, both sockets hear it
    const ended = await inject(h.gw, 'GET', `/sip/call-ended?callId=${encodeURIComponent(callId)}`, '');
    expect(ended.statusCode).toBe(401); // (the route wants Kamailio's secret, not a bearer)
    const res2 = await h.gw.app.inject({ method: 'GET', url: `/sip/call-ended?callId=${encodeURIComponent(callId)}`, headers: { 'x-koe-route-secret': ROUTE_SECRET } });
    expect(res2.json()).toMatchObject({ closed: 1 });
    await opA.next((m) => m.type === 'supervisionStop' && m.legId === offer.legId);
    await leadB.next((m) => m.type === 'supervisionEnded' && m.supervisionId === supervisionId && m.reason === 'call_ended');
    expect(engine.unsubscribed(leg.operator_to_tag!)).toBe(1);
    expect(engine.unsubscribed(leg.listen_to_tag)).toBe(1);
  });

  it('the SIP cut list is shared: a revoke through A is read by B (and by an instance started afterwards)', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u);
    expect((await inject(h.gw, 'POST', `/admin/users/${u.id}/sessions/revoke`, adminToken)).statusCode).toBe(200);
    await h.gw.ctx.sipAccess.idle();
    const cut = await b.ctx.sipAccess.revokedAt(u.id);
    expect(cut).toEqual(h.clock.now());
    expect(await b.ctx.sipAccess.issueSecond(u.id, h.clock.now())).toBe(Math.floor(cut!.getTime() / 1000) + 1);
    await b.ctx.sipAccess.idle();
    // B heard the revoke too, but the cut is made once (by A): still the same second
    expect(await h.gw.ctx.sipAccess.revokedAt(u.id)).toEqual(cut);
    const c = await secondInstance(h, h.clock);
    try {
      expect(await c.ctx.sipAccess.revokedAt(u.id)).toEqual(cut);
    } finally {
      await c.close();
    }
  });
});

describe.each(BACKENDS)('two instances on %s: sign-in throttles are one limit', (backend) => {
  let h: Harness;
  let b: Gateway;
  const limits = { authRateLimit: { capacity: 6, refillPerMinute: 6 }, ipFailureLimit: { maxFailures: 4, windowMinutes: 15 } };
  beforeAll(async () => {
    h = await setup(backend, limits);
    b = await secondInstance(h, h.clock, limits);
  });
  afterAll(async () => {
    await b?.close();
    await h?.close();
  });
  const challenge = (gw: Gateway, ip: string) =>
    gw.app.inject({ method: 'POST', url: '/auth/challenge', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'x-user', purpose: 'sign-in' }) });

  it('the token bucket counts requests through both instances, concurrently, as one', async () => {
    const ip = '198.51.100.70';
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => challenge(i % 2 ? b : h.gw, ip)));
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(6);
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(4);
    h.clock.advance(10_000); // one token (6 a minute)
    expect((await challenge(b, ip)).statusCode).toBe(200);
    expect((await challenge(h.gw, ip)).statusCode).toBe(429);
  });

  it('failed sign-ins through A and B add up per address; a restarted instance still knows them', async () => {
    const ip = '203.0.113.70';
    const fail = (gw: Gateway, i: number) =>
      gw.app.inject({ method: 'POST', url: '/auth/sign-in', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: `spray-${i}`, password: 'Summer-2026-Pass!' }) });
    for (let i = 0; i < 4; i++) {
      h.clock.advanceMinutes(1);
      expect((await fail(i % 2 ? b : h.gw, i)).json().error.code).toBe('invalid_credentials');
    }
    const c = await secondInstance(h, h.clock, limits);
    try {
      const blocked = await fail(c, 99);
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
    h.clock.advanceMinutes(16);
    expect((await fail(b, 100)).json().error.code).toBe('invalid_credentials');
  });
});

describe.each(BACKENDS)('two instances on %s: who holds a connection', (backend) => {
  let h: Harness;
  let b: Gateway;
  let baseA = '';
  let baseB = '';
  beforeAll(async () => {
    h = await setup(backend, { ws: { revalidateSeconds: 600 } });
    b = await secondInstance(h, h.clock);
    baseA = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    baseB = (await b.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await b?.close();
    await h?.close();
  });
  const stored = async (id: string) => (await h.gw.ctx.agents.get(id))!.model;

  it('a starting instance leaves the live ones\' connections alone; a gone instance\'s are released once (by whichever instance sees it first), and its late close counts nothing', async () => {
    const op = await h.newUser('operator');
    const onA = await open(baseA, await h.token(op));
    await h.gw.ctx.agents.idle();
    expect((await stored(op.id)).connections).toBe(1);
    // a third instance starts (a rolling restart): A is alive, its connection stays counted
    const c = await secondInstance(h, h.clock);
    try {
      expect((await stored(op.id)).connections).toBe(1);
      const version = (await stored(op.id)).version;
      // A is gone (its heartbeat row: removed as a stopped process does; a killed one ages out in 15 s)
      await h.db.deleteFrom('gateway_instances').where('id', '=', h.gw.ctx.bus.origin).execute();
      await Promise.all([b.ctx.agents.recoverConnections(), c.ctx.agents.recoverConnections(), b.ctx.agents.recoverConnections()]);
      const after = await stored(op.id);
      expect(after).toMatchObject({ connections: 0, version: version + 1, graceUntil: h.clock.now().getTime() + 20_000 });
      expect(await h.db.selectFrom('operator_connections').selectAll().where('user_id', '=', op.id).execute()).toEqual([]);
      // the client reconnects through B within the grace; A's socket closing late releases nothing more
      const onB = await open(baseB, await h.token(op));
      await b.ctx.agents.idle();
      onA.close();
      await sleep(200);
      await h.gw.ctx.agents.idle();
      expect((await stored(op.id)).connections).toBe(1);
      onB.close();
      await sleep(200);
      await b.ctx.agents.idle();
    } finally {
      await c.close();
    }
  });
});
