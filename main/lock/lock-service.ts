import type { LockState } from '../../shared/ipc/contract';

export interface Clock {
  now(): number;
}

/**
 * The lock state is decided here, in main, never by the renderer. While locked, main refuses
 * customer-data and token channels; the renderer only mirrors the state it is sent.
 */
export class LockService {
  private state: LockState = { locked: false, reason: null, since: null };
  private listeners = new Set<(s: LockState) => void>();
  constructor(private readonly clock: Clock) {}

  current(): LockState {
    return { ...this.state };
  }

  lock(reason: NonNullable<LockState['reason']>): LockState {
    if (!this.state.locked) {
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

  onChange(listener: (s: LockState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    const s = this.current();
    for (const l of this.listeners) l(s);
  }
}
