import { describe, expect, it } from 'vitest';
import { FakePowerMonitor, IdleMonitor } from '../../../main/lock/idle-monitor';
import { LockService } from '../../../main/lock/lock-service';

function setup(timeout = 300) {
  const power = new FakePowerMonitor();
  const lock = new LockService({ now: () => 42 });
  const intervals: (() => void)[] = [];
  const monitor = new IdleMonitor(power, lock, () => timeout, {
    setInterval: (fn) => (intervals.push(fn), intervals.length),
    clearInterval: () => void intervals.splice(0),
  });
  return { power, lock, monitor, tick: () => intervals.forEach((f) => f()), intervals };
}

describe('IdleMonitor (main enforces the idle lock)', () => {
  it('locks when system idle time reaches the policy timeout, not before', () => {
    const { power, lock, monitor, tick } = setup(300);
    monitor.start();
    power.idleSeconds = 299;
    tick();
    expect(lock.current().locked).toBe(false);
    power.idleSeconds = 300;
    tick();
    expect(lock.current()).toEqual({ locked: true, reason: 'idle', since: 42 });
  });

  it.each([
    ['lock-screen', 'os-lock'],
    ['suspend', 'suspend'],
  ] as const)('locks at once on the OS %s event', (event, reason) => {
    const { power, lock, monitor } = setup();
    monitor.start();
    power.emit(event);
    expect(lock.current()).toMatchObject({ locked: true, reason });
  });

  it('stops polling and listening when stopped', () => {
    const { power, lock, monitor, intervals } = setup();
    monitor.start();
    monitor.stop();
    expect(intervals).toHaveLength(0);
    power.emit('lock-screen');
    expect(lock.current().locked).toBe(false);
  });

  it('follows a policy change of the timeout on the next poll', () => {
    let timeout = 600;
    const power = new FakePowerMonitor();
    const lock = new LockService({ now: () => 1 });
    const monitor = new IdleMonitor(power, lock, () => timeout);
    power.idleSeconds = 400;
    monitor.check();
    expect(lock.current().locked).toBe(false);
    timeout = 300;
    monitor.check();
    expect(lock.current().locked).toBe(true);
  });
});
