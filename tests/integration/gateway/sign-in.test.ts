// Sign-in: the same answer for unknown users and wrong passwords, lockout (per username,
// known or not) with window, expiry and admin unlock, per-IP throttling, rate limits,
// password policy and history, disabled accounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, PASSWORD, setup, type Harness } from './harness';

describe.each(BACKENDS)('sign-in on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  it('answers a bad username and a bad password identically', async () => {
    const u = await h.newUser('operator');
    const wrongPassword = await h.signIn(u, { password: 'Not-The-Password-1!', device: null });
    const unknownUser = await h.signIn({ username: 'no-such-user-xyz', device: null }, { password: 'Not-The-Password-1!' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(wrongPassword.body).toEqual(unknownUser.body);
    expect(wrongPassword.body).toEqual({ error: { code: 'invalid_credentials', message: 'wrong username or password' } });
    expect(Object.keys(wrongPassword.headers).sort()).toEqual(Object.keys(unknownUser.headers).sort());
  });

  it('locks after 5 failures in 15 minutes, for 30 minutes, even with the right password', async () => {
    const u = await h.newUser('operator');
    for (let i = 0; i < 4; i++) expect((await h.signIn(u, { password: `Wrong-Pass-${i}!`, device: null })).body.error.code).toBe('invalid_credentials');
    await h.signIn(u, { password: 'Wrong-Pass-5!', device: null });
    const locked = await h.signIn(u);
    expect(locked.status).toBe(423);
    expect(locked.body.error.code).toBe('account_locked');
    const until = new Date(locked.body.error.lockedUntil).getTime();
    expect(until - h.clock.now().getTime()).toBe(30 * 60_000);
    h.clock.advanceMinutes(29);
    expect((await h.signIn(u)).body.error.code).toBe('account_locked');
    h.clock.advanceMinutes(2);
    expect((await h.signIn(u)).status).toBe(200);
    expect(await h.auditActions({ targetId: u.id })).toEqual(expect.arrayContaining(['auth.sign_in.failure', 'auth.lockout', 'auth.sign_in.success']));
  });

  it('counts failures in a sliding window only', async () => {
    const u = await h.newUser('operator');
    for (let i = 0; i < 4; i++) await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
    h.clock.advanceMinutes(16); // the 4 failures leave the window
    for (let i = 0; i < 4; i++) await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
    expect((await h.signIn(u)).status).toBe(200);
  });

  it('a successful sign-in resets the failure count', async () => {
    const u = await h.newUser('operator');
    for (let i = 0; i < 4; i++) await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
    expect((await h.signIn(u)).status).toBe(200);
    for (let i = 0; i < 4; i++) await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
    expect((await h.signIn(u)).status).toBe(200);
  });

  it('locks unknown usernames the same way (no enumeration through lockout)', async () => {
    const ghost = { username: 'ghost-user-1', device: null };
    for (let i = 0; i < 5; i++) await h.signIn(ghost, { password: 'Wrong-Pass-1!' });
    const res = await h.signIn(ghost, { password: 'Wrong-Pass-1!' });
    expect(res.status).toBe(423);
    expect(res.body.error.code).toBe('account_locked');
  });

  it('an admin unlocks a locked account (audited)', async () => {
    const u = await h.newUser('operator');
    for (let i = 0; i < 5; i++) await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
    expect((await h.signIn(u)).status).toBe(423);
    const adminToken = await h.token(h.users.admin);
    const users = await h.req('GET', '/admin/users', { token: adminToken });
    expect(users.body.users.find((x: { id: string }) => x.id === u.id).locked).toBe(true);
    const operatorTry = await h.req('POST', `/admin/users/${u.id}/unlock`, { token: await h.token(h.users.operator) });
    expect(operatorTry.status).toBe(403);
    const unlock = await h.req('POST', `/admin/users/${u.id}/unlock`, { token: adminToken });
    expect(unlock.status).toBe(200);
    expect((await h.signIn(u)).status).toBe(200);
    expect(await h.auditActions({ targetId: u.id })).toContain('auth.unlock');
  });

  it('follows lockout settings from org policy', async () => {
    await h.patchPolicy({ lockout: { maxFailures: 2, lockMinutes: 5 } });
    try {
      const u = await h.newUser('operator');
      await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
      await h.signIn(u, { password: 'Wrong-Pass-1!', device: null });
      const res = await h.signIn(u);
      expect(res.body.error.code).toBe('account_locked');
      expect(new Date(res.body.error.lockedUntil).getTime() - h.clock.now().getTime()).toBe(5 * 60_000);
    } finally {
      await h.patchPolicy({ lockout: { maxFailures: 5, lockMinutes: 30 } });
    }
  });

  it('refuses a disabled account only after the right password, and ends its sessions', async () => {
    const u = await h.newUser('operator');
    const session = await h.signIn(u);
    const adminToken = await h.token(h.users.admin);
    expect((await h.req('PATCH', `/admin/users/${u.id}`, { token: adminToken, body: { disabled: true } })).status).toBe(200);
    expect((await h.signIn(u, { password: 'Wrong-Pass-1!', device: null })).body.error.code).toBe('invalid_credentials');
    expect((await h.signIn(u)).body.error.code).toBe('account_disabled');
    const me = await h.req('GET', '/me', { token: session.body.tokens.accessToken });
    expect(me.status).toBe(401);
    expect(me.body.error.code).toBe('session_revoked');
  });

  it('enforces the password policy on create, change and reset, and refuses reuse of the last N', async () => {
    const adminToken = await h.token(h.users.admin);
    for (const [password, violation] of [
      ['Sh0rt!', 'too_short'],
      ['alllowercase1!', 'missing_upper'],
      ['ALLUPPERCASE1!', 'missing_lower'],
      ['NoDigitsHere!', 'missing_digit'],
      ['NoSymbols123', 'missing_symbol'],
      ['P@ssw0rd1', 'common_password'],
    ] as const) {
      const res = await h.req('POST', '/admin/users', {
        token: adminToken, body: { username: `weak-${violation}`, displayName: '弱い', role: 'operator', password },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('password_policy');
      expect(res.body.error.violations).toContain(violation);
    }
    expect(await h.db.selectFrom('users').select('id').where('username', 'like', 'weak-%').execute()).toEqual([]);

    const u = await h.newUser('operator');
    const token = (await h.signIn(u)).body.tokens.accessToken;
    const change = (currentPassword: string, newPassword: string) => h.req('POST', '/me/password', { token, body: { currentPassword, newPassword } });
    expect((await change('Wrong-Current-1!', 'Brand-New-Pass-1!')).body.error.code).toBe('invalid_credentials');
    expect((await change(PASSWORD, PASSWORD)).body.error.violations).toEqual(['reused']);
    const history = ['Momiji-Leaf-01!', 'Momiji-Leaf-02!', 'Momiji-Leaf-03!'];
    let current = PASSWORD;
    for (const next of history) {
      expect((await change(current, next)).status).toBe(200);
      current = next;
    }
    expect((await change(current, PASSWORD)).body.error.violations).toEqual(['reused']);
    expect((await change(current, 'Momiji-Leaf-01!')).body.error.code).toBe('password_policy');
    await h.patchPolicy({ password: { historyCount: 2 } });
    try {
      expect((await change(current, 'Momiji-Leaf-01!')).status).toBe(200);
    } finally {
      await h.patchPolicy({ password: { historyCount: 5 } });
    }
    const reset = await h.req('POST', `/admin/users/${u.id}/password`, { token: adminToken, body: { password: 'Momiji-Leaf-01!' } });
    expect(reset.body.error.code).toBe('password_policy');
    const okReset = await h.req('POST', `/admin/users/${u.id}/password`, { token: adminToken, body: { password: 'Fresh-Reset-Pass-9?' } });
    expect(okReset.status).toBe(200);
    expect((await h.req('GET', '/me', { token })).body.error.code).toBe('session_revoked');
    expect((await h.signIn(u, { password: 'Fresh-Reset-Pass-9?' })).status).toBe(200);
  });

  it('org policy can tighten the password rules (min length, blocklist)', async () => {
    await h.patchPolicy({ password: { minLength: 14, blocklist: ['koecorp'] } });
    try {
      const adminToken = await h.token(h.users.admin);
      const short = await h.req('POST', '/admin/users', { token: adminToken, body: { username: 'p-short', displayName: 'x', role: 'operator', password: 'Abcdefg-1234!' } });
      expect(short.body.error.violations).toEqual(['too_short']);
      const blocked = await h.req('POST', '/admin/users', { token: adminToken, body: { username: 'p-block', displayName: 'x', role: 'operator', password: 'Welcome-KoeCorp-2026!' } });
      expect(blocked.body.error.violations).toEqual(['common_password']);
    } finally {
      await h.patchPolicy({ password: { minLength: 8, blocklist: [] } });
    }
  });
});

describe.each(BACKENDS)('throttling on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend, { authRateLimit: { capacity: 5, refillPerMinute: 5 }, ipFailureLimit: { maxFailures: 8, windowMinutes: 15 } });
  });
  afterAll(async () => h?.close());

  it('rate-limits auth routes per source IP with 429 and Retry-After', async () => {
    const ip = '198.51.100.7';
    for (let i = 0; i < 5; i++) expect((await h.req('POST', '/auth/challenge', { ip, body: { username: 'x-user', purpose: 'sign-in' } })).status).toBe(200);
    const limited = await h.req('POST', '/auth/challenge', { ip, body: { username: 'x-user', purpose: 'sign-in' } });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await h.req('POST', '/auth/challenge', { ip: '198.51.100.8', body: { username: 'x-user', purpose: 'sign-in' } })).status).toBe(200);
    h.clock.advanceMinutes(1);
    expect((await h.req('POST', '/auth/challenge', { ip, body: { username: 'x-user', purpose: 'sign-in' } })).status).toBe(200);
  });

  it('throttles an address that fails across many usernames (password spraying)', async () => {
    const ip = '203.0.113.50';
    for (let i = 0; i < 8; i++) {
      h.clock.advanceMinutes(1); // stay under the token bucket; this is about failures
      const res = await h.req('POST', '/auth/sign-in', { ip, body: { username: `spray-${i}`, password: 'Summer-2026-Pass!' } });
      expect(res.body.error.code).toBe('invalid_credentials');
    }
    h.clock.advanceMinutes(1);
    const u = await h.newUser('operator');
    const blocked = await h.req('POST', '/auth/sign-in', { ip, body: { username: u.username, password: PASSWORD } });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(await h.auditActions({ action: 'auth.ip_throttled' })).not.toHaveLength(0);
    h.clock.advanceMinutes(16);
    expect((await h.signIn(u, { ip })).status).toBe(200);
  });
});
