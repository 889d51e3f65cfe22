import fs from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { makeServices, type TestServices } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function lockService(): Promise<TestServices> {
  const s = await makeServices();
  dirs.push(s.userDataDir);
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
});
