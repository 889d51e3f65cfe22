// Authorization and network rules: permissions as data (custom roles), teams, org
// isolation, IP allowlists (org and role, IPv4 and IPv6) and X-Forwarded-For trust.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser } from '../../../server/orgs';
import { BACKENDS, PASSWORD, setup, type Harness } from './harness';

describe.each(BACKENDS)('roles, teams and org scope on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  it('operators and team leads cannot use admin routes', async () => {
    for (const user of [h.users.operator, h.users.lead]) {
      const token = await h.token(user);
      for (const [method, url] of [['GET', '/admin/users'], ['GET', '/admin/devices'], ['GET', '/admin/policy'], ['POST', '/admin/roles']] as const) {
        const res = await h.req(method, url, { token, ...(method === 'POST' ? { body: { key: 'x_role', name: 'x', permissions: [] } } : {}) });
        expect(res.status, `${user.username} ${method} ${url}`).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
    }
  });

  it('custom roles are data: a role with audit:read only can read the audit log and nothing else', async () => {
    const adminToken = await h.token(h.users.admin);
    const created = await h.req('POST', '/admin/roles', { token: adminToken, body: { key: 'auditor', name: '監査担当', permissions: ['audit:read'] } });
    expect(created.status).toBe(200);
    const u = await h.newUser('auditor');
    const token = await h.token(u);
    expect((await h.req('GET', '/admin/audit', { token })).status).toBe(200);
    expect((await h.req('GET', '/admin/users', { token })).status).toBe(403);
    // permissions change at once, for existing sessions too
    await h.req('PATCH', `/admin/roles/${created.body.id}`, { token: adminToken, body: { permissions: ['audit:read', 'users:read'] } });
    expect((await h.req('GET', '/admin/users', { token })).status).toBe(200);
    await h.req('PATCH', `/admin/roles/${created.body.id}`, { token: adminToken, body: { permissions: [] } });
    expect((await h.req('GET', '/admin/audit', { token })).status).toBe(403);
    expect(await h.auditActions({ targetId: created.body.id })).toEqual(['role.created', 'role.updated', 'role.updated']);
    const unknownPermission = await h.req('POST', '/admin/roles', { token: adminToken, body: { key: 'bad_role', name: 'x', permissions: ['everything'] } });
    expect(unknownPermission.body.error.code).toBe('validation_failed');
  });

  it('the built-in admin role cannot be stripped, and admins cannot demote themselves', async () => {
    const adminToken = await h.token(h.users.admin);
    const roles = await h.req('GET', '/admin/roles', { token: adminToken });
    const admin = roles.body.roles.find((r: { key: string }) => r.key === 'admin');
    expect((await h.req('PATCH', `/admin/roles/${admin.id}`, { token: adminToken, body: { permissions: [] } })).status).toBe(403);
    const self = await h.req('PATCH', `/admin/users/${h.users.admin.id}`, { token: adminToken, body: { role: 'operator' } });
    expect(self.status).toBe(403);
  });

  it('a role change applies to the next request of an existing session', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    const adminToken = await h.token(h.users.admin);
    expect((await h.req('GET', '/admin/users', { token })).status).toBe(403);
    expect((await h.req('PATCH', `/admin/users/${u.id}`, { token: adminToken, body: { role: 'admin' } })).status).toBe(200);
    expect((await h.req('GET', '/admin/users', { token })).status).toBe(200);
    expect((await h.req('PATCH', `/admin/users/${u.id}`, { token: adminToken, body: { role: 'operator' } })).status).toBe(200);
    expect((await h.req('GET', '/admin/users', { token })).status).toBe(403);
    expect(await h.auditActions({ targetId: u.id })).toContain('user.updated');
  });

  it('teams link leads to operators and show up on the principal', async () => {
    const adminToken = await h.token(h.users.admin);
    const team = await h.req('POST', '/admin/teams', { token: adminToken, body: { name: '第一チーム' } });
    expect(team.status).toBe(200);
    const members = await h.req('PUT', `/admin/teams/${team.body.id}/members`, {
      token: adminToken, body: { leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] },
    });
    expect(members.body).toMatchObject({ leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });
    const me = await h.req('GET', '/me', { token: await h.token(h.users.lead) });
    expect(me.body.user.teamIds).toEqual([team.body.id]);
    const dup = await h.req('PUT', `/admin/teams/${team.body.id}/members`, { token: adminToken, body: { leadIds: [h.users.lead.id], operatorIds: [h.users.lead.id] } });
    expect(dup.body.error.code).toBe('validation_failed');
  });

  it('keeps orgs apart: another org admin sees not_found for our users and devices', async () => {
    const otherOrg = await createOrg(h.gw.ctx, '別会社');
    const otherAdminId = await createUser(h.gw.ctx, { orgId: otherOrg, username: 'other-admin', displayName: '別 管理者', role: 'admin', password: PASSWORD });
    await h.db.updateTable('orgs').set({ policy: JSON.stringify({ deviceBindingRoles: [], totpRequiredRoles: [] }) }).where('id', '=', otherOrg).execute();
    const token = (await h.signIn({ username: 'other-admin', device: null })).body.tokens.accessToken;
    const users = await h.req('GET', '/admin/users', { token });
    expect(users.body.users.map((u: { id: string }) => u.id)).toEqual([otherAdminId]);
    for (const [method, url] of [
      ['POST', `/admin/users/${h.users.operator.id}/unlock`],
      ['POST', `/admin/users/${h.users.operator.id}/sessions/revoke`],
      ['POST', `/admin/users/${h.users.operator.id}/devices/reset`],
      ['GET', `/admin/users/${h.users.operator.id}/sessions`],
    ] as const) {
      const res = await h.req(method, url, { token });
      expect(res.status, url).toBe(404);
    }
    const devices = await h.req('GET', `/admin/devices?userId=${h.users.operator.id}`, { token });
    expect(devices.body.devices).toEqual([]);
  });
});

describe.each(BACKENDS)('IP allowlist on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend, { trustedProxies: ['10.9.0.0/16', 'fd00:9::/32'] });
  });
  afterAll(async () => h?.close());

  it('enforces the org allowlist (IPv4 and IPv6) for known and unknown users alike, and audits refusals', async () => {
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/8', '2001:db8:100::/48'] } });
    try {
      const u = await h.newUser('operator');
      expect((await h.signIn(u, { ip: '10.20.30.40' })).status).toBe(200);
      expect((await h.signIn(u, { ip: '2001:db8:100::7' })).status).toBe(200);
      expect((await h.signIn(u, { ip: '::ffff:10.1.2.3' })).status).toBe(200);
      const outside = await h.signIn(u, { ip: '192.0.2.10' });
      expect(outside.status).toBe(403);
      expect(outside.body.error.code).toBe('ip_not_allowed');
      expect((await h.signIn(u, { ip: '2001:db8:200::7' })).body.error.code).toBe('ip_not_allowed');
      const unknown = await h.signIn({ username: 'nobody-at-all', device: null }, { ip: '192.0.2.10' });
      expect(unknown.body).toEqual(outside.body);
      // refused before the password is checked: no lockout can be caused from outside
      for (let i = 0; i < 6; i++) await h.signIn(u, { ip: '192.0.2.10', password: 'Wrong-Pass-1!', device: null });
      expect((await h.signIn(u, { ip: '10.20.30.40' })).status).toBe(200);
      expect(await h.auditActions({ targetId: u.id })).toContain('auth.ip_refused');
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [] } });
    }
  });

  it('enforces per-role allowlists, also on refresh', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u, { ip: '172.16.5.5' });
    await h.patchPolicy({ ipAllowlist: { roles: { operator: ['172.16.0.0/12'] } } });
    try {
      expect((await h.signIn(u, { ip: '172.16.9.9' })).status).toBe(200);
      expect((await h.signIn(u, { ip: '10.0.0.1' })).body.error.code).toBe('ip_not_allowed');
      expect((await h.signIn(h.users.lead, { ip: '10.0.0.1' })).status).toBe(200);
      const refreshed = await h.refresh(u, s.body.tokens.refreshToken, { ip: '10.0.0.1' });
      expect(refreshed.body.error.code).toBe('ip_not_allowed');
    } finally {
      await h.patchPolicy({ ipAllowlist: { roles: {} } });
    }
  });

  it('believes X-Forwarded-For only from trusted proxies, taking the right-most untrusted hop', async () => {
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/8', '10.9.0.0/16'] } });
    try {
      const u = await h.newUser('operator');
      const spoof = { 'x-forwarded-for': '10.1.1.1' };
      // an outside client claiming an inside address is not believed
      const direct = await h.req('POST', '/auth/sign-in', { ip: '192.0.2.99', headers: spoof, body: { username: u.username, password: PASSWORD } });
      expect(direct.body.error.code).toBe('ip_not_allowed');
      // via the trusted proxy, the forwarded client address is the one checked
      expect((await h.signIn(u, { ip: '10.9.0.2' })).status).toBe(200); // proxy itself is in the list
      const viaProxyOutside = await h.req('POST', '/auth/sign-in', {
        ip: '10.9.0.2', headers: { 'x-forwarded-for': '192.0.2.99' }, body: { username: u.username, password: PASSWORD },
      });
      expect(viaProxyOutside.body.error.code).toBe('ip_not_allowed');
      // a client prepending a fake inside address: the proxy appends the real one, which wins
      const prepended = await h.req('POST', '/auth/sign-in', {
        ip: '10.9.0.2', headers: { 'x-forwarded-for': '10.1.1.1, 192.0.2.99' }, body: { username: u.username, password: PASSWORD },
      });
      expect(prepended.body.error.code).toBe('ip_not_allowed');
      const audited = await h.db.selectFrom('audit_log').select('source_ip').where('action', '=', 'auth.ip_refused').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
      expect(audited.source_ip).toBe('192.0.2.99');
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [] } });
    }
  });

  it('refuses an allowlist that would shut out the admin making the change, and invalid CIDRs', async () => {
    const token = await h.token(h.users.admin);
    const selfLockout = await h.req('PATCH', '/admin/policy', { token, body: { ipAllowlist: { org: ['192.0.2.0/24'] } } });
    expect(selfLockout.body.error.code).toBe('policy_lockout');
    expect(selfLockout.body.error.lockout).toEqual({ address: '10.0.0.1', org: true, role: null });
    for (const bad of ['10.0.0.0/33', '300.1.1.1', 'not-an-ip', '2001:db8::/129']) {
      const res = await h.req('PATCH', '/admin/policy', { token, body: { ipAllowlist: { org: [bad] } } });
      expect(res.body.error.code, bad).toBe('validation_failed');
    }
  });
});
