// Every route that checks a password or a TOTP code after sign-in goes through one helper
// (verifySecretFor in server/auth/sign-in-helpers.ts): a locked account is refused even the
// right secret, and guesses on any of them count toward the same lockout as sign-in (the
// lock then ends the user's sessions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../server/auth/totp';
import { BACKENDS, setup, type Harness, type Res, type TestUser } from './harness';

const NEW_PASSWORD = 'Momiji-Koe-2026!?';

interface Prepared {
  u: TestUser;
  token: string;
  secret: string | null;
}
interface SecretRoute {
  /** TOTP on (for disable / recovery codes) or an enrolment started (confirm). */
  prep: 'none' | 'totpOn' | 'enrolStarted';
  call: (h: Harness, p: Prepared, right: boolean) => Promise<Res>;
}

const code = (h: Harness, p: Prepared, right: boolean) => (right ? totpCode(p.secret!, h.clock.now()) : '000000');

const ROUTES: Record<string, SecretRoute> = {
  reverify: {
    prep: 'none',
    call: (h, p, right) => h.req('POST', '/me/reverify', { token: p.token, body: { password: right ? p.u.password : 'Wrong-Pass-1!' } }),
  },
  changePassword: {
    prep: 'none',
    call: (h, p, right) =>
      h.req('POST', '/me/password', { token: p.token, body: { currentPassword: right ? p.u.password : 'Wrong-Pass-1!', newPassword: NEW_PASSWORD } }),
  },
  totpConfirm: {
    prep: 'enrolStarted',
    call: (h, p, right) => h.req('POST', '/me/totp/confirm', { token: p.token, body: { code: code(h, p, right) } }),
  },
  totpDisable: {
    prep: 'totpOn',
    call: (h, p, right) => h.req('POST', '/me/totp/disable', { token: p.token, body: { password: p.u.password, code: code(h, p, right) } }),
  },
  recoveryCodes: {
    prep: 'totpOn',
    call: (h, p, right) => h.req('POST', '/me/totp/recovery-codes', { token: p.token, body: { code: code(h, p, right) } }),
  },
};

describe.each(BACKENDS)('lockout on every route that checks a secret, on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  async function prepare(kind: SecretRoute['prep']): Promise<Prepared> {
    const u = await h.newUser('operator');
    let token = (await h.signIn(u)).body.tokens.accessToken;
    let secret: string | null = null;
    if (kind !== 'none') {
      const start = await h.req('POST', '/me/totp/enrol', { token });
      secret = start.body.secret;
      if (kind === 'totpOn') {
        expect((await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(secret!, h.clock.now()) } })).status).toBe(200);
        h.clock.advance(30_000);
        token = (await h.signIn(u, { totp: totpCode(secret!, h.clock.now()) })).body.tokens.accessToken;
        h.clock.advance(30_000);
      }
    }
    return { u, token, secret };
  }

  for (const [name, r] of Object.entries(ROUTES)) {
    it(`${name}: refused while the account is locked, even with the right secret`, async () => {
      const p = await prepare(r.prep);
      for (let i = 0; i < 5; i++) await h.signIn(p.u, { password: 'Wrong-Pass-1!', device: null });
      expect((await h.signIn(p.u, { device: null })).body.error.code).toBe('account_locked');
      const res = await r.call(h, p, true);
      expect(res.status, JSON.stringify(res.body)).toBe(423);
      expect(res.body.error.code).toBe('account_locked');
      // and nothing changed: after the lock ends the right secret works
      h.clock.advanceMinutes(31);
      const fresh = await h.signIn(p.u, r.prep === 'totpOn' ? { totp: totpCode(p.secret!, h.clock.now()) } : {});
      expect(fresh.status).toBe(200);
      h.clock.advance(30_000); // the sign-in used this time step
      const after = await r.call(h, { ...p, token: fresh.body.tokens.accessToken }, true);
      expect(after.status, JSON.stringify(after.body)).toBe(200);
    });

    it(`${name}: guesses count toward lockout, which then ends the user's sessions`, async () => {
      const p = await prepare(r.prep);
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await r.call(h, p, false);
        codes.push(res.body.error.code);
      }
      expect(new Set(codes).size).toBe(1);
      expect(['invalid_credentials', 'totp_invalid']).toContain(codes[0]);
      const fifth = await r.call(h, p, false);
      expect(fifth.status, JSON.stringify(fifth.body)).toBe(423);
      expect(fifth.body.error.code).toBe('account_locked');
      expect((await h.signIn(p.u, { device: null })).body.error.code).toBe('account_locked');
      expect((await h.req('GET', '/me', { token: p.token })).body.error.code).toBe('session_revoked');
      h.clock.advanceMinutes(31);
    });
  }
});
