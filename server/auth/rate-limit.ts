// In-memory limits (one gateway instance). Behind a load balancer with several gateways,
// each keeps its own buckets: move these to a shared store (PostgreSQL or Redis) for a
// global limit. Idle entries are pruned so the maps stay small.
import type { Clock } from '../clock';

export class TokenBuckets {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly refillPerMinute: number,
  ) {}

  /** Takes one token; returns 0 when allowed, else seconds until one is available. */
  take(key: string): number {
    const now = this.clock.now().getTime();
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 60_000) * this.refillPerMinute);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 50_000) this.prune(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return this.refillPerMinute > 0 ? Math.ceil(((1 - b.tokens) * 60) / this.refillPerMinute) : 3600;
  }

  private prune(now: number) {
    for (const [k, b] of this.buckets) if (now - b.at > 3_600_000) this.buckets.delete(k);
  }
}

/** Sliding-window failure counter per key (source IP). */
export class FailureWindow {
  private hits = new Map<string, number[]>();
  constructor(
    private readonly clock: Clock,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string): number[] {
    const since = this.clock.now().getTime() - this.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (list.length) this.hits.set(key, list);
    else this.hits.delete(key);
    return list;
  }

  record(key: string): void {
    const list = this.recent(key);
    list.push(this.clock.now().getTime());
    this.hits.set(key, list);
  }

  /** Seconds until the key may try again (0 = allowed). */
  blockedFor(key: string): number {
    const list = this.recent(key);
    if (list.length < this.max) return 0;
    const oldest = list[list.length - this.max]!;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.clock.now().getTime()) / 1000));
  }
}
