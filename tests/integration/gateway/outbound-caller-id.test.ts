// Issue 18 item 6: the caller ID of a campaign's outbound calls. An admin sets it (E.164,
// campaigns:manage only, audited); an operator dials for one of their campaigns (the dial
// intent's campaignId, refused for a campaign that is not theirs or is disabled); Kamailio asks
// which number the call presents (GET /sip/outbound, its shared secret only).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';

describe.each(BACKENDS)('outbound caller ID per campaign on %s', (backend) => {
  let h: Harness;
  let base = '';
  let admin = '';
  const sockets: GatewaySocket[] = [];
  const hours = { timeZone: 'Asia/Tokyo', weekly: {} };
  const campaign = async (name: string, outboundCallerId?: string | null) =>
    h.req('POST', '/campaigns', { token: admin, body: { name: `${name}-${randomUUID().slice(0, 6)}`, dispositions: ['解決'], hours, ...(outboundCallerId !== undefined ? { outboundCallerId } : {}) } });
  const callerIdFor = async (callId: string, user: string, secret: string | null = ROUTE_SECRET) =>
    h.req('GET', `/sip/outbound?callId=${encodeURIComponent(callId)}&user=${encodeURIComponent(user)}`, { headers: secret ? { 'x-koe-route-secret': secret } : {} });

  /** An operator assigned to `campaigns`, connected on /ws and ready (microphone present). */
  async function readyOperator(campaigns: string[]): Promise<{ u: TestUser; dial: (intent: Record<string, unknown>) => Promise<any> }> {
    const u = await h.newUser('operator');
    for (const c of campaigns) await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: c, org_id: h.orgId }).execute();
    const socket = await GatewaySocket.open(base, { token: await h.token(u), name: `ws ${u.username}` });
    sockets.push(socket);
    await socket.next((m) => m.type === 'operatorState');
    let seq = 0;
    const op = async (intent: Record<string, unknown>) => {
      const id = `r${++seq}`;
      const from = socket.messages.length;
      socket.send({ type: 'operator', id, intent });
      return socket.next((m) => (m.type === 'operatorRefused' || m.type === 'operatorState') && m.id === id, 3000, from);
    };
    expect((await op({ kind: 'microphone', available: true })).type).toBe('operatorState');
    expect((await op({ kind: 'setAvailability', state: 'ready' })).view.agent).toBe('ready');
    return { u, dial: op };
  }

  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET } });
    base = await h.gw.app.listen({ host: '127.0.0.1', port: 0 });
    admin = await h.token(h.users.admin);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await h?.close();
  });

  it('an admin sets it as E.164 from any written form, clears it, and is audited; a bad number is refused; an operator cannot change it', async () => {
    const created = await campaign('発信', '03-1234-5678');
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.outboundCallerId).toBe('+81312345678');
    const id = created.body.id as string;
    expect((await campaign('番号なし')).body.outboundCallerId).toBeNull();

    const bad = await h.req('PATCH', `/campaigns/${id}`, { token: admin, body: { outboundCallerId: 'abc' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('outboundCallerId');
    const changed = await h.ok('PATCH', `/campaigns/${id}`, admin, { outboundCallerId: '+81 120 123 456' });
    expect(changed.outboundCallerId).toBe('+81120123456');
    const row = await h.db.selectFrom('audit_log').select('detail').where('action', '=', 'campaign.updated').where('target_id', '=', id).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    const detail = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown>;
    expect(detail.outboundCallerId).toEqual({ before: '+81312345678', after: '+81120123456' });

    // the operator sees it on their campaign (it is the number their customers see) but cannot set it
    const operator = await h.token(h.users.operator);
    const refused = await h.req('PATCH', `/campaigns/${id}`, { token: operator, body: { outboundCallerId: '0312345678' } });
    expect(refused.status).toBe(403);
    expect((await h.db.selectFrom('campaigns').select('outbound_caller_id').where('id', '=', id).executeTakeFirstOrThrow()).outbound_caller_id).toBe('+81120123456');

    expect((await h.ok('PATCH', `/campaigns/${id}`, admin, { outboundCallerId: null })).outboundCallerId).toBeNull();
  });

  it('a call dialled for the operator\'s campaign presents that campaign\'s number to Kamailio; another campaign or a disabled one is refused', async () => {
    const mine = (await campaign('自分の', '0312340001')).body.id as string;
    const other = (await campaign('他人の', '0312340002')).body.id as string;
    const { u, dial } = await readyOperator([mine]);
    const user = u.username.toLowerCase();

    const outside = `out-${randomUUID()}@x`;
    expect(await dial({ kind: 'dial', callId: outside, number: '+819011112222', campaignId: other })).toMatchObject({ type: 'operatorRefused', refusal: 'unknown_campaign' });
    expect(await h.db.selectFrom('calls').select('id').where('sip_call_id', '=', outside).executeTakeFirst()).toBeUndefined();
    expect((await callerIdFor(outside, user)).body).toEqual({ callerId: null });

    const callId = `out-${randomUUID()}@x`;
    expect((await dial({ kind: 'dial', callId, number: '+819011112222', campaignId: mine })).view.agent).toBe('on_call');
    const call = await h.db.selectFrom('calls').select(['campaign_id', 'direction']).where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
    expect(call).toEqual({ campaign_id: mine, direction: 'outbound' });
    const asked = await callerIdFor(callId, user);
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({ callerId: '+81312340001' });
    // only Kamailio may ask, and only for the SIP user who dialled it
    expect((await callerIdFor(callId, user, null)).status).toBe(401);
    expect((await callerIdFor(callId, user, 'wrong-secret-wrong-secret-0123456789')).status).toBe(401);
    expect((await callerIdFor(callId, 'someone-else')).body).toEqual({ callerId: null });
    expect((await callerIdFor(callId, 'Bad User!')).status).toBe(400);
    expect((await dial({ kind: 'ended', callId, cause: 'no_answer' })).view.agent).toBe('ready');

    // a disabled campaign places no call and presents nothing
    await h.db.updateTable('campaigns').set({ disabled_at: new Date() }).where('id', '=', mine).execute();
    const afterDisable = `out-${randomUUID()}@x`;
    expect(await dial({ kind: 'dial', callId: afterDisable, number: '+819011112222', campaignId: mine })).toMatchObject({ type: 'operatorRefused', refusal: 'unknown_campaign' });
    expect((await callerIdFor(callId, user)).body).toEqual({ callerId: null });
    await h.db.updateTable('campaigns').set({ disabled_at: null }).where('id', '=', mine).execute();

    // without a campaign (one operator, one number): no caller ID is asserted
    const plain = `out-${randomUUID()}@x`;
    expect((await dial({ kind: 'dial', callId: plain, number: '+819011113333' })).view.agent).toBe('on_call');
    expect((await callerIdFor(plain, user)).body).toEqual({ callerId: null });
  });
});
