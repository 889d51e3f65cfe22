// Hostile input: oversized bodies, wrong types, unknown fields, broken JSON, prototype
// pollution, wrong content types, unknown routes; every refusal is a 4xx with a code and
// leaves nothing half-written. Also: health, OpenAPI, the WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../shared/gateway/errors';
import { ROUTES } from '../../../shared/gateway/api';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('bad input on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  const expectError = (res: { status: number; body: any }, status: number, code: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
    expect(ERROR_CODES).toContain(res.body.error.code);
  };

  it('refuses bodies over 64 KiB with 413 payload_too_large', async () => {
    const res = await h.req('POST', '/auth/sign-in', { raw: JSON.stringify({ username: 'a'.repeat(70_000), password: 'x' }) });
    expectError(res, 413, 'payload_too_large');
  });

  it('refuses unknown fields, wrong types and missing fields with validation_failed and the path', async () => {
    const unknown = await h.req('POST', '/auth/sign-in', { body: { username: 'sato.hanako', password: 'x', isAdmin: true } });
    expectError(unknown, 400, 'validation_failed');
    expect(JSON.stringify(unknown.body.error.issues)).toContain('isAdmin');
    expectError(await h.req('POST', '/auth/sign-in', { body: { username: 42, password: 'x' } }), 400, 'validation_failed');
    expectError(await h.req('POST', '/auth/sign-in', { body: { username: 'sato.hanako' } }), 400, 'validation_failed');
    expectError(await h.req('POST', '/auth/sign-in', { body: ['username'] }), 400, 'validation_failed');
    expectError(await h.req('POST', '/auth/challenge', { body: { username: 'x-user', purpose: 'admin' } }), 400, 'validation_failed');
    expectError(await h.req('POST', '/auth/sign-in', { body: { username: '../../etc', password: 'x' } }), 400, 'validation_failed');
    const token = await h.token(h.users.admin);
    expectError(await h.req('GET', '/admin/audit?limit=abc', { token }), 400, 'validation_failed');
    expectError(await h.req('GET', '/admin/audit?limit=5&evil=1', { token }), 400, 'validation_failed');
    expectError(await h.req('PATCH', '/admin/users/not-a-uuid', { token, body: {} }), 400, 'validation_failed');
    expectError(await h.req('PATCH', '/admin/policy', { token, body: { lockout: { maxFailures: 'five' } } }), 400, 'validation_failed');
    expectError(await h.req('PATCH', '/admin/policy', { token, body: { lockout: { maxFailures: 0 } } }), 400, 'validation_failed');
    expectError(await h.req('PATCH', '/admin/policy', { token, body: { password: { minLength: 4 } } }), 400, 'validation_failed');
    expectError(await h.req('POST', `/admin/users/${h.users.operator.id}/unlock`, { token, body: { force: true } }), 400, 'validation_failed');
  });

  it('never quotes a payload back: the issues of a refusal are bounded (a 30,000-character key, 2,000 unknown keys, a long record key)', async () => {
    const token = await h.token(h.users.admin);
    const longKey = 'k'.repeat(30_000);
    const answers = [
      await h.req('POST', '/admin/teams', { token, raw: JSON.stringify({ name: 'x', [longKey]: 1 }) }),
      await h.req('GET', `/me?${longKey}=1`, { token }),
      await h.req('POST', '/admin/teams', { token, body: { name: 'x', ...Object.fromEntries(Array.from({ length: 2_000 }, (_v, i) => [`k${i}`, i])) } }),
      await h.req('PATCH', `/customers/${h.users.admin.id}`, { token, body: { fields: { [longKey]: { nested: true } } } }),
    ];
    for (const res of answers) {
      expectError(res, 400, 'validation_failed');
      expect(res.text.length, res.text.slice(0, 300)).toBeLessThan(2_000);
      for (const issue of res.body.error.issues) {
        expect(issue.path.length).toBeLessThanOrEqual(100);
        expect(issue.message.length).toBeLessThanOrEqual(200);
      }
    }
    expect(answers[0]!.body.error.issues[0].message).toMatch(/^Unrecognized key: "k+…$/);
  });

  it('refuses a JSON body that is not UTF-8 (never stores U+FFFD in place of its bytes), and still takes a BOM', async () => {
    const token = await h.token(h.users.admin);
    const name = 'チーム\u00e9';
    const bytes = Buffer.from(JSON.stringify({ name }), 'utf8');
    const at = bytes.indexOf(Buffer.from('\u00e9', 'utf8'));
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe3, 0x81]]) {
      const payload = Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
      const res = await h.gw.app.inject({ method: 'POST', url: '/admin/teams', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload, remoteAddress: '10.0.0.1' });
      expectError({ status: res.statusCode, body: JSON.parse(res.body) }, 400, 'validation_failed');
    }
    expect(await h.db.selectFrom('teams').select('name').where('name', 'like', 'チーム%').execute()).toEqual([]);
    const bom = await h.gw.app.inject({ method: 'POST', url: '/admin/teams', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), remoteAddress: '10.0.0.1' });
    expect(bom.statusCode, bom.body).toBe(200);
    expect(JSON.parse(bom.body).name).toBe(name);
  });

  it('refuses broken JSON, prototype pollution and non-JSON content types', async () => {
    expectError(await h.req('POST', '/auth/sign-in', { raw: '{"username": "a", ' }), 400, 'validation_failed');
    expectError(await h.req('POST', '/auth/sign-in', { raw: '{"__proto__": {"isAdmin": true}, "username": "abc", "password": "x"}' }), 400, 'validation_failed');
    const form = await h.req('POST', '/auth/sign-in', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, raw: 'username=a&password=b' });
    expectError(form, 415, 'unsupported_media_type');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('answers unknown routes with not_found', async () => {
    expectError(await h.req('GET', '/admin/secret'), 404, 'not_found');
  });

  it('leaves nothing half-written when a request fails', async () => {
    const token = await h.token(h.users.admin);
    const seqBefore = Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
    const usersBefore = (await h.db.selectFrom('users').select('id').execute()).length;
    // the username is taken: the insert and its audit entry must both be absent (the refusal
    // itself is audited, after the rollback: user.create_refused)
    const dup = await h.req('POST', '/admin/users', { token, body: { username: h.users.operator.username, displayName: 'x', role: 'operator', password: 'Another-Good-Pass-1!' } });
    expectError(dup, 409, 'conflict');
    const badRole = await h.req('POST', '/admin/users', { token, body: { username: 'new-user-z', displayName: 'x', role: 'no_such_role', password: 'Another-Good-Pass-1!' } });
    expectError(badRole, 400, 'validation_failed');
    // team membership with one foreign id: no partial membership
    const team = await h.req('POST', '/admin/teams', { token, body: { name: 'チームZ' } });
    const partial = await h.req('PUT', `/admin/teams/${team.body.id}/members`, {
      token, body: { leadIds: [h.users.lead.id], operatorIds: ['00000000-0000-4000-8000-000000000000'] },
    });
    expectError(partial, 400, 'validation_failed');
    expect(await h.db.selectFrom('team_members').select('user_id').where('team_id', '=', team.body.id).execute()).toEqual([]);
    expect((await h.db.selectFrom('users').select('id').execute()).length).toBe(usersBefore);
    const actions = (await h.db.selectFrom('audit_log').select('action').where('seq', '>', seqBefore).execute()).map((r) => r.action);
    expect(actions).toEqual(['user.create_refused', 'team.created']);
  });

  it('serves /health and an OpenAPI document that covers every route', async () => {
    const health = await h.req('GET', '/health');
    expect(health.body).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const doc = (await h.req('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const spec of Object.values(ROUTES)) {
      const path = spec.path.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[spec.method.toLowerCase()], `${spec.method} ${path}`).toBeDefined();
    }
    const signIn = doc.paths['/auth/sign-in'].post.requestBody.content['application/json'].schema;
    expect(signIn.additionalProperties).toBe(false);
    expect(signIn.required).toEqual(expect.arrayContaining(['username', 'password']));
  });
});

describe.each(BACKENDS)('WebSocket on %s', (backend) => {
  let h: Harness;
  let base: string;
  beforeAll(async () => {
    h = await setup(backend);
    base = (await h.gw.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  });
  afterAll(async () => h?.close());

  async function connect() {
    const s = await GatewaySocket.open(base);
    return { ws: s.ws, next: () => s.shift(), closed: s.closed.then((c) => c.code), send: (m: unknown) => s.send(m) };
  }

  it('authenticates with the first message, then answers pings', async () => {
    const s = await h.signIn(h.users.operator);
    const c = await connect();
    c.send({ type: 'auth', accessToken: s.body.tokens.accessToken });
    expect(await c.next()).toEqual({ type: 'ready', userId: h.users.operator.id, sessionId: s.body.tokens.sessionId });
    // an operator's socket gets its starting view right after "ready" (issue 12: the operator model)
    expect(await c.next()).toMatchObject({ type: 'operatorState', view: { agent: 'not_ready', reasonCode: 'signed_in' } });
    c.send({ type: 'ping', id: '1' });
    expect(await c.next()).toEqual({ type: 'pong', id: '1' });
    // sign-out ends the socket's authority on the next message
    await h.req('POST', '/auth/sign-out', { token: s.body.tokens.accessToken });
    c.send({ type: 'ping' });
    expect(await c.next()).toMatchObject({ type: 'error', code: 'session_revoked' });
    expect(await c.closed).toBe(4401);
  });

  it('refuses messages before auth, bad tokens and malformed frames', async () => {
    const a = await connect();
    a.send({ type: 'ping' });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'unauthenticated' });
    expect(await a.closed).toBe(4401);
    const b = await connect();
    b.send({ type: 'auth', accessToken: 'x.y.z' });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'token_invalid' });
    const c = await connect();
    c.ws.send('not json');
    expect(await c.next()).toMatchObject({ type: 'error', code: 'validation_failed' });
    expect(await c.closed).toBe(4400);
  });
});
