// A small in-memory queue that sends each item until the gateway confirms it: nothing an
// operator typed is lost to a network blip. Items are sent in order, one at a time; a failure
// waits (1 s, 2 s, 4 s ... 30 s) and tries the same item again. Idempotency is the sender's
// business (notes carry a clientNoteId the gateway de-duplicates on). Every failed send is
// logged (renderer/src/log.ts: what and the error's name, never the item).

import { logFailure } from '../../log';

export interface QueueTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RetryQueueOptions<T> {
  /** What a send does, for the log ("sending a note"); never the item's content. */
  what?: string;
  send(item: T): Promise<void>;
  /** True when retrying cannot help (e.g. a validation refusal): the item is dropped and reported. */
  permanent?(error: unknown): boolean;
  onSent?(item: T): void;
  onFailed?(item: T, error: unknown, attempt: number): void;
  onDropped?(item: T, error: unknown): void;
  timers?: QueueTimers;
  maxDelayMs?: number;
}

export class RetryQueue<T> {
  private items: T[] = [];
  private running = false;
  private attempt = 0;
  private timer: unknown = null;
  /** Bumped by clear(): a send in flight when the queue was cleared does not touch the new items. */
  private epoch = 0;
  private readonly timers: QueueTimers;

  constructor(private readonly opts: RetryQueueOptions<T>) {
    this.timers = opts.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as number) };
  }

  get pending(): readonly T[] {
    return this.items;
  }

  push(item: T): void {
    this.items.push(item);
    void this.pump();
  }

  /** Try now (e.g. the network came back) instead of waiting for the backoff. */
  flush(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    void this.pump();
  }

  /**
   * The session ended: drops every item (and the backoff) without sending or reporting it.
   * Returns how many were dropped.
   */
  clear(): number {
    const dropped = this.items.length;
    this.items = [];
    this.epoch++;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    return dropped;
  }

  private async pump(): Promise<void> {
    if (this.running || this.timer !== null) return;
    this.running = true;
    const epoch = this.epoch;
    try {
      while (this.items.length > 0) {
        const item = this.items[0]!;
        try {
          await this.opts.send(item);
          if (epoch !== this.epoch) return;
          this.items.shift();
          this.attempt = 0;
          this.opts.onSent?.(item);
        } catch (err) {
          logFailure(this.opts.what ?? 'a queued send', err);
          // cleared meanwhile (the session ended): the item is gone with it, nothing to retry
          if (epoch !== this.epoch) return;
          if (this.opts.permanent?.(err)) {
            this.items.shift();
            this.opts.onDropped?.(item, err);
            continue;
          }
          this.attempt++;
          this.opts.onFailed?.(item, err, this.attempt);
          const delay = Math.min(this.opts.maxDelayMs ?? 30_000, 1_000 * 2 ** (this.attempt - 1));
          this.timer = this.timers.setTimeout(() => {
            this.timer = null;
            void this.pump();
          }, delay);
          return;
        }
      }
    } finally {
      this.running = false;
      // Cleared mid-send: items pushed since then (the next user's) were waiting for this pump.
      if (epoch !== this.epoch && this.items.length > 0) void this.pump();
    }
  }
}
