import type { LockService } from './lock-service';
import { type Intervals } from '../timers';

/** The powerMonitor events Koe listens to: the OS lock screen and suspend lock; resume starts main/session/resume.ts. */
export type PowerEvent = 'lock-screen' | 'suspend' | 'resume';

/**
 * What Koe needs from Electron's powerMonitor. Electron's object satisfies it; the dev host
 * and tests pass a fake whose idle time they set (OS idle time cannot be produced here).
 */
export interface PowerMonitorLike {
  getSystemIdleTime(): number;
  on(event: PowerEvent, listener: () => void): unknown;
  removeListener(event: PowerEvent, listener: () => void): unknown;
}

export type Timers = Intervals;

/**
 * Enforces the idle lock from main: polls the system idle time against the policy's timeout,
 * and locks at once on the OS lock screen and on suspend. The renderer cannot keep itself
 * unlocked: it is only told.
 */
export class IdleMonitor {
  private handle: unknown = null;
  private readonly onLockScreen = () => this.lock.lock('os-lock');
  private readonly onSuspend = () => this.lock.lock('suspend');

  constructor(
    private readonly power: PowerMonitorLike,
    private readonly lock: LockService,
    private readonly timeoutSeconds: () => number,
    private readonly timers: Timers = { setInterval: (f, ms) => setInterval(f, ms), clearInterval: (h) => clearInterval(h as NodeJS.Timeout) },
    private readonly pollMs = 5_000,
  ) {}

  start(): void {
    if (this.handle !== null) return;
    this.power.on('lock-screen', this.onLockScreen);
    this.power.on('suspend', this.onSuspend);
    this.handle = this.timers.setInterval(() => this.check(), this.pollMs);
  }

  /** One poll: exposed so tests and the dev host can drive it without waiting. */
  check(): void {
    if (this.power.getSystemIdleTime() >= this.timeoutSeconds()) this.lock.lock('idle');
  }

  stop(): void {
    if (this.handle === null) return;
    this.timers.clearInterval(this.handle);
    this.handle = null;
    this.power.removeListener('lock-screen', this.onLockScreen);
    this.power.removeListener('suspend', this.onSuspend);
  }
}

/** The dev host's stand-in for powerMonitor: idle time is whatever the test sets. */
export class FakePowerMonitor implements PowerMonitorLike {
  idleSeconds = 0;
  private listeners = new Map<string, Set<() => void>>();
  getSystemIdleTime(): number {
    return this.idleSeconds;
  }
  on(event: PowerEvent, listener: () => void) {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return this;
  }
  removeListener(event: PowerEvent, listener: () => void) {
    this.listeners.get(event)?.delete(listener);
    return this;
  }
  emit(event: PowerEvent): void {
    for (const l of this.listeners.get(event) ?? []) l();
  }
}
