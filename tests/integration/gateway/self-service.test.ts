// Self-service at the gateway (issue 17): recovery codes as people type them, "my devices"
// scoped to the caller, the owner's new-PC notice at the next sign-in, the org password rules
// for the caller, and what an enrolment-only session may and may not do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../server/auth/totp';
import { normalizeRecoveryCode } from '../../../shared/rules/recovery-code';
import { BACKENDS, newDeviceKey, setup, type Harness, type TestUser } from './harness';

describe('normalizeRecoveryCode', () => {
  it('takes capitals, spaces, a missing hyphen, full-width characters and a pasted newline to the issued form', () => {
    for (const typed of ['abcde-fghjk', 'ABCDE-FGHJK', ' abcde fghjk\n', 'abcdefghjk', 'ａｂｃｄｅ－ｆｇｈｊｋ', 'ab cd ef gh jk']) {
      expect(normalizeRecoveryCode(typed), typed).toBe('abcde-fghjk');
    }
    expect(normalizeRecoveryCode('abcde-fghj')).toBe('abcdefghj'); // not ten: left bare, matches nothing issued
  });
});

describe.each(BACKENDS)('self-service on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  async function enrol(token: string) {
    const start = await h.req('POST', '/me/totp/enrol', { token });
    expect(start.status).toBe(200);
    const confirm = await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(start.body.secret, h.clock.now()) } });
    expect(confirm.status, JSON.stringify(confirm.body)).toBe(200);
    h.clock.advance(30_000);
    return { secret: start.body.secret as string, recoveryCodes: confirm.body.recoveryCodes as string[] };
  }

  it('accepts a recovery code typed in capitals with spaces, once; the same code in another spelling is refused after', async () => {
    const u = await h.newUser('operator');
    const { recoveryCodes } = await enrol((await h.signIn(u)).body.tokens.accessToken);
    const code = recoveryCodes[0]!;
    const typed = ` ${code.toUpperCase().replace('-', ' ')} `;
    const ok = await h.signIn(u, { recoveryCode: typed });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.recoveryCodeUsed).toBe(true);
    for (const again of [code, code.toUpperCase(), code.replace('-', ''), typed]) {
      const res = await h.signIn(u, { recoveryCode: again });
      expect(res.body.error?.code, again).toBe('totp_invalid');
    }
    // a code with characters no code has is a validation error, not a guess that counts
    expect((await h.signIn(u, { recoveryCode: 'abcde_fghjk' })).status).toBe(400);
  });

  it('enrolment started twice: only the newest secret confirms; a wrong or replayed code is refused', async () => {
    const u = await h.newUser('operator');
    const token = (await h.signIn(u)).body.tokens.accessToken;
    const first = await h.req('POST', '/me/totp/enrol', { token });
    const second = await h.req('POST', '/me/totp/enrol', { token });
    expect(second.body.secret).not.toBe(first.body.secret);
    const stale = await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(first.body.secret, h.clock.now()) } });
    expect(stale.body.error.code).toBe('totp_invalid');
    expect((await h.req('POST', '/me/totp/confirm', { token, body: { code: '000000' } })).body.error.code).toBe('totp_invalid');
    const code = totpCode(second.body.secret, h.clock.now());
    expect((await h.req('POST', '/me/totp/confirm', { token, body: { code } })).status).toBe(200);
    // confirmed: a second enrolment is refused, not a silent replacement of the authenticator
    expect((await h.req('POST', '/me/totp/enrol', { token })).body.error.code).toBe('conflict');
    // the code just used cannot be replayed anywhere (the time step is consumed)
    expect((await h.signIn(u, { totp: code })).body.error.code).toBe('totp_invalid');
  });

  it('an enrolment-only session reaches only the enrolment routes (and its client policy); everything else is refused by the gateway', async () => {
    await h.patchPolicy({ totpRequiredRoles: ['operator'] });
    try {
      const u = await h.newUser('operator');
      const s = await h.signIn(u);
      expect(s.body.totpEnrolmentRequired).toBe(true);
      const token = s.body.tokens.accessToken;
      for (const [method, path, body] of [
        ['GET', '/me/devices', undefined],
        ['GET', '/me/password-policy', undefined],
        ['POST', '/me/password', { currentPassword: u.password, newPassword: 'Another-Pass-99!' }],
        ['POST', '/me/totp/recovery-codes', { code: '123456' }],
        ['POST', '/sip/credentials', undefined],
        ['GET', '/admin/users', undefined],
      ] as const) {
        const res = await h.req(method, path, { token, ...(body ? { body } : {}) });
        expect(res.status, path).toBe(403);
        expect(res.body.error.code, path).toBe('totp_enrolment_required');
      }
      expect((await h.req('GET', '/me/client-policy', { token })).status).toBe(200);
      expect((await h.req('GET', '/me', { token })).status).toBe(200);
      await enrol(token);
      expect((await h.req('GET', '/me/devices', { token })).status).toBe(200);
    } finally {
      await h.patchPolicy({ totpRequiredRoles: [] });
    }
  });

  it('GET /me/devices lists only the caller\'s PCs, with first/last seen and the addresses', async () => {
    const a = await h.newUser('operator');
    const b = await h.newUser('operator');
    const first = await h.signIn(a, { ip: '10.20.0.1' });
    expect(first.status).toBe(200);
    h.clock.advance(60_000);
    const second = await h.signIn(a, { ip: '10.20.0.2' });
    await h.signIn(b, { ip: '10.30.0.9' });
    const res = await h.req('GET', '/me/devices', { token: second.body.tokens.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.devices).toEqual([
      expect.objectContaining({
        name: a.device.name, status: 'active', firstSeenIp: '10.20.0.1', lastSeenIp: '10.20.0.2', current: true,
      }),
    ]);
    expect(Date.parse(res.body.devices[0].lastSeenAt)).toBeGreaterThan(Date.parse(res.body.devices[0].firstSeenAt));
    // no parameter can widen it: a query naming another user is a validation error
    expect((await h.req('GET', `/me/devices?userId=${b.id}`, { token: second.body.tokens.accessToken })).status).toBe(400);
  });

  it('tells the owner of a PC enrolled for them once, at the next sign-in (not the one that enrolled it)', async () => {
    const u: TestUser = await h.newUser('operator');
    const enrolling = await h.signIn(u, { ip: '10.40.0.7' });
    expect(enrolling.body.device.enrolledNow).toBe(true);
    expect(enrolling.body.newDevices).toEqual([]);
    const next = await h.signIn(u, { ip: '10.40.0.8' });
    expect(next.body.newDevices).toEqual([
      { id: enrolling.body.device.id, name: u.device.name, enrolledAt: expect.any(String), sourceIp: '10.40.0.7' },
    ]);
    expect((await h.signIn(u)).body.newDevices).toEqual([]);

    // the binding is reset and someone enrols another PC: the owner is told at their next sign-in
    await h.req('POST', `/admin/users/${u.id}/devices/reset`, { token: await h.token(h.users.admin) });
    const other = newDeviceKey('KOE-PC-STRANGER');
    const stranger = await h.signIn(u, { device: other, ip: '203.0.113.5' });
    expect(stranger.body.device.enrolledNow).toBe(true);
    expect(stranger.body.newDevices).toEqual([]);
    const after = await h.signIn({ ...u, device: other });
    expect(after.body.newDevices).toEqual([expect.objectContaining({ name: 'KOE-PC-STRANGER', sourceIp: '203.0.113.5' })]);
  });

  it('GET /me/password-policy answers the org rules the gateway enforces', async () => {
    await h.patchPolicy({ password: { minLength: 14 } });
    try {
      const u = await h.newUser('operator');
      const token = (await h.signIn(u)).body.tokens.accessToken;
      const res = await h.req('GET', '/me/password-policy', { token });
      expect(res.body).toMatchObject({ username: u.username, policy: { minLength: 14, requireSymbol: true } });
      const short = await h.req('POST', '/me/password', { token, body: { currentPassword: u.password, newPassword: 'Short-Pass-1!' } });
      expect(short.body.error).toMatchObject({ code: 'password_policy', violations: ['too_short'] });
    } finally {
      await h.patchPolicy({ password: { minLength: 8 } });
    }
  });
});
