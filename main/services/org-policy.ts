import { backoffDelay, RECONNECT_BACKOFF, type Backoff } from '../../shared/backoff';
import type { OrgClientPolicy } from '../../shared/gateway/policy';
import { logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';
import { consoleLogger } from '../log';
import { realTimers, type Timeouts } from '../timers';

export type OrgPolicyTimers = Timeouts;

/** What the fetcher needs of PolicyService. */
export interface OrgPolicyTarget {
  setOrgPending(): void;
  setOrg(org: OrgClientPolicy | null): void;
}

/**
 * Fetches the org's client policy after each sign-in and retries it with a jittered, capped
 * backoff (shared/backoff.ts) until it arrives or the session ends; every failure is logged
 * (its code, never a token). Meanwhile PolicyService holds the org part as pending, so the
 * stricter of the known values applies (see PolicyService); once it arrives, it applies.
 */
export class OrgPolicyFetcher {
  private timer: unknown = null;
  private attempt = 0;
  /** Bumped by start() and stop(): an answer for an earlier session is dropped. */
  private generation = 0;
  private readonly timers: OrgPolicyTimers;
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      /** The org's policy; null when signed out; throws when the gateway cannot say. */
      fetch: () => Promise<OrgClientPolicy | null>;
      policy: OrgPolicyTarget;
      timers?: OrgPolicyTimers;
      random?: () => number;
      backoff?: Backoff;
      log?: Logger;
    },
  ) {
    this.timers = deps.timers ?? realTimers;
    this.log = deps.log ?? consoleLogger('org-policy');
  }

  /** A session began: the org part is pending until the gateway answers. */
  start(): void {
    this.stop();
    const generation = this.generation;
    this.deps.policy.setOrgPending();
    void this.fetch(generation);
  }

  /** The session ended (the policy's org part is cleared by its own holder). */
  stop(): void {
    this.generation++;
    this.attempt = 0;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** For tests: a retry is scheduled. */
  retrying(): boolean {
    return this.timer !== null;
  }

  private async fetch(generation: number): Promise<void> {
    this.timer = null;
    try {
      const org = await this.deps.fetch();
      if (generation !== this.generation) return;
      // null: signed out meanwhile (the session's end clears the org part)
      if (org) this.deps.policy.setOrg(org);
      this.attempt = 0;
    } catch (err) {
      if (generation !== this.generation) {
        logFailure(this.log, 'fetching the org client policy (for a session that has ended)', err);
        return;
      }
      const attempt = this.attempt++;
      const delay = backoffDelay(attempt, this.deps.random ?? Math.random, this.deps.backoff ?? RECONNECT_BACKOFF);
      logFailure(this.log, 'fetching the org client policy (the stricter known values apply meanwhile)', err, { attempt: attempt + 1, retryInMs: delay });
      this.timer = this.timers.setTimeout(() => void this.fetch(generation), delay);
    }
  }
}
