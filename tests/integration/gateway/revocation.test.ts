// Sessions end everywhere at once: an open /ws (a lead with a board subscription, an
// operator receiving agent states) is closed with a typed code, or narrowed, the moment its
// session is revoked, its user disabled or demoted, its teams or its role's permissions
// change, or the allowlist stops covering its address (session-event bus,
// server/session-events.ts; LivePrincipal in server/ws/live-principal.ts). Without an event (a change
// made behind the gateway's back) the periodic re-validation catches it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

type Ws = GatewaySocket;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('revocation reaches open sockets on %s', (backend) => {
  let h: Harness;
  let base = '';
  let adminToken = '';
  beforeAll(async () => {
    // The socket's address is taken from X-Forwarded-For (loopback is a trusted proxy here).
    // Periodic re-validation is slow here (10 min), so what the tests see comes from the events.
    h = await setup(backend, { trustedProxies: ['127.0.0.1/32'], ws: { revalidateSeconds: 600 } });
    const addr = await h.gw.app.listen({ host: '127.0.0.1', port: 0 });
    base = addr.replace(/^http/, 'ws');
    adminToken = await h.token(h.users.admin);
  });
  const opened: Ws[] = [];
  afterAll(async () => {
    for (const s of opened) if (!s.isClosed()) s.ws.close();
    await Promise.all(opened.map((s) => s.closed));
    await sleep(200); // the gateway's side of each close (agent offline) before the database goes
    await h?.close();
  });

  async function open(token: string, ip = '10.0.0.1'): Promise<Ws> {
    const s = await GatewaySocket.open(base, { token, headers: { 'x-forwarded-for': ip } });
    opened.push(s);
    return s;
  }

  /**
   * The admin's board (every operator of the org): the witness for absence checks. A change
   * of an operator is pushed to every board that shows them; once the witness has it, the
   * change has been handled, and a board that should not show it can be checked.
   */
  let witness: Ws | null = null;
  async function changeSeen(op: TestUser, state: 'ready' | 'break' | 'not_ready') {
    if (!witness) {
      witness = await open(adminToken);
      witness.send({ type: 'boardSubscribe' });
      await witness.next((m) => m.type === 'board');
    }
    const from = witness.messages.length;
    await setState(op, state);
    await witness.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id && m.operator.state === state, 3000, from);
  }

  /** A lead leading a fresh team with one operator; the lead's socket subscribed to the board. */
  async function leadWithBoard(ip?: string) {
    const lead = await h.newUser('team_lead', 'lead');
    const op = await h.newUser('operator');
    const team = await h.req('POST', '/admin/teams', { token: adminToken, body: { name: `team-${lead.username}` } });
    expect(team.status).toBe(200);
    const members = await h.req('PUT', `/admin/teams/${team.body.id}/members`, { token: adminToken, body: { leadIds: [lead.id], operatorIds: [op.id] } });
    expect(members.status, JSON.stringify(members.body)).toBe(200);
    const s = await open(await h.token(lead), ip);
    s.send({ type: 'boardSubscribe' });
    const board = await s.next((m) => m.type === 'board');
    expect(board.operators.map((o: any) => o.userId)).toEqual([op.id]);
    return { lead, op, teamId: team.body.id as string, s };
  }

  /** Through the operator model (server/sip/agents.ts): connected and with a microphone first, as a client would be. */
  const setState = async (u: TestUser, state: 'ready' | 'break' | 'not_ready') => {
    const who = { userId: u.id, orgId: h.orgId, username: u.username };
    const agents = h.gw.ctx.agents;
    const current = await agents.get(u.id);
    if (!current || current.model.agent === 'offline') await agents.apply(who, { type: 'connected' });
    if (current?.model.microphone !== true) await agents.apply(who, { type: 'microphone', available: true });
    const out = await agents.apply(who, { type: 'setAvailability', state, reason: state === 'not_ready' ? 'meeting' : null });
    expect(out.kind === 'accepted' || out.kind === 'ignored', JSON.stringify(out)).toBe(true);
  };
  const boardUpdatesFor = (s: Ws, userId: string) => s.messages.filter((m) => m.type === 'boardUpdate' && m.operator.userId === userId).length;

  /** Board pushes flow before the change (so "no push after" means something). */
  async function boardFlows(s: Ws, op: TestUser) {
    const before = boardUpdatesFor(s, op.id);
    await setState(op, 'ready');
    await s.next(() => boardUpdatesFor(s, op.id) > before);
  }

  async function closesWith(s: Ws, reason: string) {
    const started = Date.now();
    const c = await Promise.race([s.closed, sleep(1000).then(() => null)]);
    expect(c, `socket still open ${Date.now() - started} ms after the change`).not.toBeNull();
    expect(c).toEqual({ code: 4401, reason });
    expect(s.messages.at(-1)).toMatchObject({ type: 'error', code: reason });
  }

  it('admin revoke: the lead\'s socket closes within a second (session_revoked), no board push after', async () => {
    const { lead, op, s } = await leadWithBoard();
    await boardFlows(s, op);
    const res = await h.req('POST', `/admin/users/${lead.id}/sessions/revoke`, { token: adminToken });
    expect(res.status).toBe(200);
    await closesWith(s, 'session_revoked');
    const count = s.messages.length;
    await changeSeen(op, 'break');
    expect(s.messages.length).toBe(count);
  });

  it('sign-out of the session closes its socket', async () => {
    const op = await h.newUser('operator');
    const signIn = await h.signIn(op);
    const s = await open(signIn.body.tokens.accessToken);
    expect((await h.req('POST', '/auth/sign-out', { token: signIn.body.tokens.accessToken })).status).toBe(200);
    await closesWith(s, 'session_revoked');
  });

  it('disabling the user closes the socket with account_disabled; agent states stop', async () => {
    const { lead, op, s } = await leadWithBoard();
    const opSocket = await open(await h.token(op));
    // "ready" comes once the socket is an agent: a state set right away reaches it
    await setState(op, 'ready');
    await opSocket.next((m) => m.type === 'agentState' && m.state === 'ready');
    expect((await h.req('PATCH', `/admin/users/${lead.id}`, { token: adminToken, body: { disabled: true } })).status).toBe(200);
    await closesWith(s, 'account_disabled');
    expect((await h.req('PATCH', `/admin/users/${op.id}`, { token: adminToken, body: { disabled: true } })).status).toBe(200);
    await closesWith(opSocket, 'account_disabled');
  });

  it('demoting the lead (role change) ends the board subscription but not the socket', async () => {
    const { lead, op, s } = await leadWithBoard();
    await boardFlows(s, op);
    expect((await h.req('PATCH', `/admin/users/${lead.id}`, { token: adminToken, body: { role: 'operator' } })).status).toBe(200);
    await s.next((m) => m.type === 'error' && m.code === 'forbidden' && /board/.test(m.message), 5000);
    const count = boardUpdatesFor(s, op.id);
    await changeSeen(op, 'break');
    await s.sync(); // the socket is still served: whatever was sent on it before the pong is here
    expect(boardUpdatesFor(s, op.id)).toBe(count);
    expect(s.isClosed()).toBe(false);
    // Asking again is refused like a route without the permission, and audited the same way.
    const errorsBefore = s.messages.filter((m) => m.type === 'error').length;
    s.ws.send(JSON.stringify({ type: 'boardSubscribe' }));
    await s.next(() => s.messages.filter((m) => m.type === 'error').length > errorsBefore);
    expect(s.messages.at(-1)).toMatchObject({ type: 'error', code: 'forbidden' });
    const entry = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'authz.forbidden').where('actor_user_id', '=', lead.id).executeTakeFirst();
    expect(entry?.target_id).toBe('ws:boardSubscribe');
    s.ws.close();
  });

  it('removing team:supervise from the role stops every lead\'s board', async () => {
    const { op, s } = await leadWithBoard();
    await boardFlows(s, op);
    const roles = await h.req('GET', '/admin/roles', { token: adminToken });
    const role = roles.body.roles.find((r: any) => r.key === 'team_lead');
    const without = role.permissions.filter((p: string) => p !== 'team:supervise');
    try {
      expect((await h.req('PATCH', `/admin/roles/${role.id}`, { token: adminToken, body: { permissions: without } })).status).toBe(200);
      await s.next((m) => m.type === 'error' && m.code === 'forbidden', 5000);
      const count = boardUpdatesFor(s, op.id);
      // (a change: boardFlows left the operator ready, and "ready" again would push nothing anywhere)
      await changeSeen(op, 'break');
      await s.sync();
      expect(boardUpdatesFor(s, op.id)).toBe(count);
    } finally {
      await h.req('PATCH', `/admin/roles/${role.id}`, { token: adminToken, body: { permissions: role.permissions } });
      s.ws.close();
    }
  });

  it('moving the lead to another team: the old team\'s rows stop, the new team\'s come', async () => {
    const { lead, op, teamId, s } = await leadWithBoard();
    await boardFlows(s, op);
    const op2 = await h.newUser('operator');
    const team2 = await h.req('POST', '/admin/teams', { token: adminToken, body: { name: `team2-${lead.username}` } });
    expect((await h.req('PUT', `/admin/teams/${teamId}/members`, { token: adminToken, body: { leadIds: [], operatorIds: [op.id] } })).status).toBe(200);
    expect((await h.req('PUT', `/admin/teams/${team2.body.id}/members`, { token: adminToken, body: { leadIds: [lead.id], operatorIds: [op2.id] } })).status).toBe(200);
    // a fresh snapshot for the new scope
    await s.next((m) => m.type === 'board' && m.operators.length === 1 && m.operators[0].userId === op2.id, 5000);
    const oldRows = boardUpdatesFor(s, op.id);
    await setState(op, 'break');
    await setState(op2, 'ready');
    await s.next(() => boardUpdatesFor(s, op2.id) > 0);
    expect(boardUpdatesFor(s, op.id)).toBe(oldRows);
    s.ws.close();
  });

  it('an allowlist change that excludes the socket\'s address closes it (ip_not_allowed)', async () => {
    const { s } = await leadWithBoard('192.0.2.10');
    const inside = await open(await h.token(await h.newUser('operator')), '10.0.0.7');
    try {
      await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/24'], roles: {} } });
      await closesWith(s, 'ip_not_allowed');
      // the same policy change reached this socket too: it answers, still open
      await inside.sync();
      expect(inside.isClosed()).toBe(false);
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
      inside.ws.close();
    }
  });

  it('a change made without an event (behind the gateway\'s back) is caught by the periodic re-validation', async () => {
    h.gw.ctx.config.ws.revalidateSeconds = 1; // read when a socket authenticates
    const { lead, s } = await leadWithBoard().finally(() => (h.gw.ctx.config.ws.revalidateSeconds = 600));
    await h.db.updateTable('users').set({ disabled: true }).where('id', '=', lead.id).execute();
    const c = await Promise.race([s.closed, sleep(2500).then(() => null)]);
    expect(c).toEqual({ code: 4401, reason: 'account_disabled' });
  });

  it('records the SIP-side cut for user-wide revocations (hook for Kamailio)', async () => {
    const u = await h.newUser('operator');
    expect(await h.gw.ctx.sipAccess.revokedAt(u.id)).toBeNull();
    const seen: any[] = [];
    const off = h.gw.ctx.sessionEvents.subscribe((e) => e.kind === 'sip_access_revoked' && e.userId === u.id && seen.push(e));
    await h.signIn(u);
    expect((await h.req('POST', `/admin/users/${u.id}/sessions/revoke`, { token: adminToken })).status).toBe(200);
    await h.gw.ctx.sipAccess.idle(); // the cut is written to sip_access_cuts (issue 14), then published
    off();
    expect(await h.gw.ctx.sipAccess.revokedAt(u.id)).toEqual(h.clock.now());
    expect(seen).toHaveLength(1);
  });
});
