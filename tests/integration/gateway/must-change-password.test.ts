// A password an admin sets is temporary (issue 17): POST /admin/users/:id/password sets it and
// users.must_change_password; a session of that user reaches only /me, the password change (and
// its rules), the client policy and sign-out, on every other route (from the route table, not a
// hand-picked list) and on /ws it is refused with password_change_required; POST /me/password
// clears the flag and the same session is a full one. One rule: server/auth/principal-type.ts
// sessionLimit, asked by route() (server/http.ts) and the /ws auth.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '../../../shared/gateway/api';
import { SESSION_LIMITS } from '../../../server/auth/principal-type';
import { totpCode } from '../../../server/auth/totp';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const TEMPORARY = 'Temporary-Pass-2026!';
const CHOSEN = 'My-Own-Choice-77#';

/** Every authenticated route of the contract, its path parameters filled with fresh ids. */
function authenticatedRoutes(): { name: string; method: string; url: string }[] {
  return (Object.entries(ROUTES) as [string, RouteSpec][])
    .filter(([, spec]) => spec.auth !== null && spec.auth !== 'kamailio')
    .map(([name, spec]) => ({ name, method: spec.method, url: spec.path.replace(/:[A-Za-z]+/g, randomUUID()) }));
}

describe.each(BACKENDS)('temporary password, must change, on %s', (backend) => {
  let h: Harness;
  let base = '';
  beforeAll(async () => {
    h = await setup(backend, { sip: { authephSecrets: ['s'.repeat(40)], domain: 'koe.test' } });
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  });
  afterAll(async () => h?.close());

  async function reset(user: TestUser, password = TEMPORARY) {
    const res = await h.req('POST', `/admin/users/${user.id}/password`, { token: await h.token(h.users.admin), body: { password } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const flag = async (id: string) =>
    (await h.db.selectFrom('users').select('must_change_password').where('id', '=', id).executeTakeFirstOrThrow()).must_change_password;

  it('an admin reset sets the flag (audited, the user\'s sessions end); a sign-in with it says so and the user view shows it', async () => {
    const u = await h.newUser('operator');
    const before = await h.signIn(u);
    expect(before.body.passwordChangeRequired).toBe(false);
    expect(await flag(u.id)).toBe(false);
    await reset(u);
    expect(await flag(u.id)).toBe(true);
    // the session from before the reset is gone
    expect((await h.req('GET', '/me', { token: before.body.tokens.accessToken })).body.error.code).toBe('session_revoked');
    const audit = await h.db.selectFrom('audit_log').select(['action', 'detail']).where('target_id', '=', u.id).where('action', '=', 'user.password_reset').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.detail)).toContain('"mustChange":true');
    // the old password no longer works; the temporary one does, and the answer says it is limited
    expect((await h.signIn(u)).body.error.code).toBe('invalid_credentials');
    const s = await h.signIn(u, { password: TEMPORARY });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body.passwordChangeRequired).toBe(true);
    expect(s.body.user.mustChangePassword).toBe(true);
    const list = await h.req('GET', '/admin/users', { token: await h.token(h.users.admin) });
    expect(list.body.users.find((x: { id: string }) => x.id === u.id).mustChangePassword).toBe(true);
  });

  it('the limited session is refused on every other route of the contract and on /ws, then the change makes the SAME session full', async () => {
    // an admin: every permission, so no refusal below can be a permission refusal
    const u = await h.newUser('admin');
    await reset(u);
    const s = await h.signIn(u, { password: TEMPORARY });
    const token = s.body.tokens.accessToken as string;
    const open = SESSION_LIMITS.password_change.routes;
    const routes = authenticatedRoutes();
    expect(routes.length).toBeGreaterThan(40);
    let refused = 0;
    for (const r of routes.filter((x) => !open.has(x.name as never))) {
      // bodies are not needed: who asks (and what their session may do) is decided before what they ask
      const res = await h.req(r.method, r.url, { token });
      expect(res.status, `${r.name} ${r.method} ${r.url}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.error.code, r.name).toBe('password_change_required');
      refused++;
    }
    expect(refused).toBe(routes.length - open.size);
    // hostile: a random order and a repeat change nothing
    for (const r of [...routes].sort(() => Math.random() - 0.5).slice(0, 10).filter((x) => !open.has(x.name as never))) {
      expect((await h.req(r.method, r.url, { token })).body.error.code, r.name).toBe('password_change_required');
    }
    // what stays open
    expect((await h.req('GET', '/me', { token })).status).toBe(200);
    expect((await h.req('GET', '/me/client-policy', { token })).status).toBe(200);
    expect((await h.req('GET', '/me/password-policy', { token })).status).toBe(200);
    // /ws too: no live link for a limited session
    const ws = await GatewaySocket.open(base);
    ws.send({ type: 'auth', accessToken: token });
    expect((await ws.closed).code).toBe(4403);
    expect(ws.messages.some((m: { type: string; code?: string }) => m.type === 'error' && m.code === 'password_change_required')).toBe(true);

    // keeping the temporary password is refused, and so is a wrong current one; the flag stays
    const keep = await h.req('POST', '/me/password', { token, body: { currentPassword: TEMPORARY, newPassword: TEMPORARY } });
    expect([keep.status, keep.body.error.code]).toEqual([400, 'password_policy']);
    const wrong = await h.req('POST', '/me/password', { token, body: { currentPassword: 'not-it-at-all-1A!', newPassword: CHOSEN } });
    expect(wrong.status).toBe(401);
    expect(await flag(u.id)).toBe(true);
    expect((await h.req('GET', '/admin/users', { token })).body.error.code).toBe('password_change_required');

    const changed = await h.req('POST', '/me/password', { token, body: { currentPassword: TEMPORARY, newPassword: CHOSEN } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(await flag(u.id)).toBe(false);
    // the same token, now full
    expect((await h.req('GET', '/admin/users', { token })).status).toBe(200);
    expect((await h.req('POST', '/sip/credentials', { token })).status).toBe(200);
    expect((await h.req('GET', '/me', { token })).body.user.mustChangePassword).toBe(false);
    const ws2 = await GatewaySocket.open(base, { token });
    ws2.ws.close();
    // and the next sign-in with the chosen password is a full one
    const again = await h.signIn(u, { password: CHOSEN });
    expect(again.body.passwordChangeRequired).toBe(false);
    const audit = await h.db.selectFrom('audit_log').select('detail').where('actor_user_id', '=', u.id).where('action', '=', 'user.password_changed').execute();
    expect(JSON.stringify(audit.map((a) => a.detail))).toContain('"wasTemporary":true');
  });

  it('with TOTP required too: the password change comes first, then the enrolment, then the session is full', async () => {
    await h.patchPolicy({ totpRequiredRoles: ['operator'] });
    try {
      const u = await h.newUser('operator');
      await reset(u);
      const s = await h.signIn(u, { password: TEMPORARY });
      expect([s.body.passwordChangeRequired, s.body.totpEnrolmentRequired]).toEqual([true, true]);
      const token = s.body.tokens.accessToken as string;
      // the temporary password (known to whoever set it) cannot be used to bind an authenticator
      expect((await h.req('POST', '/me/totp/enrol', { token })).body.error.code).toBe('password_change_required');
      expect((await h.req('POST', '/me/password', { token, body: { currentPassword: TEMPORARY, newPassword: CHOSEN } })).status).toBe(200);
      expect((await h.req('GET', '/me/devices', { token })).body.error.code).toBe('totp_enrolment_required');
      const start = await h.req('POST', '/me/totp/enrol', { token });
      expect(start.status).toBe(200);
      expect((await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(start.body.secret, h.clock.now()) } })).status).toBe(200);
      expect((await h.req('GET', '/me/devices', { token })).status).toBe(200);
    } finally {
      await h.patchPolicy({ totpRequiredRoles: [] });
    }
  });

  it('a password the user changes themselves never sets the flag; a second reset sets it again', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    expect((await h.req('POST', '/me/password', { token, body: { currentPassword: u.password, newPassword: CHOSEN } })).status).toBe(200);
    expect(await flag(u.id)).toBe(false);
    await reset(u, 'Second-Temporary-88!');
    expect(await flag(u.id)).toBe(true);
    // an operator or a lead cannot reset anyone (the permission, audited as forbidden)
    for (const who of [h.users.operator, h.users.lead]) {
      const res = await h.req('POST', `/admin/users/${u.id}/password`, { token: await h.token(who), body: { password: 'Sneaky-Reset-55!' } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await h.signIn(u, { password: 'Second-Temporary-88!' })).body.passwordChangeRequired).toBe(true);
  });
});
