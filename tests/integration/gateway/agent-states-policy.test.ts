// Issue 18 item 5 at the gateway, through the real /ws: the org's not-ready reasons (policy
// agents.notReadyReasons) are the only ones an operator can set (any other is refused
// `unknown_reason`, on every path: the intent, finishWrapUp's next state, the legacy message),
// and a wrap-up is extended only as the policy allows (extension_not_allowed, extension_limit);
// an extension moves the stored deadline, which the sweeper then fires once, at the new time.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseState } from '../../../server/sip/agents';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';
const REASONS = [
  { code: 'lunch', ja: '昼休憩', en: 'Lunch' },
  { code: 'coaching', ja: 'コーチング', en: 'Coaching' },
];

describe.each(BACKENDS)('agent states and wrap-up by the org policy on %s', (backend) => {
  let h: Harness;
  let base = '';
  let campaignId = '';
  let did = '';
  const sockets: GatewaySocket[] = [];
  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET } });
    h.gw.ctx.agents.close(); // the tests drive the sweeper with the injected clock
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    await h.patchPolicy({ agents: { wrapUpSeconds: 60, notReadyReasons: REASONS, wrapUpExtendSeconds: 0 } });
    ({ campaignId, did } = await h.campaignWithDid('窓口'));
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await h.gw.ctx.agents.idle();
    await h?.close();
  });

  let seq = 0;
  async function connect(u: TestUser) {
    const socket = await GatewaySocket.open(base, { token: await h.token(u), name: `ws ${u.username}` });
    sockets.push(socket);
    await socket.next((m) => m.type === 'operatorState');
    const op = async (intent: Record<string, unknown>) => {
      const id = `a${++seq}`;
      const from = socket.messages.length;
      socket.send({ type: 'operator', id, intent });
      return socket.next((m) => (m.type === 'operatorRefused' || m.type === 'operatorState') && m.id === id, 3000, from);
    };
    return { socket, op };
  }
  const stored = async (u: TestUser) => {
    const row = await h.db.selectFrom('operator_states').selectAll().where('user_id', '=', u.id).executeTakeFirstOrThrow();
    return { row, state: parseState(row.state) };
  };
  async function operator() {
    const u = await h.newUser('operator');
    await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
    const c = await connect(u);
    expect((await c.op({ kind: 'microphone', available: true })).type).toBe('operatorState');
    return { u, ...c };
  }
  /** Every other ready operator of the campaign made not ready, so routing offers `u`. */
  const onlyOfferable = async (u: TestUser) => {
    for (const r of await h.db.selectFrom('operator_states').innerJoin('users', 'users.id', 'operator_states.user_id').select(['user_id', 'username', 'state']).execute()) {
      if (r.user_id !== u.id && parseState(r.state).agent === 'ready') {
        await h.gw.ctx.agents.apply({ userId: r.user_id, orgId: h.orgId, username: r.username }, { type: 'setAvailability', state: 'not_ready', reason: 'lunch' });
      }
    }
  };
  /** An operator with an answered call that ended: in wrap-up until now + 60 s. */
  async function inWrapUp() {
    const o = await operator();
    expect((await o.op({ kind: 'setAvailability', state: 'ready' })).view.agent).toBe('ready');
    await onlyOfferable(o.u);
    const callId = `wu-${randomUUID()}@x`;
    const res = await h.req('GET', `/sip/route?did=${encodeURIComponent(did)}&from=%2B819011112222&callId=${encodeURIComponent(callId)}`, {
      headers: { 'x-koe-route-secret': ROUTE_SECRET },
    });
    expect(res.body).toMatchObject({ reason: 'routed', target: o.u.username.toLowerCase() });
    await o.op({ kind: 'answered', callId });
    const ended = await o.op({ kind: 'ended', callId, cause: 'completed' });
    expect(ended.view).toMatchObject({ agent: 'wrap_up', wrapUp: { callId, until: h.clock.now().getTime() + 60_000 } });
    return { ...o, callId, until: ended.view.wrapUp.until as number };
  }

  it("serves the org's agent policy to its users (GET /me/agent-policy) and refuses a list the schema does not allow", async () => {
    const o = await operator();
    const res = await h.req('GET', '/me/agent-policy', { token: await h.token(o.u) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ wrapUpSeconds: 60, wrapUpExtendSeconds: 0, notReadyReasons: REASONS });
    const admin = await h.token(h.users.admin);
    for (const notReadyReasons of [
      [],
      [REASONS[0], REASONS[0]],
      [{ code: 'missed', ja: '不在', en: 'Missed' }],
      [{ code: 'Lunch!', ja: '昼', en: 'Lunch' }],
      Array.from({ length: 21 }, (_, i) => ({ code: `r${i}`, ja: `理由${i}`, en: `Reason ${i}` })),
    ]) {
      const bad = await h.req('PATCH', '/admin/policy', { token: admin, body: { agents: { notReadyReasons } } });
      expect(bad.status, JSON.stringify(notReadyReasons).slice(0, 80)).toBe(400);
    }
    expect((await h.req('GET', '/me/agent-policy', { token: await h.token(o.u) })).body.notReadyReasons).toEqual(REASONS);
  });

  it("refuses a not-ready reason the org does not list (unknown_reason) on every path; the org's codes are accepted and stored", async () => {
    const o = await operator();
    const before = (await stored(o.u)).state;
    // a reason of the default list the org replaced, and free text
    for (const reason of ['meeting', '昼ごはん']) {
      expect(await o.op({ kind: 'setAvailability', state: 'not_ready', reason })).toMatchObject({ type: 'operatorRefused', kind: 'setAvailability', refusal: 'unknown_reason' });
    }
    const legacy = o.socket.next((m) => m.type === 'operatorRefused' && m.kind === 'agentState');
    o.socket.send({ type: 'agentState', state: 'not_ready', reason: 'meeting' });
    expect(await legacy).toMatchObject({ refusal: 'unknown_reason' });
    expect((await stored(o.u)).state.version).toBe(before.version);
    const ok = await o.op({ kind: 'setAvailability', state: 'not_ready', reason: 'coaching' });
    expect(ok.view).toMatchObject({ agent: 'not_ready', reason: 'coaching', reasonCode: null });
    expect((await stored(o.u)).state).toMatchObject({ agent: 'not_ready', reason: 'coaching' });
    // no reason at all stays allowed, and so does break
    expect((await o.op({ kind: 'setAvailability', state: 'not_ready' })).view).toMatchObject({ agent: 'not_ready', reason: null });
    expect((await o.op({ kind: 'setAvailability', state: 'break' })).view.agent).toBe('break');
    // finishing a wrap-up into not ready with an unlisted reason: refused, the wrap-up stays open
    const w = await inWrapUp();
    expect(await w.op({ kind: 'finishWrapUp', callId: w.callId, next: 'not_ready', reason: 'meeting' })).toMatchObject({ type: 'operatorRefused', refusal: 'unknown_reason' });
    expect((await stored(w.u)).state.wrapUp?.callId).toBe(w.callId);
    expect((await w.op({ kind: 'finishWrapUp', callId: w.callId, next: 'not_ready', reason: 'lunch' })).view).toMatchObject({ agent: 'not_ready', reason: 'lunch', wrapUp: null });
  });

  it('refuses an extension while the policy allows none (extension_not_allowed); the deadline stays', async () => {
    const w = await inWrapUp();
    expect(await w.op({ kind: 'extendWrapUp', callId: w.callId })).toMatchObject({ type: 'operatorRefused', kind: 'extendWrapUp', refusal: 'extension_not_allowed' });
    expect((await stored(w.u)).row.next_deadline?.getTime()).toBe(w.until);
    await w.op({ kind: 'finishWrapUp', callId: w.callId });
  });

  it('extends within the policy (+30 s, once), refuses the next (extension_limit); the sweeper fires the moved deadline once, at its new time', async () => {
    await h.patchPolicy({ agents: { wrapUpExtendSeconds: 30, wrapUpMaxExtensions: 1 } });
    try {
      const w = await inWrapUp();
      const extended = await w.op({ kind: 'extendWrapUp', callId: w.callId });
      expect(extended.type).toBe('operatorState');
      expect(extended.view).toMatchObject({ agent: 'wrap_up', wrapUp: { callId: w.callId, until: w.until + 30_000, extensions: 1 } });
      expect((await stored(w.u)).row.next_deadline?.getTime()).toBe(w.until + 30_000);
      expect(await w.op({ kind: 'extendWrapUp', callId: w.callId })).toMatchObject({ type: 'operatorRefused', refusal: 'extension_limit' });
      // an extension for a call not in wrap-up
      expect(await w.op({ kind: 'extendWrapUp', callId: `nope-${randomUUID()}@x` })).toMatchObject({ type: 'operatorRefused', refusal: 'not_in_wrap_up' });

      // the old deadline passes: nothing fires
      h.clock.advance(60_000);
      await h.gw.ctx.agents.sweep();
      await h.gw.ctx.agents.idle();
      expect((await stored(w.u)).state).toMatchObject({ agent: 'wrap_up', wrapUp: { callId: w.callId } });
      // the new one: the wrap-up ends, once
      h.clock.advance(30_000);
      await h.gw.ctx.agents.sweep();
      expect(await w.socket.seen((m) => m.type === 'operatorNotice' && m.code === 'wrap_up_timed_out')).toMatchObject({ callId: w.callId });
      const after = await stored(w.u);
      expect(after.state).toMatchObject({ agent: 'ready', wrapUp: null });
      expect(after.row.next_deadline).toBeNull();
      h.clock.advance(60_000);
      await h.gw.ctx.agents.sweep();
      await h.gw.ctx.agents.idle();
      await w.socket.sync();
      expect(w.socket.messages.filter((m) => m.type === 'operatorNotice' && m.code === 'wrap_up_timed_out')).toHaveLength(1);
      const wrapped = await h.db.selectFrom('operator_transitions').selectAll().where('user_id', '=', w.u.id).where('sip_call_id', '=', w.callId).where('to_state', '=', 'wrapped_up').execute();
      expect(wrapped).toEqual([expect.objectContaining({ cause: 'timed_out', event: 'tick' })]);
      expect((await stored(w.u)).state.version).toBe(after.state.version);
    } finally {
      await h.patchPolicy({ agents: { wrapUpExtendSeconds: 0 } });
    }
  });
});
