import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { wireEvents, type MainServices } from '../../../main/services';
import type { EffectivePolicy, LockState } from '../../../shared/ipc/contract';
import { makeServices, signedInAs } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Services whose lock and policy emit whatever the test tells them to (to prove main checks what it sends). */
function controllableServices() {
  const lockListeners = new Set<(s: LockState) => void>();
  const policyListeners = new Set<(p: EffectivePolicy) => void>();
  const services = {
    lock: { onChange: (l: (s: LockState) => void) => (lockListeners.add(l), () => lockListeners.delete(l)) },
    policy: { onChange: (l: (p: EffectivePolicy) => void) => (policyListeners.add(l), () => policyListeners.delete(l)) },
    session: { onChange: () => () => undefined },
    agent: { onChange: () => () => undefined, onNotice: () => () => undefined, onHangUp: () => () => undefined, onCard: () => () => undefined },
    supervision: { onEvent: () => () => undefined },
    link: { onStatus: () => () => undefined, onAlert: () => () => undefined },
    outbox: { onChange: () => () => undefined, onSettled: () => () => undefined },
    resume: { onChange: () => () => undefined },
    shortcuts: { onPressed: () => () => undefined },
    updates: { onChange: () => () => undefined },
  } as unknown as MainServices;
  const emitLock = (s: unknown) => lockListeners.forEach((l) => l(s as LockState));
  const emitPolicy = (p: unknown) => policyListeners.forEach((l) => l(p as EffectivePolicy));
  return { services, emitLock, emitPolicy, lockListeners, policyListeners };
}

describe('wireEvents', () => {
  it('forwards real lock and policy changes to the renderer', async () => {
    const s = await makeServices();
    dirs.push(s.userDataDir);
    const sent: [string, unknown][] = [];
    wireEvents(s, (event, payload) => sent.push([event, payload]));
    signedInAs(s); // what the lock guards
    s.lock.lock('manual');
    s.policy.setUser({ language: 'en' });
    expect(sent.map(([e]) => e)).toEqual(['lock:changed', 'policy:changed']);
    expect(sent[0]![1]).toEqual({ locked: true, reason: 'manual', since: s.clock.now() });
    expect(sent[1]![1]).toMatchObject({ policy: { language: 'en' }, managedKeys: [] });
  });

  it('forwards the updater’s status (a check under a managed policy that turned updates off)', async () => {
    const s = await makeServices({ managedPolicy: { updates: 'disabled' } });
    dirs.push(s.userDataDir);
    const sent: [string, unknown][] = [];
    wireEvents(s, (event, payload) => sent.push([event, payload]));
    await s.updates.check();
    expect(sent).toEqual([['updates:changed', { state: 'disabled' }]]);
  });

  it.each([
    ['lock', { locked: 'yes', reason: null, since: null }],
    ['lock', { locked: true, reason: 'idle', since: 1, token: 'secret' }],
    ['policy', { policy: { language: 'fr' }, managedKeys: [] }],
    ['policy', { policy: {}, managedKeys: 'language' }],
    ['policy', { policy: {}, managedKeys: [], refreshToken: 'secret' }],
  ] as const)('an invalid %s payload %j is not sent', (which, payload) => {
    const c = controllableServices();
    const sent: unknown[] = [];
    wireEvents(c.services, (event, p) => sent.push([event, p]));
    if (which === 'lock') c.emitLock(payload);
    else c.emitPolicy(payload);
    expect(sent).toEqual([]);
  });

  it('a valid payload from the same source is sent', () => {
    const c = controllableServices();
    const sent: unknown[] = [];
    wireEvents(c.services, (event, p) => sent.push([event, p]));
    c.emitLock({ locked: true, reason: 'idle', since: 1 });
    expect(sent).toEqual([['lock:changed', { locked: true, reason: 'idle', since: 1 }]]);
  });

  it('the returned function unwires every listener', () => {
    const c = controllableServices();
    const off = wireEvents(c.services, () => undefined);
    expect(c.lockListeners.size + c.policyListeners.size).toBe(2);
    off();
    expect(c.lockListeners.size + c.policyListeners.size).toBe(0);
  });
});
