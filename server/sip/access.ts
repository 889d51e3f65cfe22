// "Tell the SIP side": per user, the last time the user's access was cut (every session
// revoked, disabled, role changed, device revoked/reset), in sip_access_cuts (issue 14: every
// gateway instance reads the same cuts; a restart forgets none). SIP credentials are
// ephemeral (auth_ephemeral, credentialTtlSeconds: username "<expiry>:<user>", so issued at
// expiry - TTL). Each cut publishes `sip_access_revoked` (in this process);
// server/sip/kamailio-access.ts pushes it to Kamailio, which refuses credentials issued at or
// before the cut's second and drops the user's registrations (docs/telephony.md "Credentials
// that die with the session"); its resync re-pushes every cut from the table.
// The cut is made by the instance where the session event was published (a remote event is
// the same revocation heard again: cutting again would move the cut a second on).
import { sql } from 'kysely';
import { reportBackgroundFailure } from '../background';
import type { Db } from '../db/schema';
import type { SessionEvent, SessionEvents } from '../session-events';

export class SipAccessLedger {
  private readonly unsubscribe: () => void;
  private pending = new Set<Promise<unknown>>();

  /**
   * `otherLiveSession(userId, exceptSessionIds)`: whether the user keeps a live session besides
   * the ones just revoked. A single session's end (sign-out, refresh-token reuse, a device
   * refused at refresh) cuts SIP access only when it was the user's last one: SIP credentials
   * are per user, and cutting would also kill the ones another live device holds.
   */
  constructor(
    private readonly db: Db,
    private readonly events: SessionEvents,
    private readonly now: () => Date,
    private readonly otherLiveSession?: (userId: string, exceptSessionIds: string[]) => Promise<boolean>,
  ) {
    this.unsubscribe = events.subscribe((e, remote) => {
      if (!remote) this.onEvent(e);
    });
  }

  /** When this user's SIP access was last cut (credentials issued before are stale), or null. */
  async revokedAt(userId: string): Promise<Date | null> {
    const row = await this.db.selectFrom('sip_access_cuts').select('cut_at').where('user_id', '=', userId).executeTakeFirst();
    return row?.cut_at ?? null;
  }

  /** Every cut made at or after `since` (userId, when): what server/sip/kamailio-access.ts re-pushes. */
  async cuts(since = new Date(0)): Promise<[string, Date][]> {
    const rows = await this.db.selectFrom('sip_access_cuts').select(['user_id', 'cut_at']).where('cut_at', '>=', since).execute();
    return rows.map((r) => [r.user_id, r.cut_at]);
  }

  /**
   * The unix second new credentials count as issued at: now, but never in the second of the
   * cut or before (Kamailio refuses credentials whose issue second is <= the cut's second).
   */
  async issueSecond(userId: string, now: Date): Promise<number> {
    const nowSec = Math.floor(now.getTime() / 1000);
    const cut = await this.revokedAt(userId);
    return cut ? Math.max(nowSec, Math.floor(cut.getTime() / 1000) + 1) : nowSec;
  }

  /** The cuts being written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private onEvent(e: SessionEvent): void {
    if (e.kind === 'sessions_revoked' && e.scope !== 'session') {
      for (const userId of e.userIds) this.cut(userId, null, `sessions_${e.reason}`);
    } else if (e.kind === 'sessions_revoked' && this.otherLiveSession) {
      const at = this.now();
      for (const userId of e.userIds) {
        this.track(
          this.otherLiveSession(userId, e.sessionIds).then(
            (live) => {
              if (!live) this.cut(userId, null, `sessions_${e.reason}`, at);
            },
            (err) => reportBackgroundFailure(`sip access: live sessions of user ${userId}`, err),
          ),
        );
      }
    } else if (e.kind === 'user_changed' && e.change !== 'enabled') {
      this.cut(e.userId, e.orgId, `user_${e.change}`);
    }
  }

  private cut(userId: string, orgId: string | null, reason: string, now = this.now()): void {
    // One upsert decides the cut: credentials issued since the previous cut may count as issued
    // in the second after it (issueSecond), so a new cut in or before that second covers it too.
    const write = sql<{ cut_at: Date }>`
      insert into sip_access_cuts as c (user_id, cut_at, reason) values (${userId}, ${now}, ${reason})
      on conflict (user_id) do update set
        cut_at = case when floor(extract(epoch from excluded.cut_at)) <= floor(extract(epoch from c.cut_at))
                      then to_timestamp(floor(extract(epoch from c.cut_at)) + 1) else excluded.cut_at end,
        reason = excluded.reason
      returning cut_at`.execute(this.db);
    this.track(
      write.then(
        (r) => {
          const at = new Date(r.rows[0]!.cut_at);
          this.events.publish({ kind: 'sip_access_revoked', orgId, userId, at: at.toISOString(), reason });
        },
        (err) => reportBackgroundFailure(`sip access: storing the cut of user ${userId}`, err),
      ),
    );
  }

  close(): void {
    this.unsubscribe();
  }
}
