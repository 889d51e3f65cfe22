// Forged or replayed credentials leave an audit entry (auth.token_forged,
// auth.refresh.no_device_proof, auth.challenge_replayed, auth.token_reused,
// auth.refresh.unknown_token), coalesced per source address so that a flood cannot grow the
// audit log without bound (server/auth/audit-coalesce.ts).
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../server/audit/audit';
import { BACKENDS, PASSWORD, setup, signChallenge, type Harness } from './harness';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe.each(BACKENDS)('audit of forged and replayed credentials on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  const entries = async (action: string, ip?: string) => {
    let q = h.db.selectFrom('audit_log').select(['source_ip', 'detail', 'actor_user_id', 'target_id']).where('action', '=', action).orderBy('seq');
    if (ip) q = q.where('source_ip', '=', ip);
    return (await q.execute()).map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }));
  };

  it('forged access tokens (signature, alg:none, audience) are audited once per address per window', async () => {
    const u = await h.newUser('operator');
    const token: string = (await h.signIn(u)).body.tokens.accessToken;
    const [header, payload] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const wrongKey = `${header}.${payload}.${createHmac('sha256', 'another-secret-another-secret-0123456789').update(`${header}.${payload}`).digest('base64url')}`;
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    const noneSigned = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${token.split('.')[2]}`;
    const audBody = `${header}.${b64({ ...claims, aud: 'koe-sip' })}`;
    const otherAudience = `${audBody}.${createHmac('sha256', 'test-secret-test-secret-test-secret-0123456789').update(audBody).digest('base64url')}`;

    const cases: [string, string, string][] = [
      [wrongKey, '203.0.113.1', 'bad_signature'],
      [none, '203.0.113.2', 'unsigned'],
      [noneSigned, '203.0.113.4', 'alg_not_allowed'],
      ['garbage', '203.0.113.5', 'malformed'],
      [otherAudience, '203.0.113.3', 'claim_aud'],
    ];
    for (const [bad, ip, reason] of cases) {
      const res = await h.req('GET', '/me', { headers: { authorization: `Bearer ${bad}` }, ip });
      expect(res.body.error.code).toBe('token_invalid'); // the caller learns nothing more
      const got = await entries('auth.token_forged', ip);
      expect(got, reason).toHaveLength(1);
      expect(got[0]!.detail).toMatchObject({ reason, via: 'http' });
    }
    // a flood from one address: still one entry; after the window the next one reports the folded count
    for (let i = 0; i < 30; i++) await h.req('GET', '/me', { headers: { authorization: `Bearer ${wrongKey}` }, ip: '203.0.113.1' });
    expect(await entries('auth.token_forged', '203.0.113.1')).toHaveLength(1);
    h.clock.advanceMinutes(5);
    await h.req('GET', '/me', { headers: { authorization: `Bearer ${wrongKey}` }, ip: '203.0.113.1' });
    const after = await entries('auth.token_forged', '203.0.113.1');
    expect(after).toHaveLength(2);
    expect(after[1]!.detail.coalesced.suppressedForKey).toBe(30);
    // an expired (genuine) token is not a forgery
    const before = (await entries('auth.token_forged')).length;
    h.clock.advanceMinutes(11);
    expect((await h.req('GET', '/me', { token, ip: '203.0.113.9' })).body.error.code).toBe('token_expired');
    expect(await entries('auth.token_forged')).toHaveLength(before);
  });

  it('a flood from many addresses writes at most maxPerWindow entries, and the next entry counts the rest', async () => {
    h.clock.advanceMinutes(6);
    const bad = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'x' })}.${'A'.repeat(43)}`;
    const before = (await entries('auth.token_forged')).length;
    for (let i = 0; i < 130; i++) await h.req('GET', '/me', { headers: { authorization: `Bearer ${bad}` }, ip: `100.64.${i >> 8}.${i & 255}` });
    const during = (await entries('auth.token_forged')).length - before;
    expect(during).toBe(100);
    h.clock.advanceMinutes(6);
    await h.req('GET', '/me', { headers: { authorization: `Bearer ${bad}` }, ip: '100.64.9.9' });
    const all = await entries('auth.token_forged');
    expect(all.at(-1)!.detail.coalesced.suppressedSinceLastEntry).toBe(30);
    expect(await verifyAuditChain(h.db)).toMatchObject({ ok: true });
  });

  it('a refresh of a device-bound session without the device signature is audited', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    const res = await h.refresh(u, s.body.tokens.refreshToken, { device: null, ip: '203.0.113.20' });
    expect(res.body.error.code).toBe('device_signature_required');
    const got = await entries('auth.refresh.no_device_proof', '203.0.113.20');
    expect(got).toHaveLength(1);
    expect(got[0]!.target_id).toBe(s.body.tokens.sessionId);
  });

  it('replayed, expired and foreign challenges are audited, at sign-in and at refresh', async () => {
    const u = await h.newUser('operator');
    const signInWith = (challenge: string, ip: string) =>
      h.req('POST', '/auth/sign-in', {
        ip,
        body: { username: u.username, password: PASSWORD, device: { publicKey: u.device.publicKey, name: u.device.name, challenge, signature: signChallenge(u.device, 'sign-in', u.username, challenge) } },
      });
    const c1 = await h.challenge(u.username);
    expect((await signInWith(c1, '203.0.113.30')).status).toBe(200);
    expect((await signInWith(c1, '203.0.113.31')).body.error.code).toBe('challenge_invalid');
    const foreign = await h.challenge(h.users.lead.username);
    expect((await signInWith(foreign, '203.0.113.32')).body.error.code).toBe('challenge_invalid');
    const stale = await h.challenge(u.username);
    h.clock.advance(61_000);
    expect((await signInWith(stale, '203.0.113.33')).body.error.code).toBe('challenge_invalid');
    expect((await entries('auth.challenge_replayed', '203.0.113.31'))[0]?.detail).toMatchObject({ route: 'sign-in', reason: 'replayed' });
    expect((await entries('auth.challenge_replayed', '203.0.113.32'))[0]?.detail).toMatchObject({ route: 'sign-in', reason: 'foreign' });
    expect((await entries('auth.challenge_replayed', '203.0.113.33'))[0]?.detail).toMatchObject({ route: 'sign-in', reason: 'expired' });

    const s = await h.signIn(u);
    const rc = await h.challenge(u.username, 'refresh');
    const refreshBody = (refreshToken: string) => ({
      refreshToken, device: { publicKey: u.device.publicKey, challenge: rc, signature: signChallenge(u.device, 'refresh', u.username, rc) },
    });
    const r1 = await h.req('POST', '/auth/refresh', { body: refreshBody(s.body.tokens.refreshToken), ip: '203.0.113.34' });
    expect(r1.status).toBe(200);
    const r2 = await h.req('POST', '/auth/refresh', { body: refreshBody(r1.body.tokens.refreshToken), ip: '203.0.113.35' });
    expect(r2.body.error.code).toBe('challenge_invalid');
    expect((await entries('auth.challenge_replayed', '203.0.113.35'))[0]?.detail).toMatchObject({ route: 'refresh', reason: 'replayed' });
  });

  it('a reused refresh token revokes the session and is audited; further replays are coalesced', async () => {
    const u = await h.newUser('operator');
    const s = await h.signIn(u);
    expect((await h.refresh(u, s.body.tokens.refreshToken)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await h.refresh(u, s.body.tokens.refreshToken, { ip: '203.0.113.40' })).body.error.code).toBe('token_reused');
    const got = (await entries('auth.token_reused')).filter((e) => e.target_id === s.body.tokens.sessionId);
    expect(got.map((e) => e.detail.sessionRevoked)).toEqual([true, false]);
    // an unknown refresh token (a guess) is audited per address too
    for (let i = 0; i < 5; i++) await h.req('POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(43) }, ip: '203.0.113.41' });
    expect(await entries('auth.refresh.unknown_token', '203.0.113.41')).toHaveLength(1);
  });
});
