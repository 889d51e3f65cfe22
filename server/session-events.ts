// The session-event bus: every change that can end or narrow what a signed-in user may do
// is published here, and every long-lived connection (/ws) listens. The gateway runs
// server/bus/durable-session-events.ts (this process's listeners at once, other instances
// through the database: a table + LISTEN/NOTIFY); InProcessSessionEvents is the in-process
// fan-out it is built on.
//
// Publishers (grep `sessionEvents.publish` and `revokeSessions(`):
//   sessions_revoked  revokeSessions() itself (sign-out, admin revoke, password change/reset,
//                     device revoke/reset, refresh-token reuse, lockout, disable)
//   user_changed      admin patchUser (role, disabled/enabled)
//   role_changed      admin patchRole (permissions)
//   teams_changed     admin setTeamMembers
//   policy_changed    admin patchPolicy (allowlists, sessions)
//   sip_access_revoked  server/sip/access.ts, derived from the user-wide events above: the
//                     hook for Kamailio (issue 11) to refuse SIP credentials issued earlier.
import { reportBackgroundFailure } from './background';
import type { Executor } from './db/schema';

export type SessionEvent =
  | { kind: 'sessions_revoked'; sessionIds: string[]; userIds: string[]; reason: string; scope: 'session' | 'user' | 'device' }
  | { kind: 'user_changed'; orgId: string; userId: string; change: 'role' | 'disabled' | 'enabled' }
  | { kind: 'role_changed'; orgId: string; roleId: string }
  | { kind: 'teams_changed'; orgId: string; teamId: string }
  | { kind: 'policy_changed'; orgId: string }
  | { kind: 'sip_access_revoked'; orgId: string | null; userId: string; at: string; reason: string };

/** `remote`: the event was published by another gateway instance (server/bus/). */
export type SessionEventListener = (event: SessionEvent, remote?: boolean) => void;

export interface SessionEvents {
  /** Fire and forget: listeners run synchronously in-process; a listener's failure is logged, never thrown back. */
  publish(event: SessionEvent): void;
  /**
   * Published from inside a transaction (revokeSessions): this process's listeners hear it at
   * once; other gateway instances only once the transaction commits (server/bus/).
   */
  publishIn(tx: Executor, event: SessionEvent): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: SessionEventListener): () => void;
}

export class InProcessSessionEvents implements SessionEvents {
  private readonly listeners = new Set<SessionEventListener>();

  publish(event: SessionEvent, remote = false): void {
    for (const l of [...this.listeners]) {
      try {
        l(event, remote);
      } catch (err) {
        reportBackgroundFailure(`session-events: a listener of ${event.kind}`, err);
      }
    }
  }

  async publishIn(_tx: Executor, event: SessionEvent): Promise<void> {
    this.publish(event);
  }

  subscribe(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

}
