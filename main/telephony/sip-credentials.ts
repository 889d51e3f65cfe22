import { z } from 'zod';
import type { SipCredentials } from '../../shared/ipc/contract';
import type { ClientPolicy } from '../../shared/policy';
import { fallback, logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';
import { consoleLogger } from '../log';
import { realTimers, type Timeouts } from '../timers';

/** What the gateway's POST /sip/credentials answers (auth_ephemeral: `<expiry>:<sipUser>` + HMAC). */
export const IssuedSipCredentials = z.object({
  authorizationUsername: z.string().min(1).max(256),
  authorizationPassword: z.string().min(1).max(256),
  aor: z.string().min(1).max(256),
  expiresAt: z.union([z.string(), z.number()]),
  wsServers: z.array(z.string()).min(1),
});
export type IssuedSipCredentials = z.infer<typeof IssuedSipCredentials>;

export type CredentialTimers = Timeouts;

/** Renew when this fraction of the lifetime is left (and never later than RENEW_MARGIN_MS before expiry). */
const RENEW_MARGIN_MS = 120_000;
const RETRY_MS = 15_000;

/**
 * Main's holder of the operator's SIP credentials: fetched from the gateway with the session's
 * access token, kept in memory only, renewed before they run out, dropped at sign-out. The
 * renderer gets them over `sip:credentials` and hands them to SIP.js.
 */
export class SipCredentialService {
  private current: SipCredentials | null = null;
  private pending: Promise<SipCredentials | null> | null = null;
  private timer: unknown = null;
  /** Bumped by clear(): a fetch in flight for the previous session does not store its answer. */
  private epoch = 0;
  private readonly timers: CredentialTimers;
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      issue: (accessToken: string) => Promise<IssuedSipCredentials>;
      accessToken: () => Promise<string | null>;
      policy: () => ClientPolicy;
      now: () => number;
      timers?: CredentialTimers;
      log?: Logger;
    },
  ) {
    this.log = deps.log ?? consoleLogger('sip-credentials');
    this.timers = deps.timers ?? realTimers;
  }

  /** Valid credentials (fetched or renewed first when missing or about to run out), or null. */
  async get(): Promise<SipCredentials | null> {
    if (this.current && this.current.expiresAt - this.deps.now() > RENEW_MARGIN_MS / 2) return this.current;
    return this.renew();
  }

  renew(): Promise<SipCredentials | null> {
    if (this.pending) return this.pending;
    const pending: Promise<SipCredentials | null> = this.fetch().finally(() => {
      if (this.pending === pending) this.pending = null;
    });
    this.pending = pending;
    return pending;
  }

  /** The session ended: forget them (and any fetch still on its way). */
  clear(): void {
    this.epoch++;
    this.pending = null;
    this.current = null;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private async fetch(): Promise<SipCredentials | null> {
    const epoch = this.epoch;
    const token = await this.deps.accessToken().catch(fallback(this.log, 'getting an access token for SIP credentials', null));
    if (epoch !== this.epoch) return null;
    if (!token) {
      this.clear();
      return null;
    }
    try {
      const issued = IssuedSipCredentials.parse(await this.deps.issue(token));
      if (epoch !== this.epoch) return null; // issued for a session that has ended
      const expiresAt = typeof issued.expiresAt === 'number' ? issued.expiresAt : Date.parse(issued.expiresAt);
      if (!Number.isFinite(expiresAt)) throw new Error('bad expiresAt');
      this.current = {
        authorizationUsername: issued.authorizationUsername,
        authorizationPassword: issued.authorizationPassword,
        aor: issued.aor,
        wsServers: this.wsServersFor(issued.wsServers),
        expiresAt,
        iceServers: this.deps.policy().iceServers,
      };
      const lifetime = expiresAt - this.deps.now();
      this.schedule(Math.max(1_000, Math.min(lifetime / 2, lifetime - RENEW_MARGIN_MS)));
      return this.current;
    } catch (err) {
      logFailure(this.log, 'fetching SIP credentials', err, epoch === this.epoch ? { retryInMs: RETRY_MS } : { sessionEnded: true });
      if (epoch !== this.epoch) return null;
      // Keep what we have while it is still valid; try again soon.
      this.schedule(RETRY_MS);
      return this.current && this.current.expiresAt > this.deps.now() ? this.current : null;
    }
  }

  /**
   * The SIP WebSocket the renderer may use is the one the policy names (the CSP's connect-src
   * allows only that one): the gateway's servers at that origin, else the policy's URL.
   */
  private wsServersFor(offered: string[]): string[] {
    const wanted = this.deps.policy().sipWssUrl;
    // an address that is not a URL has no origin (URL.canParse: no exception to drop)
    const origin = (u: string) => (URL.canParse(u) ? new URL(u).origin : null);
    const same = offered.filter((u) => origin(u) === origin(wanted));
    return same.length > 0 ? same : [wanted];
  }

  private schedule(ms: number): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.renew(), ms);
  }
}
