// Idle-screen unlock re-verification and lock events: the password again (+TOTP), failures
// count toward lockout, and a lockout at the locked screen ends every session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../server/auth/totp';
import { BACKENDS, PASSWORD, setup, type Harness } from './harness';

describe.each(BACKENDS)('screen lock and re-verification on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  it('records lock events and accepts the right password (audited)', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    expect((await h.req('POST', '/me/lock', { token, body: { reason: 'idle' } })).status).toBe(200);
    expect((await h.req('POST', '/me/lock', { token, body: { reason: 'coffee' } })).body.error.code).toBe('validation_failed');
    expect((await h.req('POST', '/me/reverify', { token, body: { password: PASSWORD } })).status).toBe(200);
    expect(await h.auditActions({ targetId: u.id })).toEqual(expect.arrayContaining(['session.locked', 'session.unlocked']));
  });

  it('locks the account and ends all sessions after repeated wrong passwords', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    for (let i = 0; i < 4; i++) {
      expect((await h.req('POST', '/me/reverify', { token, body: { password: 'Wrong-Pass-1!' } })).body.error.code).toBe('invalid_credentials');
    }
    const fifth = await h.req('POST', '/me/reverify', { token, body: { password: 'Wrong-Pass-1!' } });
    expect(fifth.status).toBe(423);
    expect((await h.req('GET', '/me', { token })).body.error.code).toBe('session_revoked');
    expect((await h.signIn(u)).body.error.code).toBe('account_locked');
  });

  it('requires a fresh TOTP code when the user has TOTP', async () => {
    const u = await h.newUser('operator');
    const token = await h.token(u);
    const start = await h.req('POST', '/me/totp/enrol', { token });
    await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(start.body.secret, h.clock.now()) } });
    expect((await h.req('POST', '/me/reverify', { token, body: { password: PASSWORD } })).body.error.code).toBe('totp_required');
    const replay = totpCode(start.body.secret, h.clock.now());
    expect((await h.req('POST', '/me/reverify', { token, body: { password: PASSWORD, totp: replay } })).body.error.code).toBe('totp_invalid');
    h.clock.advance(30_000);
    const ok = await h.req('POST', '/me/reverify', { token, body: { password: PASSWORD, totp: totpCode(start.body.secret, h.clock.now()) } });
    expect(ok.status).toBe(200);
  });
});
