// Issue 18 item 7: the call's quality as the operator's phone measures it reaches the lead. The
// `quality` fact over /ws (a raw client, as in operator-day.test.ts) is kept in the call's row
// (not process memory: a restarted or another instance reads it) and the lead's board row shows
// it; a figure for a call that is not this operator's answered call changes nothing; a figure out
// of the contract's bounds is refused.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../../server/principal';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from '../gateway/harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';

describe.each(BACKENDS)('call quality for the lead on %s', (backend) => {
  let h: Harness;
  let base = '';
  let did = '';
  let campaignId = '';
  let lead: TestUser;
  let teamId = '';
  const sockets: GatewaySocket[] = [];

  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET } });
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    ({ campaignId, did } = await h.campaignWithDid('品質'));
    lead = await h.newUser('team_lead', 'lead');
    teamId = randomUUID();
    await h.db.insertInto('teams').values({ id: teamId, org_id: h.orgId, name: 'Q' }).execute();
    await h.db.insertInto('team_members').values({ team_id: teamId, user_id: lead.id, member_role: 'lead' }).execute();
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await h?.close();
  });

  let seq = 0;
  async function op(socket: GatewaySocket, intent: Record<string, unknown>) {
    const id = `q${++seq}`;
    const from = socket.messages.length;
    socket.send({ type: 'operator', id, intent });
    return socket.next((m) => (m.type === 'operatorRefused' || m.type === 'operatorState') && m.id === id, 3000, from);
  }

  /** An operator of the lead's team on an answered call routed to them. */
  async function onCall(): Promise<{ u: TestUser; socket: GatewaySocket; callId: string }> {
    const u = await h.newUser('operator');
    await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
    await h.db.insertInto('team_members').values({ team_id: teamId, user_id: u.id, member_role: 'operator' }).execute();
    const socket = await GatewaySocket.open(base, { token: await h.token(u), name: `ws ${u.username}` });
    sockets.push(socket);
    await socket.next((m) => m.type === 'operatorState');
    await op(socket, { kind: 'microphone', available: true });
    expect((await op(socket, { kind: 'setAvailability', state: 'ready' })).view.agent).toBe('ready');
    const callId = `q-${randomUUID()}@x`;
    const res = await h.req('GET', `/sip/route?did=${encodeURIComponent(did)}&from=%2B819011112222&callId=${encodeURIComponent(callId)}`, {
      headers: { 'x-koe-route-secret': ROUTE_SECRET },
    });
    expect((res.body as { target: string }).target).toBe(u.username.toLowerCase());
    await op(socket, { kind: 'ringing', callId });
    expect((await op(socket, { kind: 'answered', callId })).view.agent).toBe('on_call');
    return { u, socket, callId };
  }

  const quality = (callId: string, mos = 3.42) => ({ kind: 'quality', callId, mos, jitterMs: 18.5, lossPct: 4.2, rttMs: 120 });
  const row = (u: TestUser, callId: string) =>
    h.db.selectFrom('calls').select(['quality_mos', 'quality_jitter_ms', 'quality_loss_pct', 'quality_rtt_ms', 'quality_at']).where('sip_call_id', '=', callId).where('operator_id', '=', u.id).executeTakeFirstOrThrow();

  it('is kept in the call\'s row and shown in the lead\'s board row (read and pushed)', async () => {
    const { u, socket, callId } = await onCall();
    const got: Record<string, any>[] = [];
    const principal = await authenticate(h.gw.ctx, `Bearer ${await h.token(lead)}`, '127.0.0.1');
    const stop = await h.gw.ctx.supervision.subscribeBoard(() => principal, (m) => got.push(m));
    try {
      expect((await op(socket, quality(callId))).type).toBe('operatorState');
      const r = await row(u, callId);
      expect(r.quality_mos).toBeCloseTo(3.42, 5);
      expect(r).toMatchObject({ quality_rtt_ms: 120 });
      expect(r.quality_jitter_ms).toBeCloseTo(18.5, 5);
      expect(r.quality_loss_pct).toBeCloseTo(4.2, 5);
      expect(r.quality_at).not.toBeNull();
      // pushed to the lead's board socket
      for (let i = 0; i < 300 && !got.some((m) => m.type === 'boardUpdate' && m.operator.userId === u.id && m.operator.call?.quality); i++) await new Promise((res) => setTimeout(res, 10));
      const pushed = got.filter((m) => m.type === 'boardUpdate' && m.operator.userId === u.id).at(-1)!;
      expect(pushed.operator.call.quality).toMatchObject({ jitterMs: expect.closeTo(18.5, 3), lossPct: expect.closeTo(4.2, 3), rttMs: 120 });
      // and read afresh (GET /supervision/board)
      const board = await h.ok('GET', '/supervision/board', await h.token(lead));
      const mine = board.operators.find((o: { userId: string }) => o.userId === u.id);
      expect(mine.call.quality.mos).toBeCloseTo(3.42, 3);
    } finally {
      stop();
    }
  });

  it('a figure for a call that is not the operator\'s answered call changes nothing; one out of bounds is refused', async () => {
    const a = await onCall();
    const b = await onCall();
    await op(a.socket, quality(b.callId, 1.5)); // b's call, from a
    expect((await row(b.u, b.callId)).quality_mos).toBeNull();
    const from = a.socket.messages.length;
    a.socket.send({ type: 'operator', id: 'bad', intent: { ...quality(a.callId), mos: 9 } });
    const refused = await a.socket.next((m) => m.type === 'error', 3000, from);
    expect(refused.code).toBe('validation_failed');
    expect((await row(a.u, a.callId)).quality_mos).toBeNull();
  });
});
