// A lead sets an operator of their teams not ready (issue 18 item 9, server/supervision/lead-actions.ts):
// only with team:supervise and only for an operator on the lead's board (another team's lead
// gets 404, as for an id that is nobody), only with one of the org's reasons, through the
// operator model (refused on a call: 409), the operator told on their socket, every request
// audited (actor, target, reason).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from '../gateway/harness';
import { twoTeams } from './two-teams';

describe.each(BACKENDS)('a lead sets an operator not ready on %s', (backend) => {
  let h: Harness;
  let op: TestUser;
  let otherOp: TestUser;
  let lead: TestUser;
  let leadB: TestUser;
  let socket: GatewaySocket;
  const path = (u: TestUser) => `/supervision/operators/${u.id}/not-ready`;
  const who = (u: TestUser) => ({ userId: u.id, orgId: h.orgId, username: u.username });
  async function audits(action: string, targetId: string) {
    const rows = await h.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();
    return rows
      .map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }))
      .filter((r) => r.target_id === targetId || r.detail.operatorId === targetId);
  }

  beforeAll(async () => {
    h = await setup(backend);
    ({ op, otherOp, lead, leadB } = await twoTeams(h));
    const base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    socket = await GatewaySocket.open(base, { token: await h.token(op), name: `ws ${op.username}` });
    await socket.next((m) => m.type === 'operatorState');
    expect((await h.gw.ctx.agents.apply(who(op), { type: 'setAvailability', state: 'break', reason: null })).kind).toBe('accepted');
  });
  afterAll(async () => {
    socket?.close();
    await h?.close();
  });

  it("sets their own team's operator not ready with the org's reason; the operator is told; audited", async () => {
    const res = await h.req('POST', path(op), { token: await h.token(lead), body: { reason: 'lunch' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: op.id, state: 'not_ready', reason: 'lunch' });
    expect((await h.gw.ctx.agents.get(op.id))).toMatchObject({ state: 'not_ready', reason: 'lunch' });
    expect(await socket.next((m) => m.type === 'operatorNotice')).toEqual({ type: 'operatorNotice', code: 'set_not_ready_by_lead', callId: null });
    const [entry, ...more] = await audits('supervision.set_not_ready', op.id);
    expect(more).toHaveLength(0);
    expect(entry).toMatchObject({ actor_user_id: lead.id, target_id: op.id });
    expect(entry!.detail).toMatchObject({ lead: lead.username, operatorId: op.id, reason: 'lunch' });
  });

  it("refuses another team's lead (404, as for nobody), an operator, a reason the org does not list; each refusal audited", async () => {
    const byB = await h.req('POST', path(op), { token: await h.token(leadB), body: { reason: 'meeting' } });
    expect(byB.status).toBe(404);
    const nobody = await h.req('POST', `/supervision/operators/${randomUUID()}/not-ready`, { token: await h.token(leadB), body: { reason: 'meeting' } });
    expect(nobody.status).toBe(404);
    expect(nobody.body.error.message).toBe(byB.body.error.message);
    expect((await h.req('POST', path(otherOp), { token: await h.token(op), body: { reason: 'meeting' } })).status).toBe(403);
    expect((await h.req('POST', path(op), { token: await h.token(lead), body: { reason: 'nap' } })).status).toBe(400);
    expect((await h.req('POST', path(op), { token: await h.token(lead), body: { reason: 'Lunch!' } })).status).toBe(400);
    // nothing changed
    expect(await h.gw.ctx.agents.get(op.id)).toMatchObject({ state: 'not_ready', reason: 'lunch' });
    const refused = await audits('supervision.set_not_ready_refused', op.id);
    expect(refused.map((r) => [r.actor_user_id, r.detail.refusal])).toEqual([[leadB.id, 'not_in_team'], [lead.id, 'unknown_reason']]);
  });

  it('refuses while the operator is on a call (409), leaves the call alone, audited', async () => {
    const callId = `lead-nr-${randomUUID()}`;
    expect((await h.gw.ctx.agents.apply(who(op), { type: 'dial', callId })).kind).toBe('accepted');
    expect((await h.gw.ctx.agents.apply(who(op), { type: 'answered', callId })).kind).toBe('accepted');
    const res = await h.req('POST', path(op), { token: await h.token(lead), body: { reason: 'meeting' } });
    expect(res.status).toBe(409);
    expect(await h.gw.ctx.agents.get(op.id)).toMatchObject({ state: 'on_call' });
    const refused = await audits('supervision.set_not_ready_refused', op.id);
    expect(refused.at(-1)!.detail).toMatchObject({ refusal: 'busy_with_call', reason: 'meeting', lead: lead.username });
  });
});
