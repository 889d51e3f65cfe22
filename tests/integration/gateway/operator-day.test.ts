// Issue 12: the gateway owns the operator model (server/sip/agents.ts AgentRegistry.apply, the
// one writer). Each edge of an operator's day, driven as a client drives it: a raw /ws client
// sending `operator` intents and phone facts, Kamailio's routing and call-ended requests, the
// sweeper with the injected clock, the watchdog against a fake rtpengine (ng over UDP), and a
// restarted gateway on the same database. Asserted: what the sockets are told, the stored
// state, the history (operator_transitions), the calls rows and the audit.
import { createSocket, type Socket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { setBackgroundReporter } from '../../../server/background';
import { createGateway, type Gateway } from '../../../server/gateway';
import { parseState } from '../../../server/sip/agents';
import { bdecode, bencode } from '../../../server/supervision/ng';
import { invariantProblems, newerView, viewOf, type OperatorView } from '../../../shared/rules/operator-model';
import { TEST_ARGON2 } from '../../../server/config';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake rtpengine ng endpoint: answers `list` with the calls the test says are live. */
class FakeNg {
  live: string[] = [];
  fail = false;
  lists = 0;
  private constructor(readonly sock: Socket, readonly port: number) {}
  static async start(): Promise<FakeNg> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const ng = new FakeNg(sock, sock.address().port);
    sock.on('message', (m, rinfo) => {
      const sp = m.indexOf(0x20);
      const cookie = m.toString('ascii', 0, sp);
      const req = bdecode(m.subarray(sp + 1)) as Record<string, unknown>;
      let answer: Record<string, unknown>;
      if (req.command === 'list') {
        ng.lists++;
        answer = ng.fail ? { result: 'error', 'error-reason': 'on purpose' } : { result: 'ok', calls: ng.live };
      } else answer = { result: 'error', 'error-reason': 'unknown command' };
      sock.send(Buffer.concat([Buffer.from(`${cookie} `), bencode(answer as never)]), rinfo.port, rinfo.address);
    });
    return ng;
  }
  close() {
    this.sock.close();
  }
}

interface Client {
  ws: WebSocket;
  messages: any[];
  closed: Promise<void>;
  next(pred: (m: any) => boolean, ms?: number): Promise<any>;
  /** Sends an intent and waits for its answer: a newer operatorState, or operatorRefused with its id. */
  op(intent: Record<string, unknown>): Promise<any>;
  /** The newest view this client holds (newerView over every push). */
  view(): OperatorView | null;
  close(): Promise<void>;
}

describe.each(BACKENDS)('the operator\'s day at the gateway on %s', (backend) => {
  let h: Harness;
  let base = '';
  let ng: FakeNg;
  let campaignId = '';
  let did = '';
  const clients: Client[] = [];
  beforeAll(async () => {
    ng = await FakeNg.start();
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET, rtpengineNg: `127.0.0.1:${ng.port}` } });
    h.gw.ctx.agents.close(); // the tests drive the sweeper and the watchdog with the injected clock
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    await h.patchPolicy({ agents: { wrapUpSeconds: 60, ringSeconds: 30, clientGraceSeconds: 20 } });
    ({ campaignId, did } = await h.campaignWithDid('窓口'));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sleep(100);
    await h.gw.ctx.agents.idle();
    await h?.close();
    ng?.close();
  });

  /** A fresh operator assigned to the test campaign (each test its own, so states do not leak). */
  async function operator(): Promise<TestUser> {
    const u = await h.newUser('operator');
    await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
    return u;
  }

  let reqSeq = 0;
  async function connect(u: TestUser, url = base): Promise<Client> {
    const socket = await GatewaySocket.open(url, { token: await h.token(u), name: `ws ${u.username}` });
    await socket.next((m) => m.type === 'operatorState');
    /** The newest view this client holds (newerView over every push, as the client keeps it). */
    const held = () => socket.messages.reduce<OperatorView | null>((v, m) => (m.type === 'operatorState' ? newerView(v, m.view) : v), null);
    const c: Client = {
      ws: socket.ws, messages: socket.messages, closed: socket.closed.then(() => undefined), next: (p, ms) => socket.next(p, ms),
      async op(intent) {
        const id = `r${++reqSeq}`;
        const from = socket.messages.length;
        const version = held()?.version ?? -1;
        socket.send({ type: 'operator', id, intent });
        const answer = await socket.next((m) => (m.type === 'operatorRefused' || m.type === 'operatorState') && m.id === id, 3000, from);
        if (answer.type === 'operatorState') expect(answer.view.version).toBeGreaterThanOrEqual(version);
        return answer;
      },
      view: held,
      close: () => socket.close(),
    };
    clients.push(c);
    return c;
  }

  const who = (u: TestUser) => ({ userId: u.id, orgId: h.orgId, username: u.username });
  const stored = async (u: TestUser) => {
    const row = await h.db.selectFrom('operator_states').selectAll().where('user_id', '=', u.id).executeTakeFirstOrThrow();
    return { row, state: parseState(row.state) };
  };
  const transitions = (u: TestUser) =>
    h.db.selectFrom('operator_transitions').selectAll().where('user_id', '=', u.id).orderBy('id').execute();
  const route = async (callId: string, from = '+819011112222') => {
    const res = await h.req('GET', `/sip/route?did=${encodeURIComponent(did)}&from=${encodeURIComponent(from)}&callId=${encodeURIComponent(callId)}`, {
      headers: { 'x-koe-route-secret': ROUTE_SECRET },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { target: string | null; reason: string };
  };
  const callEnded = async (callId: string, status?: string) => {
    const res = await h.req('GET', `/sip/call-ended?callId=${encodeURIComponent(callId)}${status ? `&status=${status}` : ''}`, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const callRow = (u: TestUser, callId: string) =>
    h.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).where('operator_id', '=', u.id).executeTakeFirstOrThrow();
  /** Other operators of the campaign out of the way: only `u` may be offered (tests are independent). */
  const onlyOfferable = async (u: TestUser) => {
    for (const r of await h.db.selectFrom('operator_states').select('user_id').execute()) {
      if (r.user_id === u.id) continue;
      const s = parseState((await h.db.selectFrom('operator_states').select('state').where('user_id', '=', r.user_id).executeTakeFirstOrThrow()).state);
      if (s.agent === 'ready') {
        const username = (await h.db.selectFrom('users').select('username').where('id', '=', r.user_id).executeTakeFirstOrThrow()).username;
        await h.gw.ctx.agents.apply({ userId: r.user_id, orgId: h.orgId, username }, { type: 'setAvailability', state: 'not_ready', reason: 'other test' });
      }
    }
  };
  /** Connected, microphone reported, ready. */
  async function readyOperator(): Promise<{ u: TestUser; c: Client }> {
    const u = await operator();
    const c = await connect(u);
    expect((await c.op({ kind: 'microphone', available: true })).type).toBe('operatorState');
    const v = await c.op({ kind: 'setAvailability', state: 'ready' });
    expect(v.view).toMatchObject({ agent: 'ready', offerable: true });
    await onlyOfferable(u);
    return { u, c };
  }
  const tick = async (ms: number) => {
    h.clock.advance(ms);
    await h.gw.ctx.agents.sweep();
  };

  it('sends the starting view right after "ready"; a socket that authenticates, sets ready and closes is not routed at once and is offline after the grace', async () => {
    const u = await operator();
    const c = await connect(u);
    const readyAt = c.messages.findIndex((m) => m.type === 'ready');
    const first = c.messages.findIndex((m) => m.type === 'operatorState');
    expect(readyAt).toBeGreaterThanOrEqual(0);
    expect(first).toBe(readyAt + 1);
    expect(c.messages[first].view).toMatchObject({ agent: 'not_ready', reasonCode: 'signed_in', microphone: null, offerable: false });
    await c.op({ kind: 'microphone', available: true });
    expect((await c.op({ kind: 'setAvailability', state: 'ready' })).view.agent).toBe('ready');
    await onlyOfferable(u);
    await c.close();
    await h.gw.ctx.agents.idle();
    // the ghost is gone at once: still "ready" for the grace, but not offered
    const during = await stored(u);
    expect(during.state).toMatchObject({ agent: 'ready', connections: 0 });
    expect((await route(`ghost-${randomUUID()}@x`)).reason).toBe('queued');
    await tick(19_000);
    expect((await stored(u)).state.agent).toBe('ready');
    await tick(2_000);
    const after = await stored(u);
    expect(after.state.agent).toBe('offline');
    expect(after.row.next_deadline).toBeNull();
    const t = await transitions(u);
    expect(t.filter((x) => x.subject === 'agent').map((x) => `${x.from_state}>${x.to_state}`)).toEqual(['offline>not_ready', 'not_ready>ready', 'ready>offline']);
    expect(t.at(-1)).toMatchObject({ event: 'tick' });
  });

  it('no answer: at the ring deadline the call ends no_answer, the phone is told to hang up, the operator is not ready "missed", all stored', async () => {
    const { u, c } = await readyOperator();
    const callId = `na-${randomUUID()}@x`;
    const r = await route(callId);
    expect(r).toMatchObject({ target: u.username.toLowerCase(), reason: 'routed' });
    const ringing = await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    expect(ringing.view.calls).toEqual([expect.objectContaining({ callId, direction: 'inbound', state: 'offered' })]);
    expect((await c.op({ kind: 'ringing', callId })).view.calls[0].state).toBe('ringing');
    expect((await stored(u)).row.next_deadline?.getTime()).toBe(h.clock.now().getTime() + 30_000);
    await tick(29_000);
    expect((await stored(u)).state.agent).toBe('ringing');
    await tick(1_000);
    expect(await c.next((m) => m.type === 'operatorHangUp')).toEqual({ type: 'operatorHangUp', callId, cause: 'no_answer' });
    expect(await c.next((m) => m.type === 'operatorNotice')).toEqual({ type: 'operatorNotice', code: 'missed', callId });
    const v = await c.next((m) => m.type === 'operatorState' && m.view.reasonCode === 'missed');
    expect(v.view).toMatchObject({ agent: 'not_ready', offerable: false });
    expect(await callRow(u, callId)).toMatchObject({ status: 'ended', end_cause: 'no_answer', answered_at: null, direction: 'inbound' });
    const t = await transitions(u);
    expect(t.filter((x) => x.sip_call_id === callId).map((x) => `${x.from_state}>${x.to_state}:${x.cause ?? ''}`)).toEqual(['none>offered:', 'offered>ringing:', 'ringing>ended:no_answer']);
    expect(t.filter((x) => x.subject === 'agent').slice(-2).map((x) => `${x.from_state}>${x.to_state}:${x.cause ?? ''}`)).toEqual(['ready>ringing:', 'ringing>not_ready:missed']);
    const audit = await h.db.selectFrom('audit_log').select('detail').where('action', '=', 'agent.state').where('target_id', '=', u.id).orderBy('seq').execute();
    expect(audit.map((a) => (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail)).at(-1)).toMatchObject({ state: 'not_ready', previous: 'ringing', cause: 'missed', event: 'tick' });
    // not offered again until the operator says ready
    expect((await route(`na2-${randomUUID()}@x`)).reason).toBe('queued');
  });

  it('decline and busy leave the operator not ready with that reason; the caller hanging up while ringing (Kamailio) returns them to ready', async () => {
    const { u, c } = await readyOperator();
    const declined = `dec-${randomUUID()}@x`;
    await route(declined);
    await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    expect((await c.op({ kind: 'ended', callId: declined, cause: 'declined' })).view).toMatchObject({ agent: 'not_ready', reasonCode: 'declined' });
    expect(await callRow(u, declined)).toMatchObject({ status: 'ended', end_cause: 'declined' });

    await c.op({ kind: 'setAvailability', state: 'ready' });
    const busy = `busy-${randomUUID()}@x`;
    await route(busy);
    await c.next((m) => m.type === 'operatorState' && m.view.calls.some((x: any) => x.callId === busy));
    expect((await c.op({ kind: 'ended', callId: busy, cause: 'busy' })).view).toMatchObject({ agent: 'not_ready', reasonCode: 'busy' });

    await c.op({ kind: 'setAvailability', state: 'ready' });
    const abandoned = `ab-${randomUUID()}@x`;
    await route(abandoned);
    await c.next((m) => m.type === 'operatorState' && m.view.calls.some((x: any) => x.callId === abandoned));
    const from = c.messages.length;
    await callEnded(abandoned); // Kamailio saw the CANCEL end it
    const back = await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ready' && c.messages.indexOf(m) >= from);
    expect(back.view.calls.find((x: any) => x.callId === abandoned)).toMatchObject({ state: 'ended', cause: 'caller_abandoned' });
    expect(await callRow(u, abandoned)).toMatchObject({ status: 'ended', end_cause: 'caller_abandoned' });
    // a repeated report changes nothing
    const version = (await stored(u)).state.version;
    await callEnded(abandoned);
    expect((await stored(u)).state.version).toBe(version);
  });

  it('a BYE that reaches the gateway before the phone\'s "answered" (the customer hangs up at once) still gives the operator a wrap-up', async () => {
    const { u, c } = await readyOperator();
    const quick = `bye-${randomUUID()}@x`;
    await route(quick);
    await c.op({ kind: 'ringing', callId: quick });
    const from = c.messages.length;
    await callEnded(quick, '200'); // Kamailio relayed a BYE: the call was answered
    const wrap = await c.next((m) => m.type === 'operatorState' && m.view.agent === 'wrap_up' && c.messages.indexOf(m) >= from);
    expect(wrap.view.calls.find((x: any) => x.callId === quick)).toMatchObject({ state: 'ended', cause: 'completed' });
    expect(await callRow(u, quick)).toMatchObject({ status: 'ended', end_cause: 'completed' });
    expect((await callRow(u, quick)).answered_at).not.toBeNull();
    // the phone's late "answered" changes nothing; the wrap-up is saved as usual
    const version = (await stored(u)).state.version;
    await c.op({ kind: 'answered', callId: quick });
    expect((await stored(u)).state.version).toBe(version);
    expect((await c.op({ kind: 'finishWrapUp', callId: quick, next: 'ready' })).view.agent).toBe('ready');
  });

  it('a routing answer that comes after Kamailio reported the call ended (a stalled gateway) offers nobody; Kamailio\'s refused INVITE carries its cause', async () => {
    const { u, c } = await readyOperator();
    // Kamailio gave up on the lookup (480 fallback) and reported the end; the late lookup arrives
    const late = `late-${randomUUID()}@x`;
    const res = await h.req('GET', `/sip/call-ended?callId=${encodeURIComponent(late)}&status=000`, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
    expect(res.status).toBe(200);
    expect(await route(late)).toMatchObject({ target: null, reason: 'no_ready_agent' });
    expect((await stored(u)).state).toMatchObject({ agent: 'ready' });
    expect(await h.db.selectFrom('calls').select('id').where('sip_call_id', '=', late).executeTakeFirst()).toBeUndefined();
    // a call the operator's phone refused 603 (Kamailio's failure route): declined, as the phone would say
    const refused = `ref-${randomUUID()}@x`;
    expect((await route(refused)).target).toBe(u.username.toLowerCase());
    await h.req('GET', `/sip/call-ended?callId=${encodeURIComponent(refused)}&status=603`, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
    expect((await stored(u)).state).toMatchObject({ agent: 'not_ready', reasonCode: 'declined' });
    await c.op({ kind: 'ended', callId: refused, cause: 'declined' }); // the phone's own report: nothing more
    expect((await stored(u)).state).toMatchObject({ agent: 'not_ready', reasonCode: 'declined' });
  });

  it('an outbound call gets its call record (customer in scope) and blocks offers; after it, wrap-up, then an inbound call is offered', async () => {
    const { u, c } = await readyOperator();
    const customerId = randomUUID();
    const now = h.clock.now();
    await h.db
      .insertInto('customers')
      .values({ id: customerId, org_id: h.orgId, campaign_id: campaignId, name_kanji: '山田太郎', name_kana: 'ヤマダタロウ', name_kanji_key: 'やまだたろう', name_kana_key: 'やまだたろう', email: null, fields: '{}', created_at: now, updated_at: now })
      .execute();
    const number = `+8190${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    await h.db.insertInto('customer_phones').values({ customer_id: customerId, e164: number, campaign_id: campaignId, org_id: h.orgId }).execute();
    const out = `out-${randomUUID()}@x`;
    const dialled = await c.op({ kind: 'dial', callId: out, number });
    expect(dialled.view).toMatchObject({ agent: 'on_call', offerable: false });
    expect(await callRow(u, out)).toMatchObject({ direction: 'outbound', dialled_e164: number, customer_id: customerId, campaign_id: campaignId, status: 'ringing' });
    // the operator's card for it: the dialled number's customer (whatever number the phone shows)
    const pop = await h.req('POST', '/screen-pop', { token: await h.token(u), body: { callId: out, callerNumber: 'op-self' } });
    expect(pop.status).toBe(200);
    expect(pop.body).toMatchObject({ status: 'known', campaign: { id: campaignId } });
    expect(pop.body.customers.map((x: { id: string }) => x.id)).toEqual([customerId]);
    // an inbound call meanwhile is not offered to them (no auto-reject, no "on call" left behind)
    expect((await route(`in-${randomUUID()}@x`)).reason).toBe('queued');
    await c.op({ kind: 'answered', callId: out });
    expect((await callRow(u, out)).status).toBe('answered');
    const wrap = await c.op({ kind: 'ended', callId: out, cause: 'completed' });
    expect(wrap.view).toMatchObject({ agent: 'wrap_up', wrapUp: { callId: out } });
    expect((await route(`in-${randomUUID()}@x`)).reason).toBe('queued');
    const done = await c.op({ kind: 'finishWrapUp', callId: out });
    expect(done.view).toMatchObject({ agent: 'ready', offerable: true });
    expect(await callRow(u, out)).toMatchObject({ status: 'wrapped_up', end_cause: 'completed' });
    const inbound = `in-${randomUUID()}@x`;
    expect(await route(inbound)).toMatchObject({ reason: 'routed', target: u.username.toLowerCase() });
    await c.op({ kind: 'ended', callId: inbound, cause: 'declined' });

    // a number whose customer is in a campaign the operator is not assigned to: no customer, no campaign on the record
    const hidden = randomUUID();
    const otherCampaign = randomUUID();
    await h.db
      .insertInto('campaigns')
      .values({
        id: otherCampaign, org_id: h.orgId, name: '別窓口', time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
        dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now,
      })
      .execute();
    await h.db
      .insertInto('customers')
      .values({ id: hidden, org_id: h.orgId, campaign_id: otherCampaign, name_kanji: '秘密花子', name_kana: 'ヒミツハナコ', name_kanji_key: 'ひみつはなこ', name_kana_key: 'ひみつはなこ', email: null, fields: '{}', created_at: now, updated_at: now })
      .execute();
    const hiddenNumber = `+8180${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    await h.db.insertInto('customer_phones').values({ customer_id: hidden, e164: hiddenNumber, campaign_id: otherCampaign, org_id: h.orgId }).execute();
    await c.op({ kind: 'setAvailability', state: 'ready' });
    const out2 = `out2-${randomUUID()}@x`;
    expect((await c.op({ kind: 'dial', callId: out2, number: hiddenNumber })).view.agent).toBe('on_call');
    expect(await callRow(u, out2)).toMatchObject({ direction: 'outbound', dialled_e164: hiddenNumber, customer_id: null, campaign_id: null });
    // ... and its card shows nobody: the customer is outside the operator's campaigns
    const hiddenPop = await h.req('POST', '/screen-pop', { token: await h.token(u), body: { callId: out2, callerNumber: hiddenNumber } });
    expect(hiddenPop.body).toMatchObject({ status: 'unknown', customers: [] });
    // a second dial while on a call is refused, and writes no record
    const out3 = `out3-${randomUUID()}@x`;
    expect(await c.op({ kind: 'dial', callId: out3, number })).toMatchObject({ type: 'operatorRefused', kind: 'dial', refusal: 'busy_with_call' });
    expect(await h.db.selectFrom('calls').select('id').where('sip_call_id', '=', out3).executeTakeFirst()).toBeUndefined();
    // an unanswered outbound call: no wrap-up, back where the operator stood
    expect((await c.op({ kind: 'ended', callId: out2, cause: 'no_answer' })).view).toMatchObject({ agent: 'ready', wrapUp: null });
  });

  it('the wrap-up timer wins over a late finishWrapUp (told, visible); a second call during wrap-up goes to another operator', async () => {
    const { u, c } = await readyOperator();
    const other = await operator();
    const oc = await connect(other);
    await oc.op({ kind: 'microphone', available: true });
    await h.gw.ctx.agents.apply(who(other), { type: 'setAvailability', state: 'not_ready', reason: 'later' });
    const callId = `wu-${randomUUID()}@x`;
    await route(callId);
    await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    await c.op({ kind: 'answered', callId });
    await c.op({ kind: 'ended', callId, cause: 'completed' });
    // during wrap-up: not offered; the other operator (now ready) takes the call
    await oc.op({ kind: 'setAvailability', state: 'ready' });
    const second = `wu2-${randomUUID()}@x`;
    expect(await route(second)).toMatchObject({ reason: 'routed', target: other.username.toLowerCase() });
    expect((await stored(u)).state.calls.some((x) => x.callId === second)).toBe(false);
    await tick(60_000);
    expect(await c.next((m) => m.type === 'operatorNotice' && m.code === 'wrap_up_timed_out')).toMatchObject({ callId });
    const v = c.view()!;
    expect(v).toMatchObject({ agent: 'ready', wrapUp: null });
    expect(v.calls.find((x) => x.callId === callId)).toMatchObject({ state: 'wrapped_up', wrapUp: 'timed_out' });
    // the operator presses "save" after the timer: answered with the current view, not refused, nothing changes
    const late = await c.op({ kind: 'finishWrapUp', callId });
    expect(late.type).toBe('operatorState');
    expect(late.view.version).toBe(v.version);
    expect(await callRow(u, callId)).toMatchObject({ status: 'wrapped_up', wrap_up_seconds: 60 });
    const wt = (await transitions(u)).filter((x) => x.sip_call_id === callId).at(-1);
    expect(wt).toMatchObject({ from_state: 'ended', to_state: 'wrapped_up', cause: 'timed_out', event: 'tick' });
    // a finishWrapUp for a call never wrapped up is refused with its reason
    const bogus = await c.op({ kind: 'finishWrapUp', callId: 'never@x' });
    expect(bogus).toMatchObject({ type: 'operatorRefused', kind: 'finishWrapUp', refusal: 'not_in_wrap_up' });
  });

  it('a failed transfer keeps the call (back to held, told); a completed one ends it into wrap-up', async () => {
    const { u, c } = await readyOperator();
    const callId = `tr-${randomUUID()}@x`;
    await route(callId);
    await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    await c.op({ kind: 'answered', callId });
    await c.op({ kind: 'held', callId, held: true });
    expect((await c.op({ kind: 'transfer', callId, phase: 'started' })).view.calls[0].state).toBe('transferring');
    const failed = await c.op({ kind: 'transfer', callId, phase: 'failed' });
    expect(failed.view).toMatchObject({ agent: 'on_call' });
    expect(failed.view.calls.find((x: any) => x.callId === callId).state).toBe('held');
    expect(await c.next((m) => m.type === 'operatorNotice')).toEqual({ type: 'operatorNotice', code: 'transfer_failed', callId });
    expect(await callRow(u, callId)).toMatchObject({ status: 'answered', ended_at: null });
    await c.op({ kind: 'transfer', callId, phase: 'started' });
    const done = await c.op({ kind: 'transfer', callId, phase: 'completed' });
    expect(done.view).toMatchObject({ agent: 'wrap_up' });
    expect(await callRow(u, callId)).toMatchObject({ status: 'ended', end_cause: 'transferred' });
  });

  it('a locked operator is offered nothing and cannot go ready; no microphone: ready refused with its reason', async () => {
    const { c } = await readyOperator();
    const locked = await c.op({ kind: 'locked', locked: true });
    expect(locked.view).toMatchObject({ agent: 'not_ready', reasonCode: 'locked', locked: true, offerable: false });
    expect((await route(`lk-${randomUUID()}@x`)).reason).toBe('queued');
    expect(await c.op({ kind: 'setAvailability', state: 'ready' })).toMatchObject({ type: 'operatorRefused', kind: 'setAvailability', refusal: 'locked' });
    await c.op({ kind: 'locked', locked: false });
    expect((await c.op({ kind: 'setAvailability', state: 'ready' })).view.agent).toBe('ready');

    const u2 = await operator();
    const c2 = await connect(u2);
    const refused = await c2.op({ kind: 'setAvailability', state: 'ready' }); // microphone not reported yet
    expect(refused).toMatchObject({ type: 'operatorRefused', id: expect.stringMatching(/^r\d+$/), kind: 'setAvailability', refusal: 'no_microphone' });
    await c2.op({ kind: 'microphone', available: false });
    expect(await c2.op({ kind: 'setAvailability', state: 'ready' })).toMatchObject({ refusal: 'no_microphone' });
    // the legacy message is the same intent, refused the same way
    c2.ws.send(JSON.stringify({ type: 'agentState', state: 'ready' }));
    expect(await c2.next((m) => m.type === 'operatorRefused' && m.kind === 'agentState')).toMatchObject({ refusal: 'no_microphone' });
    c2.ws.send(JSON.stringify({ type: 'agentState', state: 'wrap_up' }));
    expect(await c2.next((m) => m.type === 'operatorRefused' && m.kind === 'agentState' && m.refusal === 'not_available')).toBeTruthy();
    // refusals are normal: counted, not audited
    expect(h.gw.ctx.agents.refusals.get('no_microphone')).toBeGreaterThanOrEqual(3);
    expect((await h.db.selectFrom('audit_log').select('action').where('target_id', '=', u2.id).where('action', '=', 'agent.state').execute()).length).toBe(1); // offline -> not_ready only
  });

  it('a call that did not come through routing (a colleague): its first "ringing" makes it incoming, blocks offers, a decline leaves the operator ready; a stale "ringing" of an old call changes nothing', async () => {
    const { u, c } = await readyOperator();
    const direct = `dir-${randomUUID()}@x`;
    const ring = await c.op({ kind: 'ringing', callId: direct });
    expect(ring.view).toMatchObject({ agent: 'ringing', offerable: false });
    expect(ring.view.calls).toEqual([expect.objectContaining({ callId: direct, direction: 'inbound', state: 'offered' })]);
    expect((await stored(u)).row.next_deadline).toBeNull(); // no ring deadline of ours
    expect((await route(`dir-in-${randomUUID()}@x`)).reason).toBe('queued');
    expect((await c.op({ kind: 'ended', callId: direct, cause: 'declined' })).view).toMatchObject({ agent: 'ready', offerable: true });
    expect((await transitions(u)).filter((t) => t.sip_call_id === direct).map((t) => t.event)).toEqual(['incoming', 'ended']);
    // the same call id again (a replayed fact after the call is long gone): not a new call
    const version = c.view()!.version;
    const stale = await c.op({ kind: 'ringing', callId: direct });
    expect(stale.view.version).toBe(version);
    expect(stale.view.agent).toBe('ready');
  });

  it('the watchdog ends a call rtpengine no longer has (audited agent.repair); a failing engine repairs nothing and is reported', async () => {
    const { u, c } = await readyOperator();
    const callId = `wd-${randomUUID()}@x`;
    await route(callId);
    await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    await c.op({ kind: 'answered', callId });
    ng.live = [callId, 'someone-else@x'];
    await h.gw.ctx.agents.watchdog();
    expect((await stored(u)).state.agent).toBe('on_call');
    // the engine fails: nothing is repaired on a guess
    ng.fail = true;
    ng.live = [];
    await expect(h.gw.ctx.agents.watchdog()).rejects.toThrow(/on purpose/);
    expect((await stored(u)).state.agent).toBe('on_call');
    // the timer reports the failure and the process goes on
    const reports: string[] = [];
    const previous = setBackgroundReporter((what) => reports.push(what));
    const g2 = h.gw.ctx.agents;
    const lists = ng.lists;
    try {
      g2.start({ sweepMs: 60_000, watchdogMs: 20 });
      while (ng.lists < lists + 2) await sleep(10);
      await sleep(50);
    } finally {
      g2.close();
      const settled = ng.lists;
      // a pass of our own through the same engine client: its request reaches the engine after
      // any the stopped timer had sent, so once it is answered nothing of the timer is on its way
      await expect(h.gw.ctx.agents.watchdog()).rejects.toThrow(/on purpose/);
      expect(ng.lists).toBe(settled + 1);
      setBackgroundReporter(previous);
    }
    expect(reports).toContain('agents: watchdog');
    ng.fail = false;
    expect(await h.gw.ctx.agents.watchdog()).toBeGreaterThanOrEqual(1);
    expect(await c.next((m) => m.type === 'operatorNotice' && m.code === 'call_repaired')).toBeTruthy();
    expect(c.view()).toMatchObject({ agent: 'wrap_up' });
    expect(await callRow(u, callId)).toMatchObject({ status: 'ended', end_cause: 'repair' });
    const repair = await h.db.selectFrom('audit_log').select(['detail', 'actor_user_id']).where('action', '=', 'agent.repair').where('target_id', '=', u.id).execute();
    expect(repair).toHaveLength(1);
    expect(typeof repair[0]!.detail === 'string' ? JSON.parse(repair[0]!.detail) : repair[0]!.detail).toMatchObject({ callId, was: 'answered' });
  });

  /**
   * The suite's gateway "crashes" (issue 14: connections have owners): it is no longer seen
   * (its gateway_instances row aged past 15 s), so the next gateway that starts releases the
   * connections it held. (Before issue 14 any start released every counted connection.)
   */
  // A crash of h.gw: its heartbeat stops too (its next beat, every 5 s, would otherwise bring it
  // back before the new instance looks: CI once saw the crashed socket still counted), and its
  // row says it was last seen long ago. revive() is h.gw coming back (a heartbeat, the timer again).
  const crash = async () => {
    const agents = h.gw.ctx.agents as unknown as { heartbeatTimer: ReturnType<typeof setInterval> | null };
    if (agents.heartbeatTimer) clearInterval(agents.heartbeatTimer);
    agents.heartbeatTimer = null;
    await h.db.updateTable('gateway_instances').set({ seen_at: new Date(0) }).where('id', '=', h.gw.ctx.bus.origin).execute();
  };
  const revive = () => h.gw.ctx.agents.recoverConnections();

  it('a restarted gateway on the same database resumes the state and its deadlines (and recovers connections a crash left counted)', async () => {
    const { u, c } = await readyOperator();
    const callId = `rs-${randomUUID()}@x`;
    await route(callId);
    await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    // a crash: the socket's `disconnected` never reaches the database
    const before = await stored(u);
    expect(before.state.connections).toBe(1);
    await crash();
    const gw2: Gateway = await createGateway({
      db: h.db, clock: h.clock,
      config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, sip: { routeSecret: ROUTE_SECRET } },
    });
    try {
      gw2.ctx.agents.close();
      const recovered = await stored(u);
      expect(recovered.state).toMatchObject({ agent: 'ringing', connections: 0, graceUntil: h.clock.now().getTime() + 20_000 });
      // the ring deadline survived the restart: the new gateway's sweeper ends the call at it
      h.clock.advance(30_000);
      await gw2.ctx.agents.sweep();
      const after = await stored(u);
      expect(after.state).toMatchObject({ agent: 'offline' }); // the grace (20 s) came first: client lost
      expect(after.state.calls.find((x) => x.callId === callId)).toMatchObject({ state: 'ended', cause: 'client_lost' });
      expect(invariantProblems(after.state)).toEqual([]);
    } finally {
      await gw2.close();
      await revive();
    }
    await c.close();
  });

  it('a restarted gateway resumes a wrap-up deadline', async () => {
    const { u, c } = await readyOperator();
    const callId = `rw-${randomUUID()}@x`;
    await route(callId);
    await c.next((m) => m.type === 'operatorState' && m.view.agent === 'ringing');
    await c.op({ kind: 'answered', callId });
    await c.op({ kind: 'ended', callId, cause: 'completed' });
    await crash();
    const gw2 = await createGateway({
      db: h.db, clock: h.clock,
      config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, sip: { routeSecret: ROUTE_SECRET } },
    });
    try {
      gw2.ctx.agents.close();
      // the old process's socket counted as gone; the client reconnects within the grace
      const c2 = await connect(u, (await gw2.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws'));
      expect(c2.view()).toMatchObject({ agent: 'wrap_up', wrapUp: { callId } });
      h.clock.advance(60_000);
      await gw2.ctx.agents.sweep();
      expect(await c2.next((m) => m.type === 'operatorNotice' && m.code === 'wrap_up_timed_out')).toMatchObject({ callId });
      expect((await stored(u)).state).toMatchObject({ agent: 'ready', connections: 1 });
      await c2.close();
      await gw2.ctx.agents.idle();
    } finally {
      await gw2.close();
      await revive();
    }
    await c.close();
  });

  it('concurrent calls never ring one operator twice: 6 calls at once, 2 offerable operators -> 2 routed to different operators, 4 queued', async () => {
    const a = await readyOperator();
    const b = await operator();
    const bc = await connect(b);
    await bc.op({ kind: 'microphone', available: true });
    await bc.op({ kind: 'setAvailability', state: 'ready' });
    await onlyOfferable(a.u);
    await h.gw.ctx.agents.apply(who(b), { type: 'setAvailability', state: 'ready' }); // onlyOfferable parked b: back
    const ids = Array.from({ length: 6 }, (_, i) => `cc${i}-${randomUUID()}@x`);
    const results = await Promise.all(ids.map((id) => route(id)));
    const routed = results.filter((r) => r.reason === 'routed').map((r) => r.target).sort();
    expect(routed).toEqual([a.u.username.toLowerCase(), b.username.toLowerCase()].sort());
    expect(results.filter((r) => r.reason === 'queued')).toHaveLength(4);
    for (const u of [a.u, b]) {
      const { state } = await stored(u);
      expect(state.calls.filter((c) => c.state === 'offered')).toHaveLength(1);
      expect(await h.db.selectFrom('calls').select('id').where('operator_id', '=', u.id).where('sip_call_id', 'in', ids).execute()).toHaveLength(1);
    }
  });

  it('two gateway processes on one database never lose a step (the row version is the optimistic check)', async () => {
    const gw2 = await createGateway({ db: h.db, clock: h.clock, config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' } } });
    try {
      gw2.ctx.agents.close();
      const u = await operator();
      const a = h.gw.ctx.agents;
      const b = gw2.ctx.agents;
      const outs = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).apply(who(u), { type: 'connected' })));
      expect(outs.every((o) => o.kind === 'accepted')).toBe(true);
      const { row, state } = await stored(u);
      expect(state.connections).toBe(24);
      expect(row.version).toBe(24);
      expect(state.version).toBe(24);
      // every step is in the history exactly once: the first made the agent not_ready
      expect((await transitions(u)).map((t) => `${t.from_state}>${t.to_state}`)).toEqual(['offline>not_ready']);
      await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).apply(who(u), { type: 'disconnected' })));
      expect((await stored(u)).state).toMatchObject({ connections: 0, version: 48, graceUntil: h.clock.now().getTime() + 20_000 });
    } finally {
      await gw2.close();
    }
  });

  it('random intents and facts from two sockets of one operator, with routing, Kamailio and the clock, keep the stored invariants; both clients end on the stored view', async () => {
    const callIds = ['p1@x', 'p2@x', 'p3@x'];
    const callId = fc.constantFrom(...callIds);
    const intent = fc.oneof(
      fc.record({ kind: fc.constant('setAvailability'), state: fc.constantFrom('ready', 'not_ready', 'break') }),
      fc.record({ kind: fc.constant('microphone'), available: fc.boolean() }),
      fc.record({ kind: fc.constant('locked'), locked: fc.boolean() }),
      fc.record({ kind: fc.constantFrom('ringing', 'answered'), callId }),
      fc.record({ kind: fc.constant('held'), callId, held: fc.boolean() }),
      fc.record({ kind: fc.constant('transfer'), callId, phase: fc.constantFrom('started', 'failed', 'completed') }),
      fc.record({ kind: fc.constant('ended'), callId, cause: fc.constantFrom('completed', 'declined', 'busy', 'failed', 'no_answer') }),
      fc.record({ kind: fc.constant('finishWrapUp'), callId }),
      fc.record({ kind: fc.constant('dial'), callId, number: fc.constant('+819000000000') }),
    );
    const action = fc.oneof(
      { weight: 6, arbitrary: fc.record({ t: fc.constant('intent' as const), socket: fc.integer({ min: 0, max: 1 }), intent }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('offer' as const), callId }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('kamailioEnded' as const), callId }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('clock' as const), ms: fc.constantFrom(1_000, 25_000, 61_000) }) },
    );
    let pings = 0;
    /** Quiet: every message sent has reached the gateway and every step it caused is stored and pushed. */
    const settle = async (sockets: Client[]) => {
      for (;;) {
        await h.gw.ctx.agents.idle();
        const before = sockets.map((s) => s.messages.length);
        await Promise.all(
          sockets.map(async (s) => {
            const id = `sync${++pings}`;
            s.ws.send(JSON.stringify({ type: 'ping', id }));
            await s.next((m) => m.type === 'pong' && m.id === id);
          }),
        );
        await sleep(10);
        await h.gw.ctx.agents.idle();
        // nothing but the pongs arrived: quiet
        if (sockets.every((s, i) => s.messages.length === before[i]! + 1)) return;
      }
    };
    const reports: string[] = [];
    const previous = setBackgroundReporter((what) => reports.push(what));
    let runs = 0;
    try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(action, { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 8 }), async (batches) => {
        runs++;
        const u = await operator();
        const sockets = [await connect(u), await connect(u)];
        const tag = `-${runs}`;
        const sent: string[][] = [[], []];
        for (const batch of batches) {
          // a batch goes out at once: the gateway handles its messages concurrently, in any order
          await Promise.all(
            batch.map(async (a) => {
              if (a.t === 'intent') {
                const i: Record<string, unknown> = { ...a.intent };
                if (typeof i.callId === 'string') i.callId = `${i.callId}${tag}`;
                const id = `p${++pings}`;
                sent[a.socket]!.push(id);
                sockets[a.socket]!.ws.send(JSON.stringify({ type: 'operator', id, intent: i }));
              } else if (a.t === 'offer') await h.gw.ctx.agents.apply(who(u), { type: 'offer', callId: `${a.callId}${tag}` });
              else if (a.t === 'kamailioEnded') await h.gw.ctx.agents.callEnded(`${a.callId}${tag}`);
              else {
                h.clock.advance(a.ms);
                await h.gw.ctx.agents.sweep();
              }
            }),
          );
          await settle(sockets);
          const { row, state } = await stored(u);
          expect(invariantProblems(state), JSON.stringify(state)).toEqual([]);
          expect(row.version).toBe(state.version);
        }
        // the history is one chain per subject: every transition starts where the last one ended
        const t = await transitions(u);
        const agentChain = t.filter((x) => x.subject === 'agent');
        for (let i = 1; i < agentChain.length; i++) expect(agentChain[i]!.from_state).toBe(agentChain[i - 1]!.to_state);
        for (const id of callIds) {
          const chain = t.filter((x) => x.sip_call_id === `${id}${tag}`);
          for (let i = 1; i < chain.length; i++) if (chain[i]!.from_state !== 'none') expect(chain[i]!.from_state).toBe(chain[i - 1]!.to_state);
        }
        // each client, keeping the newest view it was sent, renders exactly the stored state
        await settle(sockets);
        const { state } = await stored(u);
        for (const s of sockets) expect(s.view()).toEqual(viewOf(state));
        // every message got exactly one answer, on its own socket only
        sockets.forEach((s, i) => {
          const answered = s.messages.filter((m) => (m.type === 'operatorState' || m.type === 'operatorRefused') && typeof m.id === 'string').map((m) => m.id);
          expect(answered.sort()).toEqual([...sent[i]!].sort());
        });
        await Promise.all(sockets.map((s) => s.close()));
        await sleep(20);
        await h.gw.ctx.agents.idle();
      }),
      { numRuns: 12, seed: Number(process.env.KOE_FC_SEED ?? 12) },
    );
    } finally {
      setBackgroundReporter(previous);
    }
    // no step was ever refused for breaking an invariant (the model and the store agree)
    expect(reports.filter((r) => r.startsWith('operator model:'))).toEqual([]);
  });
});
