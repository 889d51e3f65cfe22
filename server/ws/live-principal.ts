// A /ws socket's principal, kept current (server/ws/socket.ts says what a socket is for).
//
// An authenticated socket outlives the checks its HTTP request would get, so it keeps its
// principal current:
//   - it listens on the session-event bus (ctx.sessionEvents): its own session revoked ->
//     closed at once (4401 session_revoked, or account_disabled when the user was disabled);
//     its user, role, teams or org policy changed -> the principal is re-authenticated from
//     the database (principalForSession: session, user, role, teams, allowlist for the
//     socket's source address); a refusal closes it with the typed code (4401 + code as the
//     close reason, after an error message), a narrower principal updates what it gets (a
//     demoted lead loses the board subscription and is told so);
//   - it re-validates the same way every 30 s (absolute expiry, and any change made where no
//     event is published: another gateway process, the CLI);
//   - every push that carries data (board rows, agent states, supervision signalling) first
//     passes `usable()`: the cached principal is still live (not ended, session not past its
//     absolute end); the board also re-reads its permission and visibility per push.
import { reportBackgroundFailure } from '../background';
import { sessionExpired } from '../auth/sign-in-helpers';
import type { GatewayContext } from '../context';
import { databaseUnavailable, GatewayError } from '../errors';
import { principalForSession, type Principal } from '../principal';
import type { SessionEvent } from '../session-events';

export interface LivePrincipalHooks {
  /** The session may no longer be served: send the error and close. */
  end(code: string, message: string): void;
  /** Re-authenticated: the new principal (maybe narrower) replaced `prev`. */
  changed(prev: Principal, next: Principal): Promise<void>;
}

/** A socket's principal, kept current by session events and a periodic re-validation. */
export class LivePrincipal {
  private checking: Promise<void> | null = null;
  private again = false;
  private ended = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly ctx: GatewayContext,
    public principal: Principal,
    private readonly hooks: LivePrincipalHooks,
    revalidateMs: number,
  ) {
    this.unsubscribe = ctx.sessionEvents.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => void this.revalidate(), revalidateMs);
    this.timer.unref();
  }

  /** The cheap check before every push: not ended, session not past its absolute end. */
  usable(): boolean {
    if (this.ended) return false;
    if (sessionExpired({ absolute_expires_at: this.principal.sessionExpiresAt }, this.ctx.clock.now())) {
      this.end('session_expired', 'session expired');
      return false;
    }
    return true;
  }

  /** The principal if the socket may still be served, else null. */
  current(): Principal | null {
    return this.usable() ? this.principal : null;
  }

  onEvent(e: SessionEvent): void {
    if (this.ended) return;
    const p = this.principal;
    switch (e.kind) {
      case 'sessions_revoked':
        // Authoritative for the named sessions: no need to ask the database.
        if (e.sessionIds.includes(p.sessionId)) {
          if (e.reason === 'user_disabled') this.end('account_disabled', 'the account was disabled');
          else this.end('session_revoked', 'this session was signed out or revoked');
        }
        return;
      case 'user_changed':
        if (e.userId === p.userId) void this.revalidate();
        return;
      case 'role_changed':
      case 'teams_changed':
      case 'policy_changed':
        if (e.orgId === p.orgId) void this.revalidate();
        return;
      case 'sip_access_revoked':
        return;
    }
  }

  /** Re-authenticates from the database; concurrent requests coalesce into one more pass. */
  revalidate(): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        const prev = this.principal;
        let next: Principal;
        try {
          next = await principalForSession(this.ctx, prev, prev.sourceIp, { via: 'ws', live: true });
        } catch (err) {
          if (err instanceof GatewayError) this.end(err.code, err.message);
          else if (databaseUnavailable(err)) {
            // a PostgreSQL restart (server/errors.ts): rights unconfirmed, so not served; the client reconnects
            reportBackgroundFailure('ws: re-authentication (the database is unavailable)', err);
            this.end('unavailable', 'could not re-check the session (the database is unavailable): reconnect');
          } else {
            // Fail closed: a socket whose rights cannot be confirmed is not served (the client reconnects).
            reportBackgroundFailure('ws: re-authentication', err);
            this.end('internal_error', 'could not re-check the session: reconnect');
          }
          return;
        }
        if (this.ended) return;
        this.principal = next;
        await this.hooks.changed(prev, next);
      } while (this.again && !this.ended);
    })()
      .catch((err: unknown) => {
        reportBackgroundFailure('ws: applying a re-authenticated principal', err);
        this.end('internal_error', 'could not apply a session change: reconnect');
      })
      .finally(() => {
        this.checking = null;
      });
    return this.checking;
  }

  end(code: string, message: string): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    this.hooks.end(code, message);
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }
}
