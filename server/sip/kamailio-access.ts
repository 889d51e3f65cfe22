// Tells Kamailio that a user's SIP access was cut (server/sip/access.ts): POST
// {"cuts":[{"user":"<sip user>","minExpiry":<unix s>}]} to sip.kamailioControlUrl with
// X-Koe-Route-Secret. Kamailio (deploy/kamailio/koe.cfg, route[ACCESS_CUTS]) stores
// user -> minExpiry in htable `koecut`, refuses (403) any credential whose expiry is <= it
// (= issued at or before the cut's second: expiry - TTL <= cut) and unregisters the user's
// contacts. A cut is pushed at once (retried), and every live cut is pushed again every
// sip.accessResyncSeconds, so a restarted Kamailio (its htable is in memory) is told again
// within that interval. Pushing is idempotent.
import type { Clock } from '../clock';
import type { GatewayConfig } from '../config';
import type { Db } from '../db/schema';
import type { SessionEvents } from '../session-events';
import type { SipAccessLedger } from './access';
import { errorSummary } from '../log';
import { sipUserOf } from './agents';

const TIMEOUT_MS = 2000;
const RETRIES_MS = [250, 1000, 3000];

export interface AccessCut {
  user: string;
  minExpiry: number;
}

export class KamailioAccessPush {
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly sipUsers = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly ctx: { db: Db; config: GatewayConfig; clock: Clock; sessionEvents: SessionEvents; sipAccess: SipAccessLedger },
    private readonly url: string,
    private readonly log: (msg: string) => void = (m) => console.warn(m),
  ) {
    this.unsubscribe = ctx.sessionEvents.subscribe((e) => {
      if (e.kind !== 'sip_access_revoked') return;
      void this.pushUser(e.userId, new Date(e.at));
    });
    this.timer = setInterval(() => void this.resync(), ctx.config.sip.accessResyncSeconds * 1000);
    this.timer.unref();
  }

  /** The cut as Kamailio stores it: credentials expiring at or before minExpiry were issued at or before the cut. */
  private cutOf(sipUser: string, at: Date): AccessCut {
    return { user: sipUser, minExpiry: Math.floor(at.getTime() / 1000) + this.ctx.config.sip.credentialTtlSeconds };
  }

  private async sipUserOf(userId: string): Promise<string | null> {
    const known = this.sipUsers.get(userId);
    if (known) return known;
    const row = await this.ctx.db.selectFrom('users').select('username').where('id', '=', userId).executeTakeFirst();
    if (!row) return null;
    const u = sipUserOf(row.username);
    this.sipUsers.set(userId, u);
    return u;
  }

  private async pushUser(userId: string, at: Date): Promise<void> {
    try {
      const user = await this.sipUserOf(userId);
      if (!user) return;
      const cut = this.cutOf(user, at);
      for (let i = 0; ; i++) {
        if (this.closed) return;
        const err = await this.post([cut]);
        if (!err) return;
        if (i >= RETRIES_MS.length) {
          this.log(`kamailio-access: pushing the SIP access cut of user ${userId} failed (${err}); the next resync retries`);
          return;
        }
        await new Promise((r) => setTimeout(r, RETRIES_MS[i]).unref());
      }
    } catch (err) {
      this.log(`kamailio-access: pushing the SIP access cut of user ${userId}: ${JSON.stringify(errorSummary(err))}`);
    }
  }

  /** Pushes every cut still meaningful (minExpiry in the future). Also called once at start. */
  async resync(): Promise<void> {
    if (this.closed) return;
    try {
      const nowSec = Math.floor(this.ctx.clock.now().getTime() / 1000);
      const cuts: AccessCut[] = [];
      for (const [userId, at] of await this.ctx.sipAccess.cuts(new Date((nowSec - this.ctx.config.sip.credentialTtlSeconds) * 1000))) {
        const user = await this.sipUserOf(userId);
        if (!user) continue;
        const cut = this.cutOf(user, at);
        if (cut.minExpiry > nowSec) cuts.push(cut);
      }
      for (let i = 0; i < cuts.length; i += 100) {
        const err = await this.post(cuts.slice(i, i + 100));
        if (err) {
          this.log(`kamailio-access: resync of ${cuts.length} SIP access cuts failed (${err}); retrying in ${this.ctx.config.sip.accessResyncSeconds} s`);
          return;
        }
      }
    } catch (err) {
      this.log(`kamailio-access: resync: ${JSON.stringify(errorSummary(err))}`);
    }
  }

  /** null when Kamailio took them, else what went wrong. */
  private async post(cuts: AccessCut[]): Promise<string | null> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-koe-route-secret': this.ctx.config.sip.routeSecret ?? '' },
        body: JSON.stringify({ cuts }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.status !== 200) return `HTTP ${res.status} ${text.slice(0, 100)}`;
      return null;
    } catch (err) {
      return JSON.stringify(errorSummary(err));
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
  }
}
