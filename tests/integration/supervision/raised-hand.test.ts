// Issue 18 item 9, the raised hand through the real /ws and the lead's route: the operator
// raises it with the `hand` intent (kept in the operator model's stored state, so every instance
// agrees); the board's one fan-out pushes it to the leads of the operator's teams and to nobody
// else; a lead of the team acknowledges it ("I'm coming": the operator's view names them, and a
// notice tells them) or lowers it (POST /supervision/operators/:id/hand); another team's lead
// gets 404 as for nobody, an operator 403; every change and refusal is audited; the hand goes
// down by itself when the operator goes offline; a hostile intent shape is refused by the schema.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from '../gateway/harness';
import { twoTeams } from './two-teams';

describe.each(BACKENDS)('the raised hand on %s', (backend) => {
  let h: Harness;
  let op: TestUser;
  let otherOp: TestUser;
  let lead: TestUser;
  let leadB: TestUser;
  let base = '';
  let opSocket: GatewaySocket;
  let leadSocket: GatewaySocket;
  let leadBSocket: GatewaySocket;
  const path = (u: TestUser | string) => `/supervision/operators/${typeof u === 'string' ? u : u.id}/hand`;
  async function audits(action: string, targetId: string) {
    const rows = await h.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();
    return rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail })).filter((r) => r.target_id === targetId);
  }
  const handUpdates = (s: GatewaySocket, userId: string) => s.messages.filter((m) => m.type === 'boardUpdate' && m.operator.userId === userId);
  async function connect(u: TestUser, name: string): Promise<GatewaySocket> {
    return GatewaySocket.open(base, { token: await h.token(u), name });
  }

  beforeAll(async () => {
    h = await setup(backend);
    ({ op, otherOp, lead, leadB } = await twoTeams(h));
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    opSocket = await connect(op, `ws ${op.username}`);
    await opSocket.next((m) => m.type === 'operatorState');
    leadSocket = await connect(lead, 'lead A');
    leadSocket.send({ type: 'boardSubscribe' });
    await leadSocket.next((m) => m.type === 'board');
    leadBSocket = await connect(leadB, 'lead B');
    leadBSocket.send({ type: 'boardSubscribe' });
    await leadBSocket.next((m) => m.type === 'board');
  });
  afterAll(async () => {
    for (const s of [opSocket, leadSocket, leadBSocket]) s?.close();
    await h?.close();
  });

  it("the operator raises it: their view says since when, the team's lead's board shows it, another team's lead gets nothing; audited", async () => {
    const snapshot = leadSocket.messages.find((m) => m.type === 'board');
    expect(snapshot.operators.find((o: any) => o.userId === op.id).hand).toBeNull();
    const t0 = h.clock.now().toISOString();
    opSocket.send({ type: 'operator', id: 'raise-1', intent: { kind: 'hand', raised: true } });
    const view = await opSocket.next((m) => m.type === 'operatorState' && m.id === 'raise-1');
    expect(view.view.hand).toEqual({ raisedAt: h.clock.now().getTime(), acknowledgedAt: null, acknowledgedBy: null });
    const row = await leadSocket.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.hand);
    expect(row.operator.hand).toEqual({ raisedAt: t0, acknowledgedAt: null, acknowledgedBy: null });
    // the state is the stored model's (what every instance reads)
    expect((await h.gw.ctx.agents.get(op.id))!.model.hand).toMatchObject({ raisedAt: h.clock.now().getTime() });
    // GET /supervision/board says the same
    const board = await h.req('GET', '/supervision/board', { token: await h.token(lead) });
    expect(board.body.operators.find((o: any) => o.userId === op.id).hand).toEqual({ raisedAt: t0, acknowledgedAt: null, acknowledgedBy: null });
    const [entry, ...more] = await audits('agent.hand_raised', op.id);
    expect(more).toHaveLength(0);
    expect(entry).toMatchObject({ actor_user_id: op.id, target_id: op.id });
    expect(entry!.detail).toMatchObject({ by: 'operator', operatorId: op.id, raisedAt: t0 });
    // raising again is answered with the same view (the first time stands) and audits nothing more
    opSocket.send({ type: 'operator', id: 'raise-2', intent: { kind: 'hand', raised: true } });
    expect((await opSocket.next((m) => m.type === 'operatorState' && m.id === 'raise-2')).view.hand.raisedAt).toBe(view.view.hand.raisedAt);
    expect(await audits('agent.hand_raised', op.id)).toHaveLength(1);
    // lead B's board never heard of it
    await h.gw.ctx.agents.idle();
    expect(handUpdates(leadBSocket, op.id)).toEqual([]);
  });

  it("refuses another team's lead (404, as for nobody) and an operator (403); each lead refusal audited; the hand stays", async () => {
    const byB = await h.req('POST', path(op), { token: await h.token(leadB), body: { action: 'acknowledge' } });
    expect(byB.status).toBe(404);
    const nobody = await h.req('POST', path(randomUUID()), { token: await h.token(leadB), body: { action: 'lower' } });
    expect(nobody.status).toBe(404);
    expect(nobody.body.error.message).toBe(byB.body.error.message);
    expect((await h.req('POST', path(op), { token: await h.token(otherOp), body: { action: 'lower' } })).status).toBe(403);
    expect((await h.req('POST', path(op), { token: await h.token(lead), body: { action: 'wave' } })).status).toBe(400);
    expect((await h.gw.ctx.agents.get(op.id))!.model.hand).toMatchObject({ acknowledgedAt: null });
    const refused = await audits('supervision.hand_refused', op.id);
    expect(refused.map((r) => [r.actor_user_id, r.detail.action, r.detail.refusal])).toEqual([[leadB.id, 'acknowledge', 'not_in_team']]);
  });

  it("the team's lead acknowledges it: it stays up with the lead's name, the operator is told, the board shows it; audited with the lead as actor", async () => {
    const from = opSocket.messages.length;
    h.clock.advance(30_000);
    const res = await h.req('POST', path(op), { token: await h.token(lead), body: { action: 'acknowledge' } });
    expect(res.status).toBe(200);
    const ackAt = h.clock.now().toISOString();
    const leadName = (await h.db.selectFrom('users').select('display_name').where('id', '=', lead.id).executeTakeFirstOrThrow()).display_name;
    expect(res.body).toEqual({ userId: op.id, hand: { raisedAt: expect.any(String), acknowledgedAt: ackAt, acknowledgedBy: leadName } });
    expect(await opSocket.next((m) => m.type === 'operatorNotice', undefined, from)).toEqual({ type: 'operatorNotice', code: 'hand_acknowledged', callId: null });
    const view = await opSocket.next((m) => m.type === 'operatorState' && m.view.hand?.acknowledgedAt, undefined, from);
    expect(view.view.hand).toMatchObject({ acknowledgedAt: h.clock.now().getTime(), acknowledgedBy: leadName });
    await leadSocket.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.hand?.acknowledgedAt === ackAt);
    const [entry] = await audits('agent.hand_acknowledged', op.id);
    expect(entry).toMatchObject({ actor_user_id: lead.id, target_id: op.id });
    expect(entry!.detail).toMatchObject({ by: 'lead', lead: lead.username, leadId: lead.id, operatorId: op.id });
    // acknowledging again changes nothing (the first lead's stands) and is not audited twice
    expect((await h.req('POST', path(op), { token: await h.token(lead), body: { action: 'acknowledge' } })).body.hand.acknowledgedAt).toBe(ackAt);
    expect(await audits('agent.hand_acknowledged', op.id)).toHaveLength(1);
  });

  it('the lead lowers it: down for the operator (told) and on the board; audited; lowering a hand that is down is a 409, audited', async () => {
    const from = opSocket.messages.length;
    const res = await h.req('POST', path(op), { token: await h.token(lead), body: { action: 'lower' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: op.id, hand: null });
    expect(await opSocket.next((m) => m.type === 'operatorNotice', undefined, from)).toMatchObject({ code: 'hand_lowered_by_lead' });
    await opSocket.next((m) => m.type === 'operatorState' && m.view.hand === null, undefined, from);
    await leadSocket.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.hand === null);
    expect((await audits('agent.hand_lowered', op.id)).map((r) => [r.actor_user_id, r.detail.by])).toEqual([[lead.id, 'lead']]);
    const again = await h.req('POST', path(op), { token: await h.token(lead), body: { action: 'acknowledge' } });
    expect(again.status).toBe(409);
    expect((await audits('supervision.hand_refused', op.id)).at(-1)!.detail).toMatchObject({ refusal: 'no_hand', action: 'acknowledge', lead: lead.username });
  });

  it('the operator lowers their own hand, on a call too (audited by the operator)', async () => {
    const who = { userId: op.id, orgId: h.orgId, username: op.username };
    const callId = `hand-${randomUUID()}`;
    expect((await h.gw.ctx.agents.apply(who, { type: 'dial', callId })).kind).toBe('accepted');
    expect((await h.gw.ctx.agents.apply(who, { type: 'answered', callId })).kind).toBe('accepted');
    opSocket.send({ type: 'operator', id: 'raise-call', intent: { kind: 'hand', raised: true } });
    expect((await opSocket.next((m) => m.type === 'operatorState' && m.id === 'raise-call')).view).toMatchObject({ agent: 'on_call', hand: { acknowledgedAt: null } });
    opSocket.send({ type: 'operator', id: 'lower-call', intent: { kind: 'hand', raised: false } });
    expect((await opSocket.next((m) => m.type === 'operatorState' && m.id === 'lower-call')).view).toMatchObject({ agent: 'on_call', hand: null });
    expect((await audits('agent.hand_lowered', op.id)).at(-1)).toMatchObject({ actor_user_id: op.id, detail: { by: 'operator' } });
    expect((await h.gw.ctx.agents.apply(who, { type: 'ended', callId, cause: 'completed' })).kind).toBe('accepted');
    expect((await h.gw.ctx.agents.apply(who, { type: 'finishWrapUp', callId })).kind).toBe('accepted');
  });

  it('refuses a hostile or unknown intent shape by the schema (the socket is closed 4400), the hand unchanged', async () => {
    const hostile = [
      { kind: 'hand', raised: 'yes' },
      { kind: 'hand', raised: true, acknowledgedBy: 'lead' },
      { kind: 'hand' },
      { kind: 'acknowledgeHand', byLead: { userId: lead.id, username: lead.username, displayName: 'x' } },
      { kind: 'lowerHand', byLead: { userId: lead.id } },
    ];
    for (const intent of hostile) {
      const s = await connect(op, 'hostile');
      s.send({ type: 'operator', id: 'h1', intent });
      expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: 'validation_failed' });
      expect((await s.closed).code).toBe(4400);
    }
    await h.gw.ctx.agents.idle();
    expect((await h.gw.ctx.agents.get(op.id))!.model.hand ?? null).toBeNull();
  });

  it('goes down by itself when the operator goes offline (the client gone past the grace); audited by the gateway; the board shows it', async () => {
    opSocket.send({ type: 'operator', id: 'raise-3', intent: { kind: 'hand', raised: true } });
    await opSocket.next((m) => m.type === 'operatorState' && m.id === 'raise-3');
    await leadSocket.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.hand);
    const from = leadSocket.messages.length;
    opSocket.close();
    await opSocket.closed;
    await h.gw.ctx.agents.idle();
    // a disconnect alone keeps it (the client may be back within the grace)
    expect((await h.gw.ctx.agents.get(op.id))!.model).toMatchObject({ connections: 0, hand: { acknowledgedAt: null } });
    h.clock.advance(10 * 60_000);
    await h.gw.ctx.agents.sweep();
    await h.gw.ctx.agents.idle();
    expect((await h.gw.ctx.agents.get(op.id))!.model).toMatchObject({ agent: 'offline', hand: null });
    await leadSocket.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.state === 'offline' && m.operator.hand === null, undefined, from);
    expect((await audits('agent.hand_lowered', op.id)).at(-1)).toMatchObject({ actor_user_id: null, detail: { by: 'gateway', cause: 'offline' } });
    // an offline operator's hand cannot be answered (409), nor raised (the model refuses offline)
    expect((await h.req('POST', path(op), { token: await h.token(lead), body: { action: 'lower' } })).status).toBe(409);
  });
});
