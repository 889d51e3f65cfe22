// One TOTP code opens one thing once, even when used concurrently: the time step is consumed
// with a conditional UPDATE (consumeTotpStep in server/auth/sign-in-helpers.ts), so of N
// simultaneous sign-ins (or unlocks) with the same code exactly one succeeds. Recovery
// codes likewise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../server/auth/totp';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const N = 6;

describe.each(BACKENDS)('TOTP steps are consumed atomically on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
    // the losers' failures must not lock the account mid-test
    await h.patchPolicy({ lockout: { maxFailures: 50 } });
  });
  afterAll(async () => h?.close());

  async function withTotp(): Promise<{ u: TestUser; secret: string; recoveryCodes: string[] }> {
    const u = await h.newUser('operator');
    const token = (await h.signIn(u)).body.tokens.accessToken;
    const start = await h.req('POST', '/me/totp/enrol', { token });
    const confirm = await h.req('POST', '/me/totp/confirm', { token, body: { code: totpCode(start.body.secret, h.clock.now()) } });
    expect(confirm.status).toBe(200);
    h.clock.advance(30_000);
    return { u, secret: start.body.secret, recoveryCodes: confirm.body.recoveryCodes };
  }

  const liveSessions = async (userId: string) =>
    (await h.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute()).length;

  it(`${N} concurrent sign-ins with one code open exactly one session`, async () => {
    const { u, secret } = await withTotp();
    const before = await liveSessions(u.id);
    const code = totpCode(secret, h.clock.now());
    const results = await Promise.all(Array.from({ length: N }, () => h.signIn(u, { totp: code })));
    const ok = results.filter((r) => r.status === 200);
    expect(ok, JSON.stringify(results.map((r) => r.body.error?.code ?? r.status))).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.body.error.code).toBe('totp_invalid');
    expect(await liveSessions(u.id)).toBe(before + 1);
  });

  it(`${N} concurrent unlocks (reverify) with one code: exactly one succeeds`, async () => {
    const { u, secret } = await withTotp();
    const token = (await h.signIn(u, { totp: totpCode(secret, h.clock.now()) })).body.tokens.accessToken;
    h.clock.advance(30_000);
    const code = totpCode(secret, h.clock.now());
    const results = await Promise.all(
      Array.from({ length: N }, () => h.req('POST', '/me/reverify', { token, body: { password: u.password, totp: code } })),
    );
    expect(results.filter((r) => r.status === 200), JSON.stringify(results.map((r) => r.body))).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.body.error.code).toBe('totp_invalid');
  });

  it('a code used for an unlock cannot then open a sign-in (one store of used steps)', async () => {
    const { u, secret } = await withTotp();
    const token = (await h.signIn(u, { totp: totpCode(secret, h.clock.now()) })).body.tokens.accessToken;
    h.clock.advance(30_000);
    const code = totpCode(secret, h.clock.now());
    expect((await h.req('POST', '/me/reverify', { token, body: { password: u.password, totp: code } })).status).toBe(200);
    expect((await h.signIn(u, { totp: code })).body.error.code).toBe('totp_invalid');
  });

  it(`${N} concurrent sign-ins with one recovery code open exactly one session`, async () => {
    const { u, recoveryCodes } = await withTotp();
    const before = await liveSessions(u.id);
    const results = await Promise.all(Array.from({ length: N }, () => h.signIn(u, { recoveryCode: recoveryCodes[0]! })));
    expect(results.filter((r) => r.status === 200), JSON.stringify(results.map((r) => r.body.error?.code ?? r.status))).toHaveLength(1);
    expect(await liveSessions(u.id)).toBe(before + 1);
  });
});
