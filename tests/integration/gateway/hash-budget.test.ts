// The global password-hashing budget (HashBudget in server/auth/passwords.ts), on production
// argon2 parameters: many concurrent guessing clients from many addresses are shed with
// rate_limited + Retry-After before any hashing, while a sign-in that carries a valid proof
// of a device already enrolled for that user takes the priority lane and gets in. Timings
// are in the bench (tests/bench/password-budget.bench.ts); this asserts the behaviour.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashBudget } from '../../../server/auth/passwords';
import { PRODUCTION_ARGON2 } from '../../../server/config';
import { createUser } from '../../../server/orgs';
import { BACKENDS, newDeviceKey, PASSWORD, setup, type Harness, type Res } from './harness';

const GUESSERS = 40;

describe('HashBudget', () => {
  it('serves the priority lane first and sheds the normal lane beyond its queue', async () => {
    const budget = new HashBudget({ concurrency: 1, queue: 1, priorityQueue: 2, retryAfterSeconds: 3 });
    const order: string[] = [];
    let release!: () => void;
    const first = budget.run('normal', () => new Promise<void>((r) => (release = r)).then(() => order.push('n0')));
    const queuedNormal = budget.run('normal', async () => order.push('n1'));
    const shed = budget.run('normal', async () => order.push('n2')).catch((e) => e);
    const priority = budget.run('priority', async () => order.push('p1'));
    const err = await shed;
    expect(err).toMatchObject({ code: 'rate_limited', extra: { retryAfterSeconds: 3 } });
    release();
    await Promise.all([first, queuedNormal, priority]);
    expect(order).toEqual(['n0', 'p1', 'n1']);
    expect(budget.stats()).toMatchObject({ admitted: 3, priorityAdmitted: 1, shed: 1, running: 0 });
  });
});

describe.each(BACKENDS)('hashing budget under a guessing flood on %s', (backend) => {
  let h: Harness;
  const legit = { username: 'budget-legit', device: newDeviceKey('legit PC') };
  const victim = 'budget-other';
  beforeAll(async () => {
    h = await setup(backend, {
      argon2: PRODUCTION_ARGON2,
      passwordHashing: { concurrency: 2, queue: 4, priorityQueue: 16, retryAfterSeconds: 2 },
      trustedProxies: [],
    });
    await h.patchPolicy({ lockout: { maxFailures: 100 } });
    for (const username of [legit.username, victim]) {
      await createUser(h.gw.ctx, { orgId: h.orgId, username, displayName: username, role: 'operator', password: PASSWORD, passwordHash: await h.gw.ctx.hasher.hash(PASSWORD, 'priority') });
    }
    // the legitimate user's device is enrolled (first sign-in)
    const first = await h.signIn(legit);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.device.enrolledNow).toBe(true);
  }, 60_000);
  afterAll(async () => h?.close());

  it('sheds guesses before hashing while an enrolled-device sign-in gets in', async () => {
    const before = h.gw.ctx.hasher.budget.stats();
    const guess = (i: number): Promise<Res> => {
      const ip = `198.18.${i >> 8}.${i & 255}`;
      // a third bring a device proof of their own (unenrolled) key: no priority for that
      if (i % 3 === 0) return h.signIn({ username: victim, device: newDeviceKey() }, { password: `Guess-${i}!aA1`, ip });
      return h.signIn({ username: i % 3 === 1 ? victim : `ghost-${i}`, device: null }, { password: `Guess-${i}!aA1`, ip });
    };
    const flood = Array.from({ length: GUESSERS }, (_, i) => guess(i));
    // the legitimate sign-in starts while the gate is saturated
    await new Promise((r) => setImmediate(r));
    const legitRes = await h.signIn(legit, { ip: '10.0.0.50' });
    const results = await Promise.all(flood);

    expect(legitRes.status, JSON.stringify(legitRes.body)).toBe(200);
    const shed = results.filter((r) => r.status === 429);
    const answered = results.filter((r) => r.status === 401);
    expect(shed.length + answered.length).toBe(GUESSERS);
    expect(shed.length).toBeGreaterThan(GUESSERS / 2);
    for (const r of shed) {
      expect(r.body.error.code).toBe('rate_limited');
      expect(r.headers['retry-after']).toBe('2');
    }
    for (const r of answered) expect(r.body.error.code).toBe('invalid_credentials');
    const after = h.gw.ctx.hasher.budget.stats();
    // shed requests did no hashing: every admission is an answered guess or the legit sign-in
    expect(after.admitted - before.admitted).toBe(answered.length + 1);
    expect(after.priorityAdmitted - before.priorityAdmitted).toBe(1);
    expect(after.shed - before.shed).toBe(shed.length);
    console.info(`[hash budget ${backend}] ${GUESSERS} concurrent guesses: ${answered.length} hashed, ${shed.length} shed; enrolled-device sign-in ${legitRes.status}`);
  }, 60_000);
});
