// The IP allowlist holds on every authenticated path, not just at sign-in and refresh: a
// token obtained inside the allowed network is refused from outside on every route (from
// the contract, not a hand-picked list), on /ws and on SIP credentials, by authenticate()
// (server/principal.ts). Refusals are audited, coalesced per user + address.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '../../../shared/gateway/api';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness } from './harness';

const INSIDE = '10.0.0.1';
const OUTSIDE = '192.0.2.77';

/** Every authenticated route that can be called without a body or required query (so validation cannot answer first). */
function callableRoutes(): { name: string; method: string; url: string }[] {
  const out: { name: string; method: string; url: string }[] = [];
  for (const [name, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    if (spec.auth === null || spec.auth === 'kamailio' || spec.body) continue;
    if (spec.query && !spec.query.safeParse({}).success) continue;
    out.push({ name, method: spec.method, url: spec.path.replace(/:[A-Za-z]+/g, randomUUID()) });
  }
  return out;
}

describe.each(BACKENDS)('the allowlist on every request, on %s', (backend) => {
  let h: Harness;
  let base = '';
  beforeAll(async () => {
    h = await setup(backend, { trustedProxies: ['127.0.0.1/32'], sip: { authephSecrets: ['s'.repeat(40)], domain: 'koe.test' } });
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  });
  afterAll(async () => h?.close());

  it('a token from inside is refused from outside on every authenticated route, and served inside', async () => {
    const adminToken = await h.token(h.users.admin);
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/24'], roles: {} } });
    try {
      const routes = callableRoutes();
      expect(routes.length).toBeGreaterThan(15);
      expect(routes.map((r) => r.name)).toEqual(expect.arrayContaining(['me', 'sipCredentials', 'listUsers', 'board', 'signOut']));
      for (const r of routes.filter((x) => x.name !== 'signOut')) {
        const res = await h.req(r.method, r.url, { token: adminToken, ip: OUTSIDE });
        expect(res.status, `${r.name} ${r.method} ${r.url}: ${JSON.stringify(res.body)}`).toBe(403);
        expect(res.body.error.code, r.name).toBe('ip_not_allowed');
      }
      // the same token inside still works (the session was not harmed)
      expect((await h.req('GET', '/me', { token: adminToken, ip: INSIDE })).status).toBe(200);
      const sip = await h.req('POST', '/sip/credentials', { token: adminToken, ip: INSIDE });
      expect(sip.status, JSON.stringify(sip.body)).toBe(200);
      const out = await h.req('POST', '/auth/sign-out', { token: adminToken, ip: OUTSIDE });
      expect(out.body.error.code).toBe('ip_not_allowed');
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
    }
  });

  it('the role allowlist too: an operator outside the operators\' range is refused, an admin at the same address is not', async () => {
    const opToken = await h.token(h.users.operator);
    const adminToken = await h.token(h.users.admin);
    await h.patchPolicy({ ipAllowlist: { org: [], roles: { operator: ['10.0.0.0/28'] } } });
    try {
      expect((await h.req('GET', '/me', { token: opToken, ip: '10.0.0.2' })).status).toBe(200);
      const far = await h.req('POST', '/sip/credentials', { token: opToken, ip: '10.0.0.100' });
      expect(far.body.error?.code).toBe('ip_not_allowed');
      expect((await h.req('GET', '/me', { token: adminToken, ip: '10.0.0.100' })).status).toBe(200);
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
    }
  });

  it('an admin cannot lock themselves out with their own role\'s list (it is checked on every request too)', async () => {
    const adminToken = await h.token(h.users.admin);
    const res = await h.req('PATCH', '/admin/policy', { token: adminToken, ip: '10.0.0.100', body: { ipAllowlist: { org: [], roles: { admin: ['10.0.0.0/28'] } } } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('policy_lockout');
    expect(res.body.error.lockout).toEqual({ address: '10.0.0.100', org: false, role: 'admin' });
    expect(res.body.error.message).toContain('admin');
    expect((await h.req('GET', '/me', { token: adminToken, ip: '10.0.0.100' })).status).toBe(200);
    const ok = await h.req('PATCH', '/admin/policy', { token: adminToken, ip: '10.0.0.2', body: { ipAllowlist: { org: [], roles: { admin: ['10.0.0.0/28'] } } } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await h.req('PATCH', '/admin/policy', { token: adminToken, ip: '10.0.0.2', body: { ipAllowlist: { org: [], roles: {} } } });
  });

  it('/ws refuses a token from inside presented from outside (4401 ip_not_allowed)', async () => {
    const token = await h.token(h.users.lead);
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/24'], roles: {} } });
    try {
      const s = await GatewaySocket.open(base, { headers: { 'x-forwarded-for': OUTSIDE } });
      s.send({ type: 'auth', accessToken: token });
      const timeout = new Promise((resolve) => setTimeout(() => resolve('still open after 3 s'), 3000));
      const result = await Promise.race([s.closed, timeout]);
      if (typeof result === 'string') s.ws.close();
      expect(result).toEqual({ code: 4401, reason: 'ip_not_allowed' });
      expect(s.messages).toEqual([expect.objectContaining({ type: 'error', code: 'ip_not_allowed' })]);
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
    }
  });

  it('refusals are audited once per user and address per window, with the count of the folded ones', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/24'], roles: {} } });
    try {
      for (let i = 0; i < 20; i++) expect((await h.req('GET', '/me', { token, ip: '198.51.100.9' })).status).toBe(403);
      await h.req('GET', '/me', { token, ip: '198.51.100.10' });
      const rows = async () =>
        (await h.db.selectFrom('audit_log').select(['source_ip', 'detail']).where('action', '=', 'auth.ip_refused').where('actor_user_id', '=', u.id).orderBy('seq').execute())
          .map((r) => ({ ip: r.source_ip, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }));
      expect((await rows()).map((r) => r.ip)).toEqual(['198.51.100.9', '198.51.100.10']);
      h.clock.advanceMinutes(5);
      // a fresh token (the old session went idle while the clock moved on); same address
      const fresh = await h.token(u);
      await h.req('GET', '/me', { token: fresh, ip: '198.51.100.9' });
      const all = await rows();
      expect(all).toHaveLength(3);
      expect(all[2]!.detail.coalesced.suppressedForKey).toBe(19);
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
    }
  });
});
