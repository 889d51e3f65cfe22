// Production argon2id parameters: the stored format, the equal-time answer for unknown
// users vs wrong passwords (dummy-hash verification), and re-hashing of older hashes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../../server/auth/passwords';
import { PRODUCTION_ARGON2, TEST_ARGON2 } from '../../../server/config';
import { createUser } from '../../../server/orgs';
import { BACKENDS, PASSWORD, setup, type Harness } from './harness';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.each(BACKENDS)('argon2id on production parameters on %s', (backend) => {
  let h: Harness;
  let userId: string;
  beforeAll(async () => {
    h = await setup(backend, { argon2: PRODUCTION_ARGON2 });
    await h.patchPolicy({ lockout: { maxFailures: 100 }, deviceBindingRoles: [] });
    userId = await createUser(h.gw.ctx, { orgId: h.orgId, username: 'timing-user', displayName: '時間 計', role: 'operator', password: PASSWORD });
  });
  afterAll(async () => h?.close());

  it('stores argon2id with m=64 MiB, t=3, p=1 and verifies it', async () => {
    const row = await h.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=1\$/);
    expect((await h.signIn({ username: 'timing-user', device: null })).status).toBe(200);
  });

  it('takes the same time for an unknown username as for a wrong password', async () => {
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      const a = await h.signIn({ username: 'timing-user', device: null }, { password: `Wrong-Pass-${i}!` });
      wrong.push(performance.now() - t);
      t = performance.now();
      const b = await h.signIn({ username: `timing-ghost-${i}`, device: null }, { password: `Wrong-Pass-${i}!` });
      unknown.push(performance.now() - t);
      expect(a.body).toEqual(b.body);
    }
    const ratio = median(unknown) / median(wrong);
    console.info(`[argon2 timing ${backend}] wrong password median ${median(wrong).toFixed(1)} ms, unknown user median ${median(unknown).toFixed(1)} ms`);
    // Without the dummy hash an unknown user answers in a few ms against ~100+ ms.
    expect(median(wrong)).toBeGreaterThan(20);
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);
  });

  it('re-hashes a password stored with older parameters at the next sign-in', async () => {
    const cheap = await new PasswordHasher(TEST_ARGON2).hash(PASSWORD);
    const id = await createUser(h.gw.ctx, { orgId: h.orgId, username: 'old-hash-user', displayName: '古い', role: 'operator', password: PASSWORD, passwordHash: cheap });
    expect((await h.signIn({ username: 'old-hash-user', device: null })).status).toBe(200);
    const row = await h.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/m=65536,t=3,p=1/);
  });
});
