// Authority (server/auth/authority.ts): a principal grants only what it holds and acts only on
// users whose permissions it holds. A custom helpdesk role with users:manage cannot create,
// promote, reset, disable or unlock an admin or a lead with more permissions; a role with
// roles:manage cannot add a permission it lacks to any role (its own, another custom one, the
// built-in operator role). Every refusal is a 403 `forbidden` with an `authz.refused` entry;
// a refused route permission is an `authz.forbidden` entry, coalesced per user and route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ROLES } from '../../../shared/gateway/permissions';
import { AUTHZ_AUDIT_WINDOW_MS } from '../../../server/auth/authz-audit';
import { BACKENDS, PASSWORD, setup, type Harness, type Res, type TestUser } from './harness';

const OPERATOR = BUILTIN_ROLES.operator.permissions;

describe.each(BACKENDS)('no escalation through grants on %s', (backend) => {
  let h: Harness;
  let adminToken: string;
  let roleIds: Record<string, string>;
  let helpdesk: TestUser;
  let hdToken: string;
  beforeAll(async () => {
    h = await setup(backend);
    adminToken = await h.token(h.users.admin);
    const mk = async (key: string, permissions: string[]) => {
      const res = await h.req('POST', '/admin/roles', { token: adminToken, body: { key, name: key, permissions } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    // a helpdesk that looks after operators: their permissions plus user management
    await mk('helpdesk', [...OPERATOR, 'users:read', 'users:manage', 'devices:manage']);
    await mk('role_admin', ['users:read', 'roles:manage']);
    await mk('team_admin', [...OPERATOR, 'users:read', 'teams:manage']);
    await mk('viewer', ['users:read']);
    const roles = await h.req('GET', '/admin/roles', { token: adminToken });
    roleIds = Object.fromEntries(roles.body.roles.map((r: { key: string; id: string }) => [r.key, r.id]));
    helpdesk = await h.newUser('helpdesk');
    hdToken = await h.token(helpdesk);
  });
  afterAll(async () => h?.close());

  /** The authz.refused entries written since `seq`. */
  const refusalsSince = async (seq: number) =>
    (await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'authz.refused').where('seq', '>', seq).orderBy('seq').execute()).map((r) => ({
      actor: r.actor_user_id, org: r.org_id, target: r.target_id, detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    }));
  const headSeq = async () => Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
  const expectForbidden = (res: Res, what: string) => {
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(403);
    expect(res.body.error.code, what).toBe('forbidden');
  };

  it('helpdesk (users:manage) cannot create an admin or a lead, and each refusal is audited', async () => {
    const seq = await headSeq();
    for (const role of ['admin', 'team_lead', 'role_admin']) {
      const res = await h.req('POST', '/admin/users', { token: hdToken, body: { username: `hd-made-${role.replace(/_/g, '-')}`, displayName: 'x', role, password: 'Another-Good-Pass-1!' } });
      expectForbidden(res, `create ${role}`);
      expect(res.body.error.message).toMatch(/permissions you do not hold/);
    }
    expect(await h.db.selectFrom('users').select('id').where('username', 'like', 'hd-made-%').execute()).toEqual([]);
    const refused = await refusalsSince(seq);
    expect(refused.map((r) => [r.actor, r.org, r.detail.attempted, r.detail.role, r.detail.route])).toEqual([
      [helpdesk.id, h.orgId, 'user.create', 'admin', 'createUser'],
      [helpdesk.id, h.orgId, 'user.create', 'team_lead', 'createUser'],
      [helpdesk.id, h.orgId, 'user.create', 'role_admin', 'createUser'],
    ]);
    expect(refused[0]!.detail.missing).toEqual(expect.arrayContaining(['roles:manage', 'policy:manage', 'audit:read']));
  });

  it('helpdesk cannot promote anyone to admin or lead, nor touch an admin or a lead', async () => {
    const op = await h.newUser('operator');
    const seq = await headSeq();
    expectForbidden(await h.req('PATCH', `/admin/users/${op.id}`, { token: hdToken, body: { role: 'admin' } }), 'promote to admin');
    expectForbidden(await h.req('PATCH', `/admin/users/${op.id}`, { token: hdToken, body: { role: 'team_lead' } }), 'promote to lead');
    const role = await h.db.selectFrom('users').innerJoin('roles', 'roles.id', 'users.role_id').select('roles.key').where('users.id', '=', op.id).executeTakeFirstOrThrow();
    expect(role.key).toBe('operator');

    const admin = h.users.admin;
    const lead = h.users.lead;
    const hashBefore = (await h.db.selectFrom('users').select('password_hash').where('id', '=', admin.id).executeTakeFirstOrThrow()).password_hash;
    const attempts: [string, string, unknown?][] = [];
    for (const target of [admin, lead]) {
      attempts.push(
        ['PATCH', `/admin/users/${target.id}`, { disabled: true }],
        ['PATCH', `/admin/users/${target.id}`, { displayName: '乗っ取り' }],
        ['PATCH', `/admin/users/${target.id}`, { role: 'operator' }],
        ['POST', `/admin/users/${target.id}/password`, { password: 'Helpdesk-Owns-You-1!' }],
        ['POST', `/admin/users/${target.id}/totp/reset`],
        ['POST', `/admin/users/${target.id}/unlock`],
        ['POST', `/admin/users/${target.id}/devices/reset`],
      );
    }
    for (const [method, url, body] of attempts) {
      expectForbidden(await h.req(method, url, { token: hdToken, ...(body ? { body } : {}) }), `${method} ${url}`);
    }
    const refused = await refusalsSince(seq);
    expect(refused).toHaveLength(2 + attempts.length);
    expect(refused.slice(2).map((r) => r.target)).toEqual(attempts.map(([, url]) => url.split('/')[3]));
    expect(refused.every((r) => r.actor === helpdesk.id && r.org === h.orgId)).toBe(true);
    // nothing changed: the admin still signs in with the old password, the lead is not disabled
    expect((await h.db.selectFrom('users').select('password_hash').where('id', '=', admin.id).executeTakeFirstOrThrow()).password_hash).toBe(hashBefore);
    expect((await h.signIn(admin)).status).toBe(200);
    expect((await h.db.selectFrom('users').select('disabled').where('id', '=', lead.id).executeTakeFirstOrThrow()).disabled).toBe(false);
  });

  it('helpdesk cannot rename or revoke an admin device, but can an operator one', async () => {
    const devices = await h.req('GET', '/admin/devices', { token: adminToken });
    const adminDevice = devices.body.devices.find((d: { userId: string }) => d.userId === h.users.admin.id);
    expect(adminDevice).toBeDefined();
    expectForbidden(await h.req('PATCH', `/admin/devices/${adminDevice.id}`, { token: hdToken, body: { name: 'x' } }), 'rename admin device');
    expectForbidden(await h.req('POST', `/admin/devices/${adminDevice.id}/revoke`, { token: hdToken }), 'revoke admin device');
    expect((await h.db.selectFrom('devices').select('status').where('id', '=', adminDevice.id).executeTakeFirstOrThrow()).status).toBe('active');
    const op = await h.newUser('operator');
    await h.token(op);
    const opDevice = (await h.req('GET', `/admin/devices?userId=${op.id}`, { token: hdToken })).body.devices[0];
    expect((await h.req('PATCH', `/admin/devices/${opDevice.id}`, { token: hdToken, body: { name: '受付PC' } })).status).toBe(200);
    expect((await h.req('POST', `/admin/devices/${opDevice.id}/revoke`, { token: hdToken })).status).toBe(200);
  });

  it('what helpdesk holds it can still do: operators are created, reset, disabled, unlocked', async () => {
    const created = await h.req('POST', '/admin/users', { token: hdToken, body: { username: 'hd-new-operator', displayName: '新人', role: 'operator', password: 'Another-Good-Pass-1!' } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = created.body.id;
    expect((await h.req('POST', `/admin/users/${id}/password`, { token: hdToken, body: { password: 'Yet-Another-Pass-2!' } })).status).toBe(200);
    expect((await h.req('POST', `/admin/users/${id}/unlock`, { token: hdToken })).status).toBe(200);
    expect((await h.req('POST', `/admin/users/${id}/totp/reset`, { token: hdToken })).status).toBe(200);
    expect((await h.req('PATCH', `/admin/users/${id}`, { token: hdToken, body: { role: 'viewer' } })).status).toBe(200);
    expect((await h.req('PATCH', `/admin/users/${id}`, { token: hdToken, body: { role: 'helpdesk', disabled: true } })).status).toBe(200);
    // and the admin still can do all of it to anyone
    expect((await h.req('PATCH', `/admin/users/${h.users.lead.id}`, { token: adminToken, body: { displayName: '主任' } })).status).toBe(200);
  });

  it('roles:manage cannot add a permission it lacks: not to its own role, another custom role or the built-in operator role', async () => {
    const rm = await h.newUser('role_admin');
    const token = await h.token(rm);
    const seq = await headSeq();
    const before = await h.db.selectFrom('roles').select(['id', 'permissions', 'name']).where('org_id', '=', h.orgId).orderBy('id').execute();

    const own = await h.req('PATCH', `/admin/roles/${roleIds.role_admin}`, { token, body: { permissions: ['users:read', 'roles:manage', 'users:manage'] } });
    expectForbidden(own, 'own role');
    expect(own.body.error.message).toMatch(/own role/);
    // nor remove from it (it would take its peers' rights): own role permissions are someone else's call
    expectForbidden(await h.req('PATCH', `/admin/roles/${roleIds.role_admin}`, { token, body: { permissions: ['users:read'] } }), 'own role, removing');
    expectForbidden(await h.req('PATCH', `/admin/roles/${roleIds.viewer}`, { token, body: { permissions: ['users:read', 'users:manage'] } }), 'custom role');
    expectForbidden(await h.req('PATCH', `/admin/roles/${roleIds.operator}`, { token, body: { permissions: [...OPERATOR, 'policy:manage'] } }), 'operator role');
    // the operator role holds permissions role_admin lacks: no change at all, not even a rename
    expectForbidden(await h.req('PATCH', `/admin/roles/${roleIds.operator}`, { token, body: { name: '管理者' } }), 'rename operator role');
    expectForbidden(await h.req('PATCH', `/admin/roles/${roleIds.team_lead}`, { token, body: { permissions: [] } }), 'strip lead role');
    expectForbidden(await h.req('POST', '/admin/roles', { token, body: { key: 'super_helper', name: 'x', permissions: ['users:manage'] } }), 'create role');
    expectForbidden(await h.req('PATCH', `/admin/roles/${roleIds.admin}`, { token, body: { permissions: ['users:read'] } }), 'admin role');

    const after = await h.db.selectFrom('roles').select(['id', 'permissions', 'name']).where('org_id', '=', h.orgId).orderBy('id').execute();
    expect(after).toEqual(before);
    const refused = await refusalsSince(seq);
    expect(refused.map((r) => r.detail.attempted)).toEqual([...Array(6).fill('role.update'), 'role.create', 'role.update']);
    expect(refused.every((r) => r.actor === rm.id)).toBe(true);

    // allowed: a role within its own permissions, and changing it later
    const made = await h.req('POST', '/admin/roles', { token, body: { key: 'reader', name: '閲覧', permissions: ['users:read'] } });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect((await h.req('PATCH', `/admin/roles/${made.body.id}`, { token, body: { name: '閲覧者', permissions: ['users:read', 'roles:manage'] } })).status).toBe(200);
    expect((await h.req('PATCH', `/admin/roles/${roleIds.viewer}`, { token, body: { permissions: [] } })).status).toBe(200);
  });

  it('built-in roles follow the rule; the admin can still change them, but never strip the admin role', async () => {
    const extended = await h.req('PATCH', `/admin/roles/${roleIds.operator}`, { token: adminToken, body: { permissions: [...OPERATOR, 'users:read'] } });
    expect(extended.status).toBe(200);
    expect((await h.req('PATCH', `/admin/roles/${roleIds.operator}`, { token: adminToken, body: { permissions: OPERATOR } })).status).toBe(200);
    const strip = await h.req('PATCH', `/admin/roles/${roleIds.admin}`, { token: adminToken, body: { permissions: [] } });
    expectForbidden(strip, 'strip admin');
    expect(strip.body.error.message).toMatch(/keeps every permission/);
  });

  it('teams:manage cannot make someone lead of a team unless it holds what the lead holds', async () => {
    const ta = await h.newUser('team_admin');
    const token = await h.token(ta);
    const team = await h.req('POST', '/admin/teams', { token, body: { name: '夜間チーム' } });
    expect(team.status).toBe(200);
    const op = await h.newUser('operator');
    const seq = await headSeq();
    const lead = await h.req('PUT', `/admin/teams/${team.body.id}/members`, { token, body: { leadIds: [h.users.lead.id], operatorIds: [op.id] } });
    expectForbidden(lead, 'make lead');
    expect(await h.db.selectFrom('team_members').select('user_id').where('team_id', '=', team.body.id).execute()).toEqual([]);
    const refused = await refusalsSince(seq);
    expect(refused.map((r) => [r.detail.attempted, r.detail.userId, r.target])).toEqual([['team.members_change', h.users.lead.id, team.body.id]]);
    // operators only: allowed; a team an admin put a lead into is then out of reach
    expect((await h.req('PUT', `/admin/teams/${team.body.id}/members`, { token, body: { leadIds: [], operatorIds: [op.id] } })).status).toBe(200);
    expect((await h.req('PUT', `/admin/teams/${team.body.id}/members`, { token: adminToken, body: { leadIds: [h.users.lead.id], operatorIds: [op.id] } })).status).toBe(200);
    expectForbidden(await h.req('PUT', `/admin/teams/${team.body.id}/members`, { token, body: { leadIds: [], operatorIds: [op.id] } }), 'remove lead');
  });

  it('a refused route permission is audited, coalesced per user and route per minute', async () => {
    const op = await h.newUser('operator');
    const token = await h.token(op);
    const entries = () =>
      h.db.selectFrom('audit_log').selectAll().where('action', '=', 'authz.forbidden').where('actor_user_id', '=', op.id).orderBy('seq').execute();
    for (let i = 0; i < 5; i++) expectForbidden(await h.req('GET', '/admin/users', { token }), 'listUsers');
    expectForbidden(await h.req('GET', '/admin/audit', { token }), 'audit');
    let rows = await entries();
    expect(rows.map((r) => [r.org_id, r.target_id, r.source_ip, (r.detail as { permission: string }).permission])).toEqual([
      [h.orgId, 'listUsers', '10.0.0.1', 'users:read'],
      [h.orgId, 'audit', '10.0.0.1', 'audit:read'],
    ]);
    h.clock.advance(AUTHZ_AUDIT_WINDOW_MS + 1000);
    expectForbidden(await h.req('GET', '/admin/users', { token: await h.token(op) }), 'listUsers again');
    rows = await entries();
    expect(rows).toHaveLength(3);
    expect((rows[2]!.detail as { coalesced: { suppressedForKey: number } }).coalesced.suppressedForKey).toBe(4);
  });

  it('a user can still use what they hold (sanity: the rule is not a blanket refusal)', async () => {
    expect((await h.req('GET', '/admin/users', { token: hdToken })).status).toBe(200);
    expect((await h.signIn({ username: helpdesk.username, password: PASSWORD, device: helpdesk.device })).status).toBe(200);
  });
});
