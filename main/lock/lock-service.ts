import type { LockState } from '../../shared/ipc/contract';

export interface Clock {
  now(): number;
}

/**
 * The lock state is decided here, in main, never by the renderer. While locked, main refuses
 * customer-data and token channels; the renderer only mirrors the state it is sent.
 *
 * The lock guards a signed-in user's session and data, and is only ever lifted by re-verifying
 * that user. With no session there is nothing to guard and nobody to re-verify: the sign-in
 * screen is the way in. So `lock()` does nothing while `guards()` says there is no session
 * (idle, the OS lock screen or a suspend while signed out), and the session's end lifts a lock
 * (`release`: a session that expired or was revoked while locked leads to the sign-in, never to
 * a lock screen nobody can open). Wired in main/services/index.ts.
 */
export class LockService {
  private state: LockState = { locked: false, reason: null, since: null };
  private listeners = new Set<(s: LockState) => void>();
  private guards: () => boolean = () => true;
  constructor(private readonly clock: Clock) {}

  /** What the lock guards exists (a signed-in session): set once by the composition root. */
  guard(guards: () => boolean): void {
    this.guards = guards;
  }

  current(): LockState {
    return { ...this.state };
  }

  lock(reason: NonNullable<LockState['reason']>): LockState {
    if (!this.state.locked && this.guards()) {
      this.state = { locked: true, reason, since: this.clock.now() };
      this.emit();
    }
    return this.current();
  }

  /** Called only after the gateway has re-verified the operator (see the sign-in service). */
  unlock(): LockState {
    if (this.state.locked) {
      this.state = { locked: false, reason: null, since: null };
      this.emit();
    }
    return this.current();
  }

  /** The session the lock guarded has ended (its data already cleared): nothing left to guard. */
  release(): LockState {
    return this.unlock();
  }

  onChange(listener: (s: LockState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    const s = this.current();
    for (const l of this.listeners) l(s);
  }
}
