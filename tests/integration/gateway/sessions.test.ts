// Tokens and sessions: audience-scoped short-lived JWTs, tampering, rotation of refresh
// tokens with a fresh device signature each time, reuse detection that revokes the family,
// idle and absolute expiry, sign-out, admin revoke.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, newDeviceKey, setup, signChallenge, type Harness } from './harness';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe.each(BACKENDS)('sessions on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  it('issues a JWT for the gateway audience that expires in minutes', async () => {
    const u = await h.newUser('operator');
    const res = await h.signIn(u);
    const [header, payload] = res.body.tokens.accessToken.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ sub: u.id, aud: 'koe-client', iss: 'koe-gateway', sid: res.body.tokens.sessionId });
    expect(claims.exp - claims.iat).toBe(10 * 60);
    h.clock.advanceMinutes(11);
    const me = await h.req('GET', '/me', { token: res.body.tokens.accessToken });
    expect(me.status).toBe(401);
    expect(me.body.error.code).toBe('token_expired');
  });

  it('refuses tampered, alg:none, wrong-audience and malformed tokens', async () => {
    const u = await h.newUser('operator');
    const token: string = (await h.signIn(u)).body.tokens.accessToken;
    const [header, payload, sig] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const elevated = `${header}.${b64({ ...claims, sub: h.users.admin.id })}.${sig}`;
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    const wrongKey = (() => {
      const body = `${header}.${payload}`;
      return `${body}.${createHmac('sha256', 'another-secret-another-secret-0123456789').update(body).digest('base64url')}`;
    })();
    const secret = 'test-secret-test-secret-test-secret-0123456789';
    const otherAudience = (() => {
      const body = `${header}.${b64({ ...claims, aud: 'koe-sip' })}`;
      return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    })();
    for (const bad of [elevated, wrongKey, otherAudience]) {
      const res = await h.req('GET', '/me', { token: bad });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('token_invalid');
    }
    for (const bad of [none, 'not-a-jwt', 'a.b', `${token}x.y`]) {
      const res = await h.req('GET', '/me', { headers: { authorization: `Bearer ${bad}` } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('token_invalid');
    }
    expect((await h.req('GET', '/me', { headers: { authorization: `Basic ${token}` } })).body.error.code).toBe('token_invalid');
    expect((await h.req('GET', '/me')).body.error.code).toBe('unauthenticated');
  });

  it('rotates the refresh token with a fresh device signature each time', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    const r1 = await h.refresh(u, s.body.tokens.refreshToken);
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body.tokens.refreshToken).not.toBe(s.body.tokens.refreshToken);
    expect(r1.body.tokens.sessionId).toBe(s.body.tokens.sessionId);
    const r2 = await h.refresh(u, r1.body.tokens.refreshToken);
    expect(r2.status).toBe(200);
    expect((await h.req('GET', '/me', { token: r2.body.tokens.accessToken })).status).toBe(200);
    const stored = await h.db.selectFrom('refresh_tokens').select('token_hash').execute();
    expect(stored.some((r) => r.token_hash.includes(r2.body.tokens.refreshToken))).toBe(false);
  });

  it('a stolen refresh token is useless without the device key', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    const noProof = await h.refresh(u, s.body.tokens.refreshToken, { device: null });
    expect(noProof.body.error.code).toBe('device_signature_required');
    const otherKey = await h.refresh(u, s.body.tokens.refreshToken, { device: newDeviceKey() });
    expect(otherKey.body.error.code).toBe('device_mismatch');
    // right public key, signature by another key
    const challenge = await h.challenge(u.username, 'refresh');
    const forged = await h.req('POST', '/auth/refresh', {
      body: { refreshToken: s.body.tokens.refreshToken, device: { publicKey: u.device.publicKey, challenge, signature: signChallenge(newDeviceKey(), 'refresh', u.username, challenge) } },
    });
    expect(forged.body.error.code).toBe('signature_invalid');
    // a sign-in signature cannot be replayed as a refresh signature
    const c2 = await h.challenge(u.username, 'refresh');
    const crossPurpose = await h.req('POST', '/auth/refresh', {
      body: { refreshToken: s.body.tokens.refreshToken, device: { publicKey: u.device.publicKey, challenge: c2, signature: signChallenge(u.device, 'sign-in', u.username, c2) } },
    });
    expect(crossPurpose.body.error.code).toBe('signature_invalid');
    // a sign-in challenge cannot be used for a refresh
    const c3 = await h.challenge(u.username, 'sign-in');
    const wrongChallenge = await h.req('POST', '/auth/refresh', {
      body: { refreshToken: s.body.tokens.refreshToken, device: { publicKey: u.device.publicKey, challenge: c3, signature: signChallenge(u.device, 'refresh', u.username, c3) } },
    });
    expect(wrongChallenge.body.error.code).toBe('challenge_invalid');
    // none of that burnt the token: the real device still refreshes
    expect((await h.refresh(u, s.body.tokens.refreshToken)).status).toBe(200);
  });

  it('reuse of a rotated refresh token revokes the whole session family (audited)', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    const r1 = await h.refresh(u, s.body.tokens.refreshToken);
    const reuse = await h.refresh(u, s.body.tokens.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('token_reused');
    // the legitimate newest token and access token die with the family
    expect((await h.refresh(u, r1.body.tokens.refreshToken)).body.error.code).toBe('session_revoked');
    expect((await h.req('GET', '/me', { token: r1.body.tokens.accessToken })).body.error.code).toBe('session_revoked');
    expect(await h.auditActions({ targetId: s.body.tokens.sessionId })).toContain('auth.token_reused');
  });

  it('two concurrent refreshes with the same token: one wins, the family is revoked', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    const [a, b] = await Promise.all([h.refresh(u, s.body.tokens.refreshToken), h.refresh(u, s.body.tokens.refreshToken)]);
    const codes = [a, b].map((r) => (r.status === 200 ? 'ok' : r.body.error.code)).sort();
    expect(codes).toEqual(['ok', 'token_reused']);
    const session = await h.db.selectFrom('sessions').select('revoked_at').where('id', '=', s.body.tokens.sessionId).executeTakeFirstOrThrow();
    expect(session.revoked_at).not.toBeNull();
  });

  it('expires idle sessions and caps them at the absolute lifetime', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    h.clock.advanceMinutes(31);
    expect((await h.refresh(u, s.body.tokens.refreshToken)).body.error.code).toBe('session_expired');

    const s2 = await h.signIn(u);
    let refresh: string = s2.body.tokens.refreshToken;
    for (let elapsed = 0; elapsed < 12 * 60 - 25; elapsed += 25) {
      h.clock.advanceMinutes(25);
      const r = await h.refresh(u, refresh);
      expect(r.status, `after ${elapsed + 25} min: ${JSON.stringify(r.body)}`).toBe(200);
      refresh = r.body.tokens.refreshToken;
      expect(new Date(r.body.tokens.accessTokenExpiresAt).getTime()).toBeLessThanOrEqual(new Date(s2.body.tokens.absoluteExpiresAt).getTime());
    }
    h.clock.advanceMinutes(25);
    expect((await h.refresh(u, refresh)).body.error.code).toBe('session_expired');
  });

  it('follows session lengths from policy', async () => {
    await h.patchPolicy({ sessions: { accessTokenMinutes: 2, idleMinutes: 5 } });
    try {
      const u = await h.newUser('operator');
      const s = await h.signIn(u);
      expect(new Date(s.body.tokens.accessTokenExpiresAt).getTime() - h.clock.now().getTime()).toBe(2 * 60_000);
      h.clock.advanceMinutes(6);
      expect((await h.refresh(u, s.body.tokens.refreshToken)).body.error.code).toBe('session_expired');
    } finally {
      await h.patchPolicy({ sessions: { accessTokenMinutes: 10, idleMinutes: 30 } });
    }
  });

  it('signs out (access and refresh tokens stop working)', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    expect((await h.req('POST', '/auth/sign-out', { token: s.body.tokens.accessToken })).status).toBe(200);
    expect((await h.req('GET', '/me', { token: s.body.tokens.accessToken })).body.error.code).toBe('session_revoked');
    expect((await h.refresh(u, s.body.tokens.refreshToken)).body.error.code).toBe('session_revoked');
  });

  it('admin revokes every session of a user', async () => {
    const u = await h.newUser('team_lead');
    const a = await h.signIn(u);
    const b = await h.signIn(u);
    const adminToken = await h.token(h.users.admin);
    const listed = await h.req('GET', `/admin/users/${u.id}/sessions`, { token: adminToken });
    expect(listed.body.sessions.filter((s: { revokedAt: string | null }) => s.revokedAt === null)).toHaveLength(2);
    const res = await h.req('POST', `/admin/users/${u.id}/sessions/revoke`, { token: adminToken });
    expect(res.body).toEqual({ revoked: 2 });
    for (const s of [a, b]) expect((await h.req('GET', '/me', { token: s.body.tokens.accessToken })).body.error.code).toBe('session_revoked');
    expect(await h.auditActions({ targetId: u.id })).toContain('session.revoked_all');
    expect((await h.req('POST', `/admin/users/${u.id}/sessions/revoke`, { token: await h.token(h.users.lead) })).status).toBe(403);
  });

  it('refresh of an unknown or malformed token is refused', async () => {
    expect((await h.req('POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(43) } })).body.error.code).toBe('token_invalid');
    expect((await h.req('POST', '/auth/refresh', { body: { refreshToken: 'bad token!' } })).body.error.code).toBe('validation_failed');
  });
});
