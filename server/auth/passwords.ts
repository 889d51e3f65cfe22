// argon2id hashing. Unknown usernames are verified against a dummy hash made with the same
// parameters, so "no such user" and "wrong password" take the same time.
//
// The hashing budget: every hash and verify passes through one gate (HashBudget) with a
// bounded number running at once (cores − 1, at least 1) and a bounded wait queue per lane. A password
// guess costs ~55 ms of CPU and 64 MiB, and an unauthenticated caller can send as many as
// the per-address limits allow from as many addresses as they have, so when the gate is
// saturated a request of the `normal` lane is shed at once (rate_limited + Retry-After),
// before any hashing. The `priority` lane is served first and has its own, larger queue:
// sign-ins that carry a valid signature of a fresh challenge by a device already enrolled
// for that user (an attacker without the key cannot get into it), and authenticated
// routes of live sessions (reverify, password change, TOTP disable, admin password set).
// An unknown username and a known one without an enrolled device proof are in the same
// lane and both hash (the dummy hash), so the lane does not reveal whether a name exists.
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Argon2Params, PasswordHashingConfig } from '../config';
import { GatewayError } from '../errors';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, not importable under isolatedModules)

export type HashLane = 'priority' | 'normal';

export interface HashBudgetStats {
  admitted: number;
  priorityAdmitted: number;
  shed: number;
  running: number;
  queued: { priority: number; normal: number };
}

export class HashBudget {
  private running = 0;
  private inFlight = 0;
  private readonly queues: Record<HashLane, Array<() => void>> = { priority: [], normal: [] };
  private counts = { admitted: 0, priorityAdmitted: 0, shed: 0 };
  readonly concurrency: number;

  constructor(private readonly config: PasswordHashingConfig) {
    // Default: one core fewer than the machine has (at least one), so the event loop (HTTP,
    // the database driver, PGlite) keeps a core while argon2 runs flat out.
    this.concurrency = config.concurrency ?? Math.max(1, availableParallelism() - 1);
  }

  async run<T>(lane: HashLane, work: () => Promise<T>): Promise<T> {
    await this.acquire(lane);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /**
   * Admission of a whole sign-in of the normal lane (no device proof), before any other work:
   * at most `concurrency + queue` are in flight at once (lookups, hashing, failure
   * bookkeeping), beyond that the request is shed at once, for every username alike. So a
   * flood costs the gateway a counter check per request, not database work, and cannot
   * crowd out the lookups of the priority lane. Returns the release function.
   */
  enter(): () => void {
    if (this.inFlight >= this.concurrency + this.config.queue) {
      this.counts.shed++;
      throw this.busy();
    }
    this.inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inFlight--;
    };
  }

  private busy(): GatewayError {
    return new GatewayError('rate_limited', 'the gateway is busy checking passwords: try again in a moment', { retryAfterSeconds: this.config.retryAfterSeconds });
  }

  stats(): HashBudgetStats {
    return { ...this.counts, running: this.running, queued: { priority: this.queues.priority.length, normal: this.queues.normal.length } };
  }

  private acquire(lane: HashLane): Promise<void> {
    const free = this.running < this.concurrency;
    // A free slot goes to a normal request only when no one is waiting (the queue is FIFO per lane).
    if (free && (lane === 'priority' || (this.queues.priority.length === 0 && this.queues.normal.length === 0))) {
      this.running++;
      this.admitted(lane);
      return Promise.resolve();
    }
    const queue = this.queues[lane];
    const max = lane === 'priority' ? this.config.priorityQueue : this.config.queue;
    if (queue.length >= max) {
      this.counts.shed++;
      return Promise.reject(this.busy());
    }
    return new Promise<void>((resolve) => {
      queue.push(() => {
        this.admitted(lane);
        resolve();
      });
    });
  }

  private admitted(lane: HashLane): void {
    this.counts.admitted++;
    if (lane === 'priority') this.counts.priorityAdmitted++;
  }

  private release(): void {
    const next = this.queues.priority.shift() ?? this.queues.normal.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.running--;
  }
}

export class PasswordHasher {
  private dummy: Promise<string>;
  readonly budget: HashBudget;

  constructor(
    private readonly params: Argon2Params,
    hashing: PasswordHashingConfig = { queue: 4, priorityQueue: 64, retryAfterSeconds: 1 },
  ) {
    this.budget = new HashBudget(hashing);
    this.dummy = this.raw(randomBytes(24).toString('base64url'));
  }

  private raw(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID, ...this.params, outputLen: 32 });
  }

  /** Hashes through the budget; `lane` defaults to normal (shed first when saturated). */
  hash(password: string, lane: HashLane = 'normal'): Promise<string> {
    return this.budget.run(lane, () => this.raw(password));
  }

  /** Verifies through the budget (may throw rate_limited before hashing when saturated). */
  async verify(storedHash: string | null, password: string, lane: HashLane = 'normal'): Promise<boolean> {
    const target = storedHash ?? (await this.dummy);
    return this.budget.run(lane, async () => {
      try {
        const ok = await verify(target, password);
        return storedHash !== null && ok;
      } catch (err) {
        // a stored hash argon2 cannot parse: not a match, and a damaged row someone must look at
        // (the hash and the password are never logged)
        console.warn(`passwords: a stored password hash cannot be verified (${err instanceof Error ? err.name : typeof err}); treated as a wrong password`);
        return false;
      }
    });
  }

  /** True when a stored hash was made with other parameters (re-hash after a successful sign-in). */
  isOutdated(storedHash: string): boolean {
    const m = /\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
    return !m || Number(m[1]) !== this.params.memoryCost || Number(m[2]) !== this.params.timeCost || Number(m[3]) !== this.params.parallelism;
  }
}
