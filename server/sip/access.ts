// "Tell the SIP side": a per-user timestamp of the last time the user's access was cut
// (every session revoked, disabled, role changed, device revoked/reset). SIP credentials are
// ephemeral (auth_ephemeral, credentialTtlSeconds: username "<expiry>:<user>", so issued at
// expiry - TTL). Each cut publishes `sip_access_revoked`; server/sip/kamailio-access.ts pushes
// it to Kamailio, which refuses credentials issued at or before the cut's second and drops the
// user's registrations (docs/telephony.md "Credentials that die with the session").
// In memory: a restarted gateway forgets its cuts (Kamailio keeps the ones it was told).
import { reportBackgroundFailure } from '../background';
import type { SessionEvent, SessionEvents } from '../session-events';

export class SipAccessLedger {
  private readonly revoked = new Map<string, Date>();
  private readonly unsubscribe: () => void;

  /**
   * `otherLiveSession(userId, exceptSessionIds)`: whether the user keeps a live session besides
   * the ones just revoked. A single session's end (sign-out, refresh-token reuse, a device
   * refused at refresh) cuts SIP access only when it was the user's last one: SIP credentials
   * are per user, and cutting would also kill the ones another live device holds.
   */
  constructor(
    private readonly events: SessionEvents,
    private readonly now: () => Date,
    private readonly otherLiveSession?: (userId: string, exceptSessionIds: string[]) => Promise<boolean>,
  ) {
    this.unsubscribe = events.subscribe((e) => this.onEvent(e));
  }

  /** When this user's SIP access was last cut (credentials issued before are stale), or null. */
  revokedAt(userId: string): Date | null {
    return this.revoked.get(userId) ?? null;
  }

  /** Every cut this process made (userId, when): what server/sip/kamailio-access.ts re-pushes. */
  cuts(): [string, Date][] {
    return [...this.revoked.entries()];
  }

  /**
   * The unix second new credentials count as issued at: now, but never in the second of the
   * cut or before (Kamailio refuses credentials whose issue second is <= the cut's second).
   */
  issueSecond(userId: string, now: Date): number {
    const nowSec = Math.floor(now.getTime() / 1000);
    const cut = this.revoked.get(userId);
    return cut ? Math.max(nowSec, Math.floor(cut.getTime() / 1000) + 1) : nowSec;
  }

  private onEvent(e: SessionEvent): void {
    if (e.kind === 'sessions_revoked' && e.scope !== 'session') {
      for (const userId of e.userIds) this.cut(userId, null, `sessions_${e.reason}`);
    } else if (e.kind === 'sessions_revoked' && this.otherLiveSession) {
      const at = this.now();
      for (const userId of e.userIds) {
        this.otherLiveSession(userId, e.sessionIds).then(
          (live) => {
            if (!live) this.cut(userId, null, `sessions_${e.reason}`, at);
          },
          (err) => reportBackgroundFailure(`sip access: live sessions of user ${userId}`, err),
        );
      }
    } else if (e.kind === 'user_changed' && e.change !== 'enabled') {
      this.cut(e.userId, e.orgId, `user_${e.change}`);
    }
  }

  private cut(userId: string, orgId: string | null, reason: string, now = this.now()): void {
    // Credentials issued since the previous cut may count as issued in the second after it
    // (issueSecond): a new cut covers that second too.
    const prev = this.revoked.get(userId);
    const prevSec = prev ? Math.floor(prev.getTime() / 1000) : null;
    const at = prevSec !== null && Math.floor(now.getTime() / 1000) <= prevSec ? new Date((prevSec + 1) * 1000) : now;
    this.revoked.set(userId, at);
    this.events.publish({ kind: 'sip_access_revoked', orgId, userId, at: at.toISOString(), reason });
  }

  close(): void {
    this.unsubscribe();
  }
}
