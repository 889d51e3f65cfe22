// The admin console's users lane (issue 17) at the gateway: users an admin creates must change
// the password at first sign-in; the org-wide session list (paged) and revoking one session
// (its /ws closes); deleting a user leaves a tombstone (personal fields erased, username freed,
// history keeps the id); the org always keeps an administrator (last_admin) and nobody disables,
// deletes or demotes themselves (server/auth/authority.ts); a user's teams; the device list
// pages with addresses. Operators and leads are refused by the gateway; another org's ids
// answer like nonexistent ones (also in tenants.test.ts's every-route probe).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELETED_USER_NAME } from '../../../shared/gateway/admin-users';
import { createOrg, createUser } from '../../../server/orgs';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, newDeviceKey, PASSWORD, setup, type Harness, type Res, type TestUser } from './harness';

const TEMPORARY = 'Temporary-Pass-2026!';
const show = (r: Res) => `${r.status} ${JSON.stringify(r.body)}`;

describe.each(BACKENDS)('admin users, sessions, devices on %s', (backend) => {
  let h: Harness;
  let base = '';
  let admin = '';
  const sockets: GatewaySocket[] = [];
  beforeAll(async () => {
    h = await setup(backend, { ws: { revalidateSeconds: 600 } });
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    admin = await h.token(h.users.admin);
  });
  afterAll(async () => {
    for (const s of sockets) if (!s.isClosed()) s.ws.close();
    await Promise.all(sockets.map((s) => s.closed));
    await h?.close();
  });

  const headSeq = async () => Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
  const auditSince = async (seq: number, action: string) =>
    h.db.selectFrom('audit_log').select(['action', 'actor_user_id', 'target_type', 'target_id', 'detail', 'org_id']).where('seq', '>', seq).where('action', '=', action).orderBy('seq').execute();
  const detail = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d) as Record<string, any>;
  const sessionsOf = async (token: string, query = '') => {
    const all: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await h.req('GET', `/admin/sessions?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
      expect(res.status, show(res)).toBe(200);
      all.push(...res.body.sessions);
      cursor = res.body.nextCursor;
    } while (cursor && ++pages < 1000);
    return all;
  };
  /** An operator and a lead, each signed in: their tokens. */
  const refusedTokens = async () => [await h.token(await h.newUser('operator')), await h.token(await h.newUser('team_lead', 'lead'))];

  it('a user an admin creates has a temporary password: the first sign-in can only change it (audited as such)', async () => {
    const seq = await headSeq();
    const created = await h.req('POST', '/admin/users', { token: admin, body: { username: `new-${backend}-1`, displayName: '新人 一郎', role: 'operator', password: TEMPORARY } });
    expect(created.status, show(created)).toBe(200);
    expect(created.body.mustChangePassword).toBe(true);
    const [entry] = await auditSince(seq, 'user.created');
    expect(detail(entry!.detail).mustChange).toBe(true);
    const s = await h.signIn({ username: `new-${backend}-1`, device: newDeviceKey() }, { password: TEMPORARY });
    expect(s.status, show(s)).toBe(200);
    expect(s.body.passwordChangeRequired).toBe(true);
    expect((await h.req('GET', '/admin/users', { token: s.body.tokens.accessToken })).body.error.code).toBe('password_change_required');
    const changed = await h.req('POST', '/me/password', { token: s.body.tokens.accessToken, body: { currentPassword: TEMPORARY, newPassword: 'Chosen-By-Me-2026?' } });
    expect(changed.status, show(changed)).toBe(200);
    expect((await h.db.selectFrom('users').select('must_change_password').where('id', '=', created.body.id).executeTakeFirstOrThrow()).must_change_password).toBe(false);
    // users made by the CLI or seeding (createUser without `temporary`) keep their password
    expect((await h.db.selectFrom('users').select('must_change_password').where('id', '=', h.users.operator.id).executeTakeFirstOrThrow()).must_change_password).toBe(false);
  });

  it('operators and leads are refused every new route by the gateway (403), whatever the id', async () => {
    for (const token of await refusedTokens()) {
      for (const [method, url, body] of [
        ['GET', '/admin/sessions', undefined],
        ['POST', `/admin/sessions/${randomUUID()}/revoke`, undefined],
        ['DELETE', `/admin/users/${h.users.operator.id}`, undefined],
        ['PUT', `/admin/users/${h.users.operator.id}/teams`, { teams: [] }],
        ['GET', '/admin/devices?limit=5', undefined],
      ] as const) {
        const res = await h.req(method, url, { token, ...(body ? { body } : {}) });
        expect(res.status, `${method} ${url}: ${show(res)}`).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
    }
    // and nothing happened to the operator
    expect((await h.db.selectFrom('users').select('deleted_at').where('id', '=', h.users.operator.id).executeTakeFirstOrThrow()).deleted_at).toBeNull();
  });

  it('the session list pages through every live session once (user, PC, address); revoked ones and other orgs\' are not listed', async () => {
    const u = await h.newUser('operator');
    const tokens: string[] = [];
    for (let i = 0; i < 7; i++) tokens.push((await h.signIn(u, { ip: `10.1.0.${i + 1}` })).body.tokens.accessToken);
    const orgB = await createOrg(h.gw.ctx, 'B社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const bUser = `b-op-${backend}-${randomUUID().slice(0, 6)}`;
    await createUser(h.gw.ctx, { orgId: orgB, username: bUser, displayName: 'B', role: 'operator', password: PASSWORD });
    expect((await h.signIn({ username: bUser, device: null })).status).toBe(200);
    await h.req('POST', '/auth/sign-out', { token: tokens[0]! });

    for (const limit of [1, 3, 50]) {
      const all = await sessionsOf(admin, `limit=${limit}&userId=${u.id}`);
      expect(all.map((s) => s.sourceIp).sort(), `limit ${limit}`).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6', '10.1.0.7']);
      expect(new Set(all.map((s) => s.id)).size).toBe(6);
    }
    const whole = await sessionsOf(admin, 'limit=2');
    expect(new Set(whole.map((s) => s.id)).size).toBe(whole.length);
    expect(whole.some((s) => s.username === bUser)).toBe(false);
    const mine = whole.filter((s) => s.current);
    expect(mine.map((s) => s.userId)).toEqual([h.users.admin.id]);
    const one = whole.find((s) => s.userId === u.id)!;
    expect(one).toMatchObject({ username: u.username, displayName: `テスト ${u.username}`, deviceName: `PC of ${u.username}` });
    // a cursor the gateway never gave is a validation error, not a 500
    for (const bad of ['x', '2026-13-45T99:99:99.999Z~00000000-0000-0000-0000-000000000000', `'; drop table sessions; --`]) {
      expect((await h.req('GET', `/admin/sessions?cursor=${encodeURIComponent(bad)}`, { token: admin })).status).toBe(400);
    }
  });

  it('revoking one session closes its /ws (session_revoked) and only its own; audited; another org\'s session answers like none', async () => {
    const u = await h.newUser('operator');
    const a = (await h.signIn(u, { ip: '10.2.0.1' })).body.tokens.accessToken;
    const b = (await h.signIn(u, { ip: '10.2.0.2' })).body.tokens.accessToken;
    const sa = await GatewaySocket.open(base, { token: a });
    const sb = await GatewaySocket.open(base, { token: b });
    sockets.push(sa, sb);
    const target = (await sessionsOf(admin, `userId=${u.id}`)).find((s) => s.sourceIp === '10.2.0.1')!;
    const seq = await headSeq();
    const res = await h.req('POST', `/admin/sessions/${target.id}/revoke`, { token: admin });
    expect(res.status, show(res)).toBe(200);
    expect(res.body).toEqual({ revoked: 1 });
    expect(await sa.closed).toEqual({ code: 4401, reason: 'session_revoked' });
    expect((await h.req('GET', '/me', { token: a })).body.error.code).toBe('session_revoked');
    // the other session lives on: its socket answers
    sb.send({ type: 'ping', id: 'still-here' });
    expect((await sb.next((m) => m.type === 'pong')).id).toBe('still-here');
    expect((await h.req('GET', '/me', { token: b })).status).toBe(200);
    const [entry] = await auditSince(seq, 'session.revoked');
    expect([entry!.actor_user_id, entry!.target_type, entry!.target_id, detail(entry!.detail).userId]).toEqual([h.users.admin.id, 'session', target.id, u.id]);
    // twice: nothing more to revoke
    expect((await h.req('POST', `/admin/sessions/${target.id}/revoke`, { token: admin })).body).toEqual({ revoked: 0 });

    // another org's admin: the session id answers exactly like a random one
    const orgB = await createOrg(h.gw.ctx, 'C社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const bAdmin = `c-admin-${backend}-${randomUUID().slice(0, 6)}`;
    await createUser(h.gw.ctx, { orgId: orgB, username: bAdmin, displayName: 'C', role: 'admin', password: PASSWORD });
    const tokenB = (await h.signIn({ username: bAdmin, device: null })).body.tokens.accessToken;
    const other = (await sessionsOf(admin, `userId=${u.id}`))[0]!;
    const foreign = await h.req('POST', `/admin/sessions/${other.id}/revoke`, { token: tokenB });
    const none = await h.req('POST', `/admin/sessions/${randomUUID()}/revoke`, { token: tokenB });
    expect(foreign.status).toBe(404);
    expect(show(foreign)).toBe(show(none));
    expect((await h.req('GET', '/me', { token: b })).status).toBe(200);
    sb.ws.close();
  });

  it('a helpdesk role (users:manage + sessions:manage, not admin) cannot revoke an admin\'s session (authz.refused)', async () => {
    const role = await h.req('POST', '/admin/roles', { token: admin, body: { key: `helpdesk_${backend}`, name: 'ヘルプデスク', permissions: ['users:read', 'users:manage', 'sessions:manage'] } });
    expect(role.status, show(role)).toBe(200);
    const hd = await h.newUser(`helpdesk_${backend}`, 'hd');
    const hdToken = await h.token(hd);
    const adminSession = (await sessionsOf(admin, `userId=${h.users.admin.id}`))[0]!;
    const res = await h.req('POST', `/admin/sessions/${adminSession.id}/revoke`, { token: hdToken });
    expect(res.status, show(res)).toBe(403);
    expect((await h.req('GET', '/me', { token: admin })).status).toBe(200);
  });

  it('deleting a user: a tombstone (personal fields erased, username freed, history keeps the id), audited; the refusals', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    const ws = await GatewaySocket.open(base, { token });
    sockets.push(ws);
    const team = await h.ok('POST', '/admin/teams', admin, { name: `del-team-${backend}` });
    await h.ok('PUT', `/admin/users/${u.id}/teams`, admin, { teams: [{ teamId: team.id, as: 'operator' }] });
    const { campaignId } = await h.campaignWithDid(`del-campaign-${backend}`);
    await h.db.insertInto('campaign_assignments').values({ org_id: h.orgId, user_id: u.id, campaign_id: campaignId }).execute();
    const beforeSeq = await headSeq();

    const res = await h.req('DELETE', `/admin/users/${u.id}`, { token: admin });
    expect(res.status, show(res)).toBe(200);
    expect(res.body).toEqual({ ok: true, usernameFreed: true, sessionsRevoked: 1, devicesReset: 1, teamsLeft: 1, assignmentsRemoved: 1 });
    expect(await ws.closed).toEqual({ code: 4401, reason: expect.stringMatching(/session_revoked|account_disabled/) });
    const row = await h.db.selectFrom('users').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ username: `deleted.${u.id}`, display_name: DELETED_USER_NAME, disabled: true, totp_enabled: false, totp_secret: null });
    expect(row.deleted_at).not.toBeNull();
    expect(await h.db.selectFrom('team_members').select('team_id').where('user_id', '=', u.id).execute()).toEqual([]);
    expect(await h.db.selectFrom('password_history').select('id').where('user_id', '=', u.id).execute()).toEqual([]);
    expect((await h.db.selectFrom('devices').select('status').where('user_id', '=', u.id).execute()).map((d) => d.status)).toEqual(['reset']);
    const [entry] = await auditSince(beforeSeq, 'user.deleted');
    expect([entry!.actor_user_id, entry!.target_id]).toEqual([h.users.admin.id, u.id]);
    expect(JSON.stringify(entry!.detail)).not.toContain(u.username);
    // history keeps pointing at the id
    expect((await h.db.selectFrom('audit_log').select('seq').where('target_id', '=', u.id).where('action', '=', 'user.created').execute()).length).toBe(1);
    // not listed, not found, cannot sign in (old name or the tombstone's); the username is free
    expect((await h.req('GET', `/admin/users?q=${encodeURIComponent(u.username)}`, { token: admin })).body.users).toEqual([]);
    expect((await h.req('GET', '/admin/users?q=deleted.&limit=500', { token: admin })).body.users).toEqual([]);
    expect((await h.req('PATCH', `/admin/users/${u.id}`, { token: admin, body: { disabled: false } })).status).toBe(404);
    expect((await h.req('DELETE', `/admin/users/${u.id}`, { token: admin })).status).toBe(404);
    expect((await h.signIn(u)).body.error.code).toBe('invalid_credentials');
    expect((await h.signIn({ username: `deleted.${u.id}`, device: null })).status).toBe(401);
    const again = await h.req('POST', '/admin/users', { token: admin, body: { username: u.username, displayName: '別の人', role: 'operator', password: TEMPORARY } });
    expect(again.status, show(again)).toBe(200);
    expect(again.body.id).not.toBe(u.id);

    // refusals: oneself (forbidden), a lead or operator (forbidden), nonexistent (not_found)
    const self = await h.req('DELETE', `/admin/users/${h.users.admin.id}`, { token: admin });
    expect(self.status, show(self)).toBe(403);
    expect(self.body.error.message).toMatch(/delete yourself/);
    expect((await h.req('DELETE', `/admin/users/${randomUUID()}`, { token: admin })).status).toBe(404);
    expect((await h.req('DELETE', '/admin/users/not-a-uuid', { token: admin })).status).toBe(400);
  });

  it('setting a user\'s teams: replaced as a whole, lead or operator, another org\'s team like none, audited', async () => {
    const u = await h.newUser('team_lead', 'lead');
    const t1 = await h.ok('POST', '/admin/teams', admin, { name: `t1-${backend}` });
    const t2 = await h.ok('POST', '/admin/teams', admin, { name: `t2-${backend}` });
    const seq = await headSeq();
    await h.ok('PUT', `/admin/users/${u.id}/teams`, admin, { teams: [{ teamId: t1.id, as: 'lead' }, { teamId: t2.id, as: 'operator' }] });
    const teams = (await h.ok('GET', '/admin/teams', admin)).teams;
    expect(teams.find((x: any) => x.id === t1.id).leadIds).toEqual([u.id]);
    expect(teams.find((x: any) => x.id === t2.id).operatorIds).toEqual([u.id]);
    await h.ok('PUT', `/admin/users/${u.id}/teams`, admin, { teams: [{ teamId: t2.id, as: 'lead' }] });
    const view = (await h.ok('GET', `/admin/users?q=${u.username}`, admin)).users[0];
    expect(view.teamIds).toEqual([t2.id]);
    expect((await auditSince(seq, 'user.teams_changed')).length).toBe(2);
    const twice = await h.req('PUT', `/admin/users/${u.id}/teams`, { token: admin, body: { teams: [{ teamId: t1.id, as: 'lead' }, { teamId: t1.id, as: 'operator' }] } });
    expect(twice.status).toBe(400);
    expect((await h.req('PUT', `/admin/users/${u.id}/teams`, { token: admin, body: { teams: [{ teamId: randomUUID(), as: 'lead' }] } })).status).toBe(400);
    // unchanged by the refusals
    expect((await h.ok('GET', `/admin/users?q=${u.username}`, admin)).users[0].teamIds).toEqual([t2.id]);
  });

  it('the device list pages every device once, newest first, with first and last address; filter by user', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u, { ip: '10.3.0.1' });
    h.clock.advance(1000);
    await h.signIn(u, { ip: '10.3.0.9' });
    const mine = await h.ok('GET', `/admin/devices?userId=${u.id}`, admin);
    expect(mine.devices).toHaveLength(1);
    expect(mine.devices[0]).toMatchObject({ userId: u.id, username: u.username, status: 'active', firstSeenIp: '10.3.0.1', lastSeenIp: '10.3.0.9' });
    expect(mine.nextCursor).toBeNull();
    const all = (await h.ok('GET', '/admin/devices?limit=1000', admin)).devices.map((d: any) => d.id);
    for (const limit of [1, 2, 5]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: any = await h.ok('GET', `/admin/devices?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, admin);
        expect(page.devices.length).toBeLessThanOrEqual(limit);
        seen.push(...page.devices.map((d: any) => d.id));
        cursor = page.nextCursor;
      } while (cursor && ++pages < 1000);
      expect(seen, `limit ${limit}`).toEqual(all);
    }
  });
});

describe.each(BACKENDS)('the org keeps an administrator on %s', (backend) => {
  let h: Harness;
  let orgId = '';
  const users: Record<string, TestUser> = {};
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    h = await setup(backend);
    // an org of its own, with one admin and a custom role that holds every permission (not the admin role)
    orgId = await createOrg(h.gw.ctx, '管理者テスト社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const { PERMISSIONS } = await import('../../../shared/gateway/permissions');
    await h.db.insertInto('roles').values({ id: randomUUID(), org_id: orgId, key: 'super', name: 'すべて', permissions: JSON.stringify(PERMISSIONS), builtin: false }).execute();
    for (const [name, role] of [['a1', 'admin'], ['s1', 'super']] as const) {
      const username = `${name}-${backend}-${randomUUID().slice(0, 6)}`;
      const id = await createUser(h.gw.ctx, { orgId, username, displayName: name, role, password: PASSWORD });
      users[name] = { id, username, password: PASSWORD, device: null as never };
      tokens[name] = (await h.signIn({ username, device: null })).body.tokens.accessToken;
    }
  });
  afterAll(async () => h?.close());

  const headSeq = async () => Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);

  it('the last admin cannot be disabled, deleted or demoted (last_admin, audited); oneself neither (forbidden)', async () => {
    const a1 = users.a1!.id;
    const seq = await headSeq();
    for (const [method, url, body] of [
      ['PATCH', `/admin/users/${a1}`, { disabled: true }],
      ['PATCH', `/admin/users/${a1}`, { role: 'operator' }],
      ['PATCH', `/admin/users/${a1}`, { role: 'super' }],
      ['DELETE', `/admin/users/${a1}`, undefined],
    ] as const) {
      const res = await h.req(method, url, { token: tokens.s1!, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${JSON.stringify(body)}: ${show(res)}`).toBe(409);
      expect(res.body.error.code).toBe('last_admin');
    }
    const refused = await h.db.selectFrom('audit_log').select(['detail', 'target_id']).where('seq', '>', seq).where('action', '=', 'authz.refused').orderBy('seq').execute();
    expect(refused.map((r) => [r.target_id, (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail).reason])).toEqual([
      [a1, 'last_admin'], [a1, 'last_admin'], [a1, 'last_admin'], [a1, 'last_admin'],
    ]);
    const row = await h.db.selectFrom('users').innerJoin('roles', 'roles.id', 'users.role_id').select(['users.disabled', 'users.deleted_at', 'roles.key']).where('users.id', '=', a1).executeTakeFirstOrThrow();
    expect(row).toEqual({ disabled: false, deleted_at: null, key: 'admin' });
    // the admin on themselves: refused as self, whatever the count
    for (const [method, body, message] of [['PATCH', { disabled: true }, /disable yourself/], ['PATCH', { role: 'operator' }, /own role/], ['DELETE', undefined, /delete yourself/]] as const) {
      const res = await h.req(method, `/admin/users/${a1}`, { token: tokens.a1!, ...(body ? { body } : {}) });
      expect(res.status, show(res)).toBe(403);
      expect(res.body.error.message).toMatch(message);
    }
    // a display name change of the last admin is no removal
    expect((await h.req('PATCH', `/admin/users/${a1}`, { token: tokens.s1!, body: { displayName: '管理 一郎' } })).status).toBe(200);
  });

  it('with a second admin one may go; both removed at once (a third actor, in parallel): exactly one goes', async () => {
    const username = `a2-${backend}-${randomUUID().slice(0, 6)}`;
    const a2 = await createUser(h.gw.ctx, { orgId, username, displayName: 'a2', role: 'admin', password: PASSWORD });
    const activeAdmins = async () => (await h.db
      .selectFrom('users').innerJoin('roles', 'roles.id', 'users.role_id').select('users.id')
      .where('users.org_id', '=', orgId).where('roles.key', '=', 'admin').where('users.disabled', '=', false).where('users.deleted_at', 'is', null)
      .execute()).length;
    for (let round = 0; round < 5; round++) {
      const [x, y] = await Promise.all([
        h.req('PATCH', `/admin/users/${users.a1!.id}`, { token: tokens.s1!, body: { disabled: true } }),
        h.req('DELETE', `/admin/users/${a2}`, { token: tokens.s1! }),
      ]);
      // the org row lock orders them: one goes, the other finds it would take the last and is refused
      expect([x, y].filter((r) => r.status === 200), JSON.stringify([x.body, y.body])).toHaveLength(1);
      expect([x, y].filter((r) => r.status !== 200).map((r) => r.body.error.code)).toEqual(['last_admin']);
      expect(await activeAdmins()).toBe(1);
      if (y.status === 200) break;
      // a1 went (disabled): bring a1 back and race again (a2 still there)
      expect((await h.req('PATCH', `/admin/users/${users.a1!.id}`, { token: tokens.s1!, body: { disabled: false } })).status).toBe(200);
    }
  });
});
