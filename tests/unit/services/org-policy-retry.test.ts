// The org's client policy is fetched after sign-in and retried (jittered, capped backoff)
// until it arrives; meanwhile the stricter of the known values applies (managed policy, the
// last org policy received, the defaults), never the looser; once it arrives, it applies.
// Whoever applies the policy (the idle lock, capture protection) reads the same effective value.
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { wireEvents } from '../../../main/services';
import { OrgPolicyFetcher } from '../../../main/services/org-policy';
import { ORG_DEFAULTS, PolicyService } from '../../../main/services/policy';
import { RECONNECT_BACKOFF } from '../../../shared/backoff';
import { GatewayCallError } from '../../../shared/gateway-client';
import type { OrgClientPolicy } from '../../../shared/gateway/policy';
import type { FakePowerMonitor } from '../../../main/lock/idle-monitor';
import { memoryKeytar } from '../../support/memory-keytar';
import { makeServices, recordingLogger } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(() => vi.useRealTimers());

/** Timers the test fires by hand, in order. */
function manualTimers() {
  const queue: { fn: () => void; ms: number; id: number }[] = [];
  let id = 0;
  return {
    queue,
    setTimeout: (fn: () => void, ms: number) => (queue.push({ fn, ms, id: ++id }), id),
    clearTimeout: (h: unknown) => {
      const i = queue.findIndex((t) => t.id === h);
      if (i >= 0) queue.splice(i, 1);
    },
    async fire() {
      const t = queue.shift();
      if (!t) throw new Error('no timer to fire');
      t.fn();
      await flush();
    },
  };
}
const flush = () => new Promise((r) => setImmediate(r));
const unreachable = () => new GatewayCallError('unreachable', 'The gateway did not answer: connect ECONNREFUSED 10.0.0.1:443 token=abc');

describe('OrgPolicyFetcher + PolicyService', () => {
  it('fails twice then succeeds: the stricter known values hold meanwhile, then the org’s value applies; failures are logged', async () => {
    // IT's file is looser than the defaults; the last org policy this process saw was stricter
    const policy = new PolicyService({ idleTimeoutSeconds: 3600, contentProtection: false }, {});
    policy.setOrg({ idleTimeoutSeconds: 120, contentProtection: true, blurOnFocusLoss: true });
    policy.setOrg(null); // signed out
    expect(policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 3600, contentProtection: false, blurOnFocusLoss: false });

    const answers: (() => Promise<OrgClientPolicy>)[] = [
      async () => Promise.reject(unreachable()),
      async () => Promise.reject(new GatewayCallError('bad_response', 'x')),
      async () => ({ idleTimeoutSeconds: 900, contentProtection: false, blurOnFocusLoss: false }),
    ];
    const timers = manualTimers();
    const { log, records } = recordingLogger();
    const seen: number[] = [];
    policy.onChange((e) => seen.push(e.policy.idleTimeoutSeconds));
    const fetcher = new OrgPolicyFetcher({ fetch: () => answers.shift()!(), policy, timers, random: () => 0.5, log });

    fetcher.start();
    expect(policy.orgPending()).toBe(true);
    expect(policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 120, contentProtection: true, blurOnFocusLoss: true });
    await flush();
    expect(records).toEqual([
      { level: 'warn', message: 'fetching the org client policy (the stricter known values apply meanwhile) failed', fields: { attempt: 1, retryInMs: 250, error: 'GatewayCallError', code: 'unreachable' } },
    ]);
    expect(JSON.stringify(records)).not.toContain('token=abc'); // the message is not logged
    expect(timers.queue.map((t) => t.ms)).toEqual([250]);
    expect(policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 120, contentProtection: true, blurOnFocusLoss: true });

    await timers.fire();
    expect(records).toHaveLength(2);
    expect(records[1]!.fields).toMatchObject({ attempt: 2, retryInMs: 500, code: 'bad_response' });
    expect(policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 120, contentProtection: true, blurOnFocusLoss: true });

    await timers.fire();
    expect(policy.orgPending()).toBe(false);
    expect(policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 900, contentProtection: false, blurOnFocusLoss: false });
    expect(timers.queue).toEqual([]);
    expect(records).toHaveLength(2);
    expect(seen).toEqual([120, 900]);
  });

  it('with no org policy known yet, the defaults stand in (never the managed file’s looser values)', async () => {
    const policy = new PolicyService({ idleTimeoutSeconds: 7200, contentProtection: false }, {});
    const timers = manualTimers();
    const fetcher = new OrgPolicyFetcher({ fetch: async () => Promise.reject(unreachable()), policy, timers, log: recordingLogger().log });
    fetcher.start();
    await flush();
    expect(policy.effective().policy).toMatchObject({ idleTimeoutSeconds: ORG_DEFAULTS.idleTimeoutSeconds, contentProtection: true });
  });

  it('property: a fetch that never succeeds never loosens anything, retries stay jittered and capped, every failure is logged', async () => {
    const org = fc.record({ idleTimeoutSeconds: fc.integer({ min: 30, max: 86_400 }), contentProtection: fc.boolean(), blurOnFocusLoss: fc.boolean() });
    const managed = fc.record({ idleTimeoutSeconds: fc.integer({ min: 30, max: 86_400 }), contentProtection: fc.boolean(), blurOnFocusLoss: fc.boolean() }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(managed, fc.option(org, { nil: null }), fc.integer({ min: 1, max: 15 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1 }), async (m, last, failures, draws) => {
        const policy = new PolicyService(m, {});
        if (last) (policy.setOrg(last), policy.setOrg(null));
        const local = policy.effective().policy;
        const bound = {
          idle: Math.min(local.idleTimeoutSeconds, ORG_DEFAULTS.idleTimeoutSeconds, last?.idleTimeoutSeconds ?? Infinity),
          blur: local.blurOnFocusLoss || Boolean(last?.blurOnFocusLoss),
        };
        const timers = manualTimers();
        const { log, records } = recordingLogger();
        let i = 0;
        const fetcher = new OrgPolicyFetcher({ fetch: async () => Promise.reject(unreachable()), policy, timers, random: () => draws[i++ % draws.length]!, log });
        fetcher.start();
        await flush();
        for (let n = 1; n <= failures; n++) {
          const p = policy.effective().policy;
          expect(p.idleTimeoutSeconds).toBeLessThanOrEqual(bound.idle);
          expect(p.contentProtection).toBe(true);
          expect(p.blurOnFocusLoss).toBe(bound.blur);
          expect(records).toHaveLength(n);
          const wait = timers.queue[0]!.ms;
          expect(wait).toBeGreaterThanOrEqual(0);
          expect(wait).toBeLessThanOrEqual(Math.min(RECONNECT_BACKOFF.capMs, RECONNECT_BACKOFF.baseMs * 2 ** (n - 1)));
          await timers.fire();
        }
        fetcher.stop();
        expect(timers.queue).toEqual([]);
      }),
      { numRuns: 40 },
    );
  }, 30_000);

  it('an answer for an ended session is dropped, and stop() ends the retries', async () => {
    const policy = new PolicyService({}, {});
    const timers = manualTimers();
    let release: (o: OrgClientPolicy) => void = () => undefined;
    const fetcher = new OrgPolicyFetcher({ fetch: () => new Promise((r) => (release = r)), policy, timers, log: recordingLogger().log });
    fetcher.start();
    fetcher.stop();
    policy.setOrg(null);
    release({ idleTimeoutSeconds: 3000, contentProtection: false, blurOnFocusLoss: false });
    await flush();
    expect(policy.orgPending()).toBe(false);
    expect(policy.effective().policy.idleTimeoutSeconds).toBe(300);
    expect(timers.queue).toEqual([]);
  });
});

describe('the real services: sign-in, a failing org policy fetch, the idle lock and capture protection', () => {
  it('the idle lock and capture protection follow the stricter value until the org answers, then the org’s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // port 9 (discard): the gateway link's socket is refused at once; the jitter pinned to the
    // top of each window (the retries come at exactly 500 ms, then 1 s later)
    const s = await makeServices({ keytar: memoryKeytar(), managedPolicy: { gatewayUrl: 'http://127.0.0.1:9', idleTimeoutSeconds: 3600, contentProtection: false }, random: () => 1 });
    dirs.push(s.userDataDir);
    const policyAnswers: (() => unknown)[] = [
      () => ({ idleTimeoutSeconds: 120, contentProtection: true, blurOnFocusLoss: false }), // first session
      () => Promise.reject(unreachable()),
      () => Promise.reject(unreachable()),
      () => ({ idleTimeoutSeconds: 1800, contentProtection: false, blurOnFocusLoss: false }),
    ];
    const expiresAt = () => new Date(s.clock.now() + 15 * 60_000).toISOString();
    (s.gateway as unknown as { call: (n: string) => Promise<unknown> }).call = async (name) => {
      if (name === 'challenge') return { challenge: 'c'.repeat(43), expiresAt: expiresAt() };
      if (name === 'signIn')
        return {
          tokens: { accessToken: 'access-token-0123456789', accessTokenExpiresAt: expiresAt(), refreshToken: 'refresh-token-0123456789', absoluteExpiresAt: expiresAt() },
          user: { id: '33333333-3333-4333-8333-333333333333', username: 'op-1', displayName: '佐藤 花子', role: 'operator', permissions: ['calls:handle'] },
          device: null,
          totpEnrolmentRequired: false,
          passwordChangeRequired: false,
          recoveryCodeUsed: false,
          newDevices: [],
        };
      if (name === 'clientPolicy') return policyAnswers.shift()!();
      if (name === 'signOut' || name === 'lockEvent') return { ok: true };
      throw new Error(`unscripted gateway call ${name}`);
    };
    const protection: boolean[] = [];
    wireEvents(s, (event, payload) => {
      if (event === 'policy:changed') protection.push((payload as { policy: { contentProtection: boolean } }).policy.contentProtection);
    });
    const power = s.deps.power as FakePowerMonitor;
    const idleLocks = (seconds: number) => {
      power.idleSeconds = seconds;
      s.idle.check();
      const locked = s.lock.current().locked;
      s.lock.unlock();
      return locked;
    };
    try {
      await s.session.signIn({ username: 'op-1', password: 'pw-pw-pw-pw' });
      await vi.advanceTimersByTimeAsync(0);
      expect(s.policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 120, contentProtection: true });
      await s.session.signOut();
      expect(s.policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 3600, contentProtection: false });

      protection.length = 0;
      await s.session.signIn({ username: 'op-1', password: 'pw-pw-pw-pw' });
      await vi.advanceTimersByTimeAsync(0);
      // pending: the last org policy (120 s, protection on) beats the managed file's 3600 s / off
      expect(idleLocks(121)).toBe(true);
      expect(protection.at(-1)).toBe(true);
      expect(s.policy.orgPending()).toBe(true);
      await vi.advanceTimersByTimeAsync(RECONNECT_BACKOFF.baseMs); // first retry (fails: the second is 1 s away)
      expect(idleLocks(121)).toBe(true);
      expect(s.policy.orgPending()).toBe(true);
      expect(protection.length).toBeGreaterThan(0);
      expect(protection).not.toContain(false); // never off while the org has not answered
      await vi.advanceTimersByTimeAsync(RECONNECT_BACKOFF.baseMs * 2); // second retry (succeeds)
      expect(s.policy.orgPending()).toBe(false);
      expect(s.policy.effective().policy).toMatchObject({ idleTimeoutSeconds: 1800, contentProtection: false });
      expect(idleLocks(1799)).toBe(false);
      expect(idleLocks(1800)).toBe(true);
      expect(protection.at(-1)).toBe(false); // the org's own value, once it arrived
    } finally {
      await s.session.signOut();
    }
    const lines = stderr.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"scope":"org-policy"'));
    stderr.mockRestore();
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ level: 'warn', code: 'unreachable' });
  });
});
