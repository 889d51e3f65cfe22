// Second factor: TOTP enrolment (otpauth URI + QR), verification with replay refusal,
// one-time recovery codes, policy that requires TOTP per role, guessing counts to lockout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../server/auth/totp';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

describe.each(BACKENDS)('TOTP on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  async function enrol(u: TestUser, token: string) {
    const start = await h.req('POST', '/me/totp/enrol', { token });
    expect(start.status).toBe(200);
    const code = totpCode(start.body.secret, h.clock.now());
    const confirm = await h.req('POST', '/me/totp/confirm', { token, body: { code } });
    expect(confirm.status, JSON.stringify(confirm.body)).toBe(200);
    h.clock.advance(30_000); // next sign-in uses the next time step
    return { secret: start.body.secret as string, recoveryCodes: confirm.body.recoveryCodes as string[], start: start.body };
  }

  it('enrols with an otpauth URI and QR, then requires a valid code at sign-in', async () => {
    const u = await h.newUser('operator');
    const token = (await h.signIn(u)).body.tokens.accessToken;
    const { secret, recoveryCodes, start } = await enrol(u, token);
    expect(start.otpauthUri).toMatch(new RegExp(`^otpauth://totp/Koe:${u.username}\\?`));
    expect(start.otpauthUri).toContain(`secret=${secret}`);
    expect(start.qrSvg).toMatch(/^<svg/);
    expect(recoveryCodes).toHaveLength(10);

    expect((await h.signIn(u)).body.error.code).toBe('totp_required');
    expect((await h.signIn(u, { totp: '000000' })).body.error.code).toBe('totp_invalid');
    const ok = await h.signIn(u, { totp: totpCode(secret, h.clock.now()) });
    expect(ok.status).toBe(200);
    expect(await h.auditActions({ targetId: u.id })).toEqual(expect.arrayContaining(['totp.enrolment_started', 'totp.enabled']));
  });

  it('refuses a replayed code and codes outside the ±30 s window', async () => {
    const u = await h.newUser('operator');
    const { secret } = await enrol(u, (await h.signIn(u)).body.tokens.accessToken);
    const code = totpCode(secret, h.clock.now());
    expect((await h.signIn(u, { totp: code })).status).toBe(200);
    expect((await h.signIn(u, { totp: code })).body.error.code).toBe('totp_invalid');
    const old = totpCode(secret, new Date(h.clock.now().getTime() - 120_000));
    h.clock.advance(30_000);
    expect((await h.signIn(u, { totp: old })).body.error.code).toBe('totp_invalid');
    const future = totpCode(secret, new Date(h.clock.now().getTime() + 120_000));
    expect((await h.signIn(u, { totp: future })).body.error.code).toBe('totp_invalid');
  });

  it('wrong codes count toward lockout (no unlimited guessing after the password)', async () => {
    const u = await h.newUser('operator');
    await enrol(u, (await h.signIn(u)).body.tokens.accessToken);
    for (let i = 0; i < 4; i++) expect((await h.signIn(u, { totp: '123456' })).body.error.code).toBe('totp_invalid');
    const fifth = await h.signIn(u, { totp: '123456' });
    expect(fifth.status).toBe(423);
    expect(fifth.body.error.code).toBe('account_locked');
  });

  it('accepts each recovery code once', async () => {
    const u = await h.newUser('operator');
    const { recoveryCodes } = await enrol(u, (await h.signIn(u)).body.tokens.accessToken);
    const res = await h.signIn(u, { recoveryCode: recoveryCodes[0]! });
    expect(res.status).toBe(200);
    expect(res.body.recoveryCodeUsed).toBe(true);
    expect((await h.signIn(u, { recoveryCode: recoveryCodes[0]! })).body.error.code).toBe('totp_invalid');
    expect((await h.signIn(u, { recoveryCode: recoveryCodes[1]!.toUpperCase() })).status).toBe(200);
    expect((await h.signIn(u, { recoveryCode: 'zzzzz-zzzzz' })).body.error.code).toBe('totp_invalid');
    expect(await h.auditActions({ targetId: u.id })).toContain('totp.recovery_code_used');
  });

  it('replaces recovery codes (old ones stop working) and disables TOTP with password + code', async () => {
    const u = await h.newUser('operator');
    const { secret, recoveryCodes } = await enrol(u, (await h.signIn(u)).body.tokens.accessToken);
    const token = (await h.signIn(u, { totp: totpCode(secret, h.clock.now()) })).body.tokens.accessToken;
    h.clock.advance(30_000);
    const fresh = await h.req('POST', '/me/totp/recovery-codes', { token, body: { code: totpCode(secret, h.clock.now()) } });
    expect(fresh.status).toBe(200);
    expect((await h.signIn(u, { recoveryCode: recoveryCodes[2]! })).body.error.code).toBe('totp_invalid');
    h.clock.advance(30_000);
    const bad = await h.req('POST', '/me/totp/disable', { token, body: { password: 'Wrong-Pass-1!', code: totpCode(secret, h.clock.now()) } });
    expect(bad.body.error.code).toBe('invalid_credentials');
    const off = await h.req('POST', '/me/totp/disable', { token, body: { password: u.password, code: totpCode(secret, h.clock.now()) } });
    expect(off.status).toBe(200);
    expect((await h.signIn(u)).status).toBe(200);
    expect(await h.auditActions({ targetId: u.id })).toEqual(expect.arrayContaining(['totp.recovery_codes_replaced', 'totp.disabled']));
  });

  it('policy requiring TOTP: a user without it gets an enrolment-only session', async () => {
    await h.patchPolicy({ totpRequiredRoles: ['team_lead'] });
    try {
      const u = await h.newUser('team_lead', 'lead');
      const s = await h.signIn(u);
      expect(s.status).toBe(200);
      expect(s.body.totpEnrolmentRequired).toBe(true);
      const token = s.body.tokens.accessToken;
      const blocked = await h.req('GET', '/admin/users', { token });
      expect(blocked.status).toBe(403);
      expect(blocked.body.error.code).toBe('totp_enrolment_required');
      expect((await h.req('GET', '/me', { token })).status).toBe(200);
      const start = await h.req('POST', '/me/totp/enrol', { token });
      await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(start.body.secret, h.clock.now()) } });
      // the same session is now a full session: refusals are about permissions again
      const after = await h.req('GET', '/admin/users', { token });
      expect(after.body.error.code).toBe('forbidden');
      expect((await h.req('GET', '/me', { token })).body.user.totpEnabled).toBe(true);
      h.clock.advance(30_000);
      const off = await h.req('POST', '/me/totp/disable', { token, body: { password: u.password, code: totpCode(start.body.secret, h.clock.now()) } });
      expect(off.status).toBe(403);
      expect(off.body.error.code).toBe('forbidden');
    } finally {
      await h.patchPolicy({ totpRequiredRoles: [] });
    }
  });

  it('an admin resets a user TOTP (audited)', async () => {
    const u = await h.newUser('operator');
    await enrol(u, (await h.signIn(u)).body.tokens.accessToken);
    expect((await h.signIn(u)).body.error.code).toBe('totp_required');
    const res = await h.req('POST', `/admin/users/${u.id}/totp/reset`, { token: await h.token(h.users.admin) });
    expect(res.status).toBe(200);
    expect((await h.signIn(u)).status).toBe(200);
    expect(await h.auditActions({ targetId: u.id })).toContain('totp.reset');
  });
});
