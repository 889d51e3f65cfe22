// "Tell the SIP side": a per-user timestamp of the last time the user's access was cut
// (every session revoked, disabled, role changed, device revoked/reset). SIP credentials are
// ephemeral (auth_ephemeral, credentialTtlSeconds) and Kamailio checks only their HMAC and
// expiry, so today a REGISTER made with credentials issued before the cut is accepted until
// they expire. This is the hook for issue 11: Kamailio (or the gateway's /sip/route answer)
// refuses credentials issued before `revokedAt(user)`; the `sip_access_revoked` event on the
// session-event bus is what a LISTEN/NOTIFY backing carries to it. In memory for now.
import type { SessionEvent, SessionEvents } from '../session-events';

export class SipAccessLedger {
  private readonly revoked = new Map<string, Date>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly events: SessionEvents,
    private readonly now: () => Date,
  ) {
    this.unsubscribe = events.subscribe((e) => this.onEvent(e));
  }

  /** When this user's SIP access was last cut (credentials issued before are stale), or null. */
  revokedAt(userId: string): Date | null {
    return this.revoked.get(userId) ?? null;
  }

  private onEvent(e: SessionEvent): void {
    if (e.kind === 'sessions_revoked' && e.scope !== 'session') {
      for (const userId of e.userIds) this.cut(userId, null, `sessions_${e.reason}`);
    } else if (e.kind === 'user_changed' && e.change !== 'enabled') {
      this.cut(e.userId, e.orgId, `user_${e.change}`);
    }
  }

  private cut(userId: string, orgId: string | null, reason: string): void {
    const at = this.now();
    this.revoked.set(userId, at);
    this.events.publish({ kind: 'sip_access_revoked', orgId, userId, at: at.toISOString(), reason });
  }

  close(): void {
    this.unsubscribe();
  }
}
