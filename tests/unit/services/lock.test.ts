import fs from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { makeServices, signedInAs, type TestServices } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Main's services with a signed-in session (what the lock guards). */
async function lockService(): Promise<TestServices> {
  const s = await makeServices();
  dirs.push(s.userDataDir);
  signedInAs(s);
  return s;
}

describe('LockService', () => {
  it('starts unlocked', async () => {
    const { lock } = await lockService();
    expect(lock.current()).toEqual({ locked: false, reason: null, since: null });
  });

  it.each(['idle', 'os-lock', 'suspend', 'manual'] as const)('locks for %s, stamped with the clock', async (reason) => {
    const { lock, clock } = await lockService();
    expect(lock.lock(reason)).toEqual({ locked: true, reason, since: clock.now() });
  });

  it('emits once per change: a second lock keeps the first reason and time and emits nothing', async () => {
    const { lock, clock } = await lockService();
    const listener = vi.fn();
    lock.onChange(listener);
    const first = lock.lock('idle');
    clock.advance(5_000);
    expect(lock.lock('manual')).toEqual(first);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith(first);
  });

  it('unlock clears the state and emits once; unlocking when unlocked emits nothing', async () => {
    const { lock } = await lockService();
    const listener = vi.fn();
    lock.onChange(listener);
    lock.unlock();
    expect(listener).not.toHaveBeenCalled();
    lock.lock('os-lock');
    expect(lock.unlock()).toEqual({ locked: false, reason: null, since: null });
    lock.unlock();
    expect(listener.mock.calls.map(([s]) => s.locked)).toEqual([true, false]);
  });

  it('unsubscribe stops events', async () => {
    const { lock } = await lockService();
    const listener = vi.fn();
    const off = lock.onChange(listener);
    off();
    lock.lock('manual');
    expect(listener).not.toHaveBeenCalled();
  });

  it('current() is a copy: a caller cannot unlock by mutating it', async () => {
    const { lock } = await lockService();
    lock.lock('idle');
    (lock.current() as { locked: boolean }).locked = false;
    expect(lock.current().locked).toBe(true);
  });

  it('never locks while nobody is signed in (idle, the OS lock screen, a suspend, the button): the sign-in screen stays the way in', async () => {
    const s = await makeServices();
    dirs.push(s.userDataDir);
    const listener = vi.fn();
    s.lock.onChange(listener);
    for (const reason of ['idle', 'os-lock', 'suspend', 'manual'] as const) {
      expect(s.lock.lock(reason)).toEqual({ locked: false, reason: null, since: null });
    }
    expect(listener).not.toHaveBeenCalled();
  });

  it.each(['expired', 'revoked', 'signed-out'] as const)('a session that ends while locked (%s) lifts the lock after its data is cleared: the next screen is the sign-in', async (why) => {
    const s = await lockService();
    const order: string[] = [];
    s.session.holdsUserData('probe', () => void order.push(`cleared (locked: ${s.lock.current().locked})`));
    s.lock.onChange((st) => order.push(`lock ${st.locked}`));
    s.lock.lock('idle');
    await s.session.end(why);
    expect(s.lock.current()).toEqual({ locked: false, reason: null, since: null });
    expect(order).toEqual(['lock true', 'cleared (locked: true)', 'lock false']);
  });
});
