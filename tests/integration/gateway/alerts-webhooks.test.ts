// Issue 17, alerts that reach people: one alert mechanism (server/alerts/raise.ts) raised on
// every path of each event (lockout, IP refusal, new device), pushed live to the org's sockets
// holding alerts:read (and to no other), and sent to the org's webhooks signed, retried with
// backoff from a durable queue that survives a restart and is never sent twice by two workers.
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebhookPayload } from '../../../shared/gateway/admin-alerts';
import { enqueueDeliveries } from '../../../server/alerts/raise';
import { createGateway, type Gateway } from '../../../server/gateway';
import { createOrg, createUser } from '../../../server/orgs';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, PASSWORD, newDeviceKey, setup, testGatewayConfig, type Harness } from './harness';

const WEBHOOKS = { allowLoopbackHttp: true, maxAttempts: 4, baseDelaySeconds: 10, maxDelaySeconds: 3600, timeoutMs: 5000, pollMs: 60_000 };

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  path: string;
}

/** A local receiver: answers each request with the next status of its path's script (then 200). */
async function receiver(): Promise<{ url: string; got: Received[]; script: Map<string, number[]>; close: () => Promise<void> }> {
  const got: Received[] = [];
  const script = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), path });
      const next = script.get(path)?.shift() ?? 200;
      res.writeHead(next).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, got, script, close: () => new Promise((r) => server.close(() => r())) };
}

/** What a receiver does (docs/telephony.md): HMAC over "<timestamp>.<body>", constant-time compare. */
function verifies(secret: string, r: Received): boolean {
  const ts = String(r.headers['koe-timestamp'] ?? '');
  const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex')}`;
  return r.headers['koe-signature'] === expected;
}

describe.each(BACKENDS)('security alerts and webhooks, on %s', (backend) => {
  let h: Harness;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let base = '';
  let admin = '';
  beforeAll(async () => {
    h = await setup(backend, { webhooks: WEBHOOKS, trustedProxies: ['127.0.0.1/32'] });
    rx = await receiver();
    base = await h.gw.app.listen({ host: '127.0.0.1', port: 0 });
  });
  // the clock moves (backoff, fold windows): a fresh access token for each test
  beforeEach(async () => {
    admin = await h.token(h.users.admin);
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
  });

  const alerts = async (token = admin) => (await h.ok('GET', '/admin/alerts', token)).alerts as any[];
  const newest = async (kind: string) => (await alerts()).find((a) => a.kind === kind);
  const worker = () => h.gw.ctx.alerts.worker;
  const deliveries = async (hookId: string) => (await h.ok('GET', `/admin/webhooks/${hookId}/deliveries`, admin)).deliveries as any[];
  const advance = (ms: number) => h.clock.advance(ms);

  it('a lockout raises account_locked on every path that locks: sign-in password, re-verification', async () => {
    const u = await h.newUser('admin', 'lockme');
    for (let i = 0; i < 5; i++) await h.signIn(u, { password: 'Wrong-Password-123!' });
    const signInLock = (await alerts()).filter((a) => a.kind === 'account_locked' && a.userId === u.id);
    expect(signInLock).toHaveLength(1);
    expect(signInLock[0]).toMatchObject({ username: u.username, sourceIp: '10.0.0.1', via: 'auth.sign_in.failure', occurrences: 1 });
    expect(signInLock[0].lockedUntil).toEqual(expect.any(String));
    // the alert and the audit entry of the lockout were written together
    expect(await h.auditActions({ targetId: u.id, action: 'auth.lockout' })).toHaveLength(1);

    const v = await h.newUser('admin', 'reverify');
    const token = await h.token(v);
    for (let i = 0; i < 5; i++) await h.req('POST', '/me/reverify', { token, body: { password: 'Wrong-Password-123!' } });
    const reverifyLock = (await alerts()).filter((a) => a.kind === 'account_locked' && a.userId === v.id);
    expect(reverifyLock).toHaveLength(1);
    expect(reverifyLock[0].via).toBe('session.unlock_failed'); // the re-verification's audit action
  });

  it('an IP refusal raises ip_refused on every path: sign-in (both steps), refresh, request, /ws; repeats fold', async () => {
    const u = await h.newUser('operator', 'ipref');
    const first = await h.signIn(u);
    expect(first.status).toBe(200);
    const token = first.body.tokens.accessToken;
    const refreshToken = first.body.tokens.refreshToken;
    // role list: operators only from 10.0.0.0/28 (the admin, at 10.0.0.1, keeps access)
    await h.patchPolicy({ ipAllowlist: { org: [], roles: { operator: ['10.0.0.0/28'] } } });
    try {
      const refusedAt = async (ip: string) => (await alerts()).filter((a) => a.kind === 'ip_refused' && a.sourceIp === ip);
      // sign-in, after the password (the role refuses)
      expect((await h.signIn(u, { ip: '192.0.2.10' })).body.error.code).toBe('ip_not_allowed');
      expect((await refusedAt('192.0.2.10'))[0]).toMatchObject({ via: 'sign-in', userId: u.id, username: u.username });
      // refresh
      expect((await h.refresh(u, refreshToken, { ip: '192.0.2.11' })).body.error.code).toBe('ip_not_allowed');
      expect((await refusedAt('192.0.2.11'))[0]).toMatchObject({ via: 'refresh', userId: u.id });
      // any authenticated request
      expect((await h.req('GET', '/me', { token, ip: '192.0.2.12' })).body.error.code).toBe('ip_not_allowed');
      expect((await refusedAt('192.0.2.12'))[0]).toMatchObject({ via: 'request', userId: u.id });
      // /ws
      const s = await GatewaySocket.open(base, { headers: { 'x-forwarded-for': '192.0.2.13' } });
      s.send({ type: 'auth', accessToken: token });
      expect((await s.closed).reason).toBe('ip_not_allowed');
      expect((await refusedAt('192.0.2.13'))[0]).toMatchObject({ via: 'ws', userId: u.id });
      // sign-in before the password: an address no org allows (org list)
      await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/24'], roles: {} } });
      for (let i = 0; i < 3; i++) await h.signIn(u, { ip: '198.51.100.7', device: null });
      const step1 = await refusedAt('198.51.100.7');
      expect(step1).toHaveLength(1); // folded: one alert for the address in the window
      expect(step1[0]).toMatchObject({ via: 'sign-in', occurrences: 3 });
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
    }
  });

  it('an address spray cannot flood the admins: beyond 20 addresses per window they fold into one', async () => {
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/24'], roles: {} } });
    advance(11 * 60_000); // a fresh fold window
    admin = await h.token(h.users.admin);
    try {
      const u = await h.newUser('operator', 'spray');
      const before = (await alerts()).filter((a) => a.kind === 'ip_refused').length;
      for (let i = 0; i < 30; i++) await h.signIn(u, { ip: `203.0.113.${i + 1}`, device: null });
      const after = (await alerts()).filter((a) => a.kind === 'ip_refused');
      expect(after.length - before).toBe(21);
      const rest = after.find((a) => a.sourceIp === null);
      expect(rest.occurrences).toBe(10);
    } finally {
      await h.patchPolicy({ ipAllowlist: { org: [], roles: {} } });
    }
  });

  it('live: a new alert reaches the admin socket, not an operator nor a lead; a user who loses alerts:read stops receiving', async () => {
    const role = await h.ok('POST', '/admin/roles', admin, { key: `watch_${randomUUID().slice(0, 6)}`, name: 'Watcher', permissions: ['alerts:read'] });
    const watcher = await h.newUser(role.key, 'watcher');
    const sockets = {
      admin: await GatewaySocket.open(base, { token: admin, name: 'admin' }),
      operator: await GatewaySocket.open(base, { token: await h.token(h.users.operator), name: 'operator' }),
      lead: await GatewaySocket.open(base, { token: await h.token(h.users.lead), name: 'lead' }),
      watcher: await GatewaySocket.open(base, { token: await h.token(watcher), name: 'watcher' }),
    };
    try {
      const fresh = await h.newUser('operator', 'newpc');
      expect((await h.signIn(fresh)).status).toBe(200); // first PC: a new_device alert
      const pushed = await sockets.admin.seen((m) => m.type === 'alert' && m.alert.userId === fresh.id);
      expect(pushed.alert).toMatchObject({ kind: 'new_device', username: fresh.username, deviceName: fresh.device.name, sourceIp: '10.0.0.1' });
      await sockets.watcher.seen((m) => m.type === 'alert' && m.alert.userId === fresh.id);
      await Promise.all([...h.gw.ctx.alerts.pushes.pending]);
      await sockets.operator.sync();
      await sockets.lead.sync();
      expect(sockets.operator.messages.filter((m) => m.type === 'alert')).toEqual([]);
      expect(sockets.lead.messages.filter((m) => m.type === 'alert')).toEqual([]);

      // the watcher's role loses alerts:read: the socket stays, alerts stop
      await h.ok('PATCH', `/admin/roles/${role.id}`, admin, { permissions: ['customers:read'] });
      await sockets.watcher.sync();
      const seenBefore = sockets.watcher.messages.filter((m) => m.type === 'alert').length;
      const another = await h.newUser('operator', 'newpc2');
      expect((await h.signIn(another)).status).toBe(200);
      await sockets.admin.seen((m) => m.type === 'alert' && m.alert.userId === another.id);
      await Promise.all([...h.gw.ctx.alerts.pushes.pending]);
      await sockets.watcher.sync();
      expect(sockets.watcher.messages.filter((m) => m.type === 'alert')).toHaveLength(seenBefore);
    } finally {
      for (const s of Object.values(sockets)) await s.close();
    }
  });

  it('operators and leads are refused every alert and webhook route by the gateway; another org\'s webhook answers like none', async () => {
    const hook = await h.ok('POST', '/admin/webhooks', admin, { url: `${rx.url}/tenancy` });
    for (const who of [h.users.operator, h.users.lead]) {
      const t = await h.token(who);
      for (const [method, url, body] of [
        ['GET', '/admin/alerts'], ['GET', '/admin/webhooks'], ['POST', '/admin/webhooks', { url: `${rx.url}/x` }],
        ['POST', `/admin/webhooks/${hook.webhook.id}/rotate`], ['POST', `/admin/webhooks/${hook.webhook.id}/test`],
        ['GET', `/admin/webhooks/${hook.webhook.id}/deliveries`], ['DELETE', `/admin/webhooks/${hook.webhook.id}`],
      ] as [string, string, unknown?][]) {
        const res = await h.req(method, url, { token: t, ...(body ? { body } : {}) });
        expect(res.status, `${who.username} ${method} ${url}`).toBe(403);
      }
    }
    // another org's admin
    const otherOrg = await createOrg(h.gw.ctx, '別会社');
    const otherAdmin = await createUser(h.gw.ctx, { orgId: otherOrg, username: `other-${randomUUID().slice(0, 6)}`, displayName: '他', role: 'admin', password: PASSWORD });
    await h.db.updateTable('orgs').set({ policy: JSON.stringify({ ...(await import('../../../shared/gateway/policy')).DEFAULT_ORG_POLICY, totpRequiredRoles: [] }) }).where('id', '=', otherOrg).execute();
    const otherToken = (await h.signIn({ username: (await h.db.selectFrom('users').select('username').where('id', '=', otherAdmin).executeTakeFirstOrThrow()).username, device: newDeviceKey() })).body.tokens.accessToken;
    const missing = await h.req('GET', `/admin/webhooks/${randomUUID()}/deliveries`, { token: otherToken });
    const foreign = await h.req('GET', `/admin/webhooks/${hook.webhook.id}/deliveries`, { token: otherToken });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect((await h.req('GET', '/admin/webhooks', { token: otherToken })).body.webhooks).toEqual([]);
    expect((await h.req('GET', '/admin/alerts', { token: otherToken })).body.alerts.every((a: any) => a.userId !== h.users.operator.id)).toBe(true);
    await h.ok('DELETE', `/admin/webhooks/${hook.webhook.id}`, admin);
  });

  it('URLs: https only, loopback where the config allows it, private and link-local targets refused', async () => {
    for (const url of ['http://example.com/h', 'https://10.0.0.5/h', 'https://169.254.169.254/latest', 'https://[fd00::1]/', 'https://u:p@example.com/', 'https://intranet/h', 'ftp://example.com/']) {
      const res = await h.req('POST', '/admin/webhooks', { token: admin, body: { url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code, url).toBe('validation_failed');
    }
  });

  it('signed delivery: verifies with the secret (not another), timestamp present; the secret is shown once and stored sealed', async () => {
    const created = await h.ok('POST', '/admin/webhooks', admin, { url: `${rx.url}/signed` });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(await h.ok('GET', '/admin/webhooks', admin))).not.toContain(created.secret);
    const row = await h.db.selectFrom('webhooks').select('secret_enc').where('id', '=', created.webhook.id).executeTakeFirstOrThrow();
    expect(row.secret_enc).not.toContain(created.secret.slice(6));
    const auditText = JSON.stringify(await h.db.selectFrom('audit_log').select('detail').where('action', 'like', 'webhook.%').execute());
    expect(auditText).not.toContain(created.secret.slice(6));

    const u = await h.newUser('operator', 'signed');
    expect((await h.signIn(u)).status).toBe(200);
    await worker().runOnce();
    const mine = rx.got.filter((r) => r.path === '/signed');
    expect(mine).toHaveLength(1);
    const r = mine[0]!;
    expect(r.headers['koe-timestamp']).toBe(String(Math.floor(h.clock.now().getTime() / 1000)));
    expect(verifies(created.secret, r)).toBe(true);
    expect(verifies(`whsec_${'A'.repeat(43)}`, r)).toBe(false);
    expect(verifies(created.secret, { ...r, body: r.body.replace(u.username, 'someone-else') })).toBe(false);
    const payload = WebhookPayload.parse(JSON.parse(r.body));
    expect(payload).toMatchObject({ type: 'alert.created', orgId: h.orgId, alert: { kind: 'new_device', userId: u.id } });
    expect(r.headers['koe-delivery']).toBe(payload.id);

    // rotation: the next delivery verifies with the new secret only
    const rotated = await h.ok('POST', `/admin/webhooks/${created.webhook.id}/rotate`, admin);
    expect(rotated.secret).not.toBe(created.secret);
    const test = await h.ok('POST', `/admin/webhooks/${created.webhook.id}/test`, admin);
    await worker().runOnce();
    const t = rx.got.find((x) => x.headers['koe-delivery'] === test.deliveryId)!;
    expect(verifies(rotated.secret, t)).toBe(true);
    expect(verifies(created.secret, t)).toBe(false);
    await h.ok('DELETE', `/admin/webhooks/${created.webhook.id}`, admin);
  });

  it('retries after 500s with growing backoff, then succeeds; the delivery log shows every attempt; gives up after maxAttempts', async () => {
    const hook = await h.ok('POST', '/admin/webhooks', admin, { url: `${rx.url}/flaky` });
    rx.script.set('/flaky', [500, 503]);
    const test = await h.ok('POST', `/admin/webhooks/${hook.webhook.id}/test`, admin);
    const log = async () => (await deliveries(hook.webhook.id)).find((d) => d.id === test.deliveryId);
    await worker().runOnce();
    let d = await log();
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500 });
    const delay1 = Date.parse(d.nextAttemptAt) - h.clock.now().getTime();
    expect(delay1).toBeGreaterThanOrEqual(5_000);
    expect(delay1).toBeLessThanOrEqual(10_000);
    expect(await worker().runOnce()).toBe(0); // not due yet
    advance(delay1);
    await worker().runOnce();
    d = await log();
    expect(d).toMatchObject({ status: 'pending', attempts: 2, lastStatus: 503 });
    const delay2 = Date.parse(d.nextAttemptAt) - h.clock.now().getTime();
    expect(delay2).toBeGreaterThanOrEqual(10_000);
    expect(delay2).toBeLessThanOrEqual(20_000);
    advance(delay2);
    await worker().runOnce();
    d = await log();
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, nextAttemptAt: null });
    expect(d.attemptLog.map((a: any) => a.status)).toEqual([500, 503, 200]);
    expect(rx.got.filter((r) => r.headers['koe-delivery'] === test.deliveryId)).toHaveLength(3);

    rx.script.set('/flaky', [500, 500, 500, 500, 500]);
    const doomed = await h.ok('POST', `/admin/webhooks/${hook.webhook.id}/test`, admin);
    for (let i = 0; i < 6; i++) {
      await worker().runOnce();
      advance(3_600_000);
    }
    admin = await h.token(h.users.admin);
    const gaveUp = (await deliveries(hook.webhook.id)).find((x) => x.id === doomed.deliveryId);
    expect(gaveUp).toMatchObject({ status: 'failed', attempts: 4, nextAttemptAt: null, lastError: 'HTTP 500' });
    expect(gaveUp.attemptLog).toHaveLength(4);
    await h.ok('DELETE', `/admin/webhooks/${hook.webhook.id}`, admin);
  });

  it('durable: a restart resumes a pending retry, a worker that died mid-attempt is taken over after its lease, two workers never double-send', async () => {
    const hook = await h.ok('POST', '/admin/webhooks', admin, { url: `${rx.url}/durable` });
    rx.script.set('/durable', [500]);
    const test = await h.ok('POST', `/admin/webhooks/${hook.webhook.id}/test`, admin);
    await worker().runOnce();
    expect((await deliveries(hook.webhook.id))[0]).toMatchObject({ status: 'pending', attempts: 1 });

    // a second gateway process on the same database (the first keeps running: two workers)
    let gw2: Gateway | null = await createGateway({ db: h.db, clock: h.clock, config: testGatewayConfig({ webhooks: WEBHOOKS }) });
    try {
      advance(20_000);
      await gw2.ctx.alerts.worker.runOnce(); // the other process resumes the pending retry
      expect((await deliveries(hook.webhook.id)).find((x) => x.id === test.deliveryId)).toMatchObject({ status: 'delivered', attempts: 2 });

      // a worker that claimed a row and died: nothing happens until its lease passes
      // (queued straight into the table, then marked as claimed: the test route would wake a
      // worker that could deliver it before the row is marked)
      const [orphanId] = await h.db.transaction().execute((tx) => enqueueDeliveries(tx, h.clock, h.orgId, 'webhook.test', null, hook.webhook.id));
      const orphan = { deliveryId: orphanId! };
      await h.db.updateTable('webhook_deliveries').set({ attempts: 1, next_attempt_at: new Date(h.clock.now().getTime() + 60_000) }).where('id', '=', orphan.deliveryId).execute();
      expect(await gw2.ctx.alerts.worker.runOnce()).toBe(0);
      advance(60_001);
      await gw2.ctx.alerts.worker.runOnce();
      expect((await deliveries(hook.webhook.id)).find((x) => x.id === orphan.deliveryId)).toMatchObject({ status: 'delivered', attempts: 2 });

      // 30 due deliveries, two workers at once: each sent exactly once
      // (queued straight into the table: the test route would wake a worker before the race)
      const ids = await h.db.transaction().execute(async (tx) => {
        const out: string[] = [];
        for (let i = 0; i < 30; i++) out.push(...(await enqueueDeliveries(tx, h.clock, h.orgId, 'webhook.test', null, hook.webhook.id)));
        return out;
      });
      const sent = await Promise.all([worker().runOnce(), gw2.ctx.alerts.worker.runOnce(), worker().runOnce(), gw2.ctx.alerts.worker.runOnce()]);
      await worker().runOnce();
      const counts = ids.map((id) => rx.got.filter((r) => r.headers['koe-delivery'] === id).length);
      expect(counts).toEqual(ids.map(() => 1));
      console.log(`two workers: ${JSON.stringify(sent)} attempts for 30 deliveries, each received once`);
      expect(sent[0]! + sent[1]!).toBe(30); // the 3rd and 4th calls joined the runs under way
      await gw2.close();
      gw2 = null;
    } finally {
      await gw2?.close();
    }
    await h.ok('DELETE', `/admin/webhooks/${hook.webhook.id}`, admin);
  });
});
