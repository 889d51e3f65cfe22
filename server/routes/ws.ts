// /ws: the first message must be {type:"auth", accessToken} within 5 s (tokens stay out of
// URLs and logs); then ping/pong, agent states, registration reports, supervision
// signalling and the lead's board.
//
// An authenticated socket outlives the checks its HTTP request would get, so it keeps its
// principal current (LivePrincipal below):
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
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { WsClientMessage } from '../../shared/gateway/api';
import { reportBackgroundFailure } from '../background';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { sourceIpOf } from '../http';
import { authenticate, permittedOrAudited, principalForSession, type Principal } from '../principal';
import { errorSummary } from '../log';
import type { SessionEvent } from '../session-events';
import { attachAgent, type AgentSocket } from '../sip/agent-ws';

const AUTH_TIMEOUT_MS = 5000;
const MAX_MESSAGE_BYTES = 16 * 1024;

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
    private readonly hooks: {
      /** The session may no longer be served: send the error and close. */
      end(code: string, message: string): void;
      /** Re-authenticated: the new principal (maybe narrower) replaced `prev`. */
      changed(prev: Principal, next: Principal): Promise<void>;
    },
    revalidateMs: number,
  ) {
    this.unsubscribe = ctx.sessionEvents.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => void this.revalidate(), revalidateMs);
    this.timer.unref();
  }

  /** The cheap check before every push: not ended, session not past its absolute end. */
  usable(): boolean {
    if (this.ended) return false;
    if (this.ctx.clock.now() >= this.principal.sessionExpiresAt) {
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
          else {
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

const sameSet = (a: Iterable<string>, b: Iterable<string>) => {
  const x = [...a].sort().join('\n');
  return x === [...b].sort().join('\n');
};

export function registerWebSocket(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/ws', { websocket: true }, (socket: WebSocket, req) => {
    const sourceIp = sourceIpOf(ctx, req);
    let live: LivePrincipal | null = null;
    let authenticating = false;
    const send = (m: unknown) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(m));
    const refuse = (code: string, message: string, closeCode = 4401) => {
      send({ type: 'error', code, message });
      socket.close(closeCode, code);
    };
    const timer = setTimeout(() => live || refuse('unauthenticated', 'authenticate within 5 seconds'), AUTH_TIMEOUT_MS);
    let agent: AgentSocket | null = null;
    let detach: (() => void) | null = null;
    let board: (() => void) | null = null;
    const stopBoard = () => {
      board?.();
      board = null;
    };
    socket.on('close', () => {
      clearTimeout(timer);
      live?.stop();
      agent?.close();
      detach?.();
      stopBoard();
    });
    /** Pushes that carry data go through here: nothing leaves once the principal is no longer live. */
    const push = (m: Record<string, unknown>) => {
      if (live?.usable()) send(m);
    };
    const subscribeBoard = async () => {
      stopBoard();
      const current = () => {
        const p = live?.current() ?? null;
        return p && p.permissions.has('team:supervise') ? p : null;
      };
      const unsubscribe = await ctx.supervision.subscribeBoard(current, push);
      if (socket.readyState !== socket.OPEN || !current()) unsubscribe(); // closed or narrowed while subscribing
      else board = unsubscribe;
    };

    /** A re-authenticated principal: take away what it no longer may have. */
    const changed = async (prev: Principal, next: Principal) => {
      if (board && !next.permissions.has('team:supervise')) {
        stopBoard();
        send({ type: 'error', code: 'forbidden', message: 'the board needs the "team:supervise" permission: subscription ended' });
      } else if (board && (!sameSet(prev.teamIds, next.teamIds) || !sameSet(prev.permissions, next.permissions))) {
        await subscribeBoard(); // a fresh snapshot for the new scope
      }
      if (agent && !next.permissions.has('calls:handle')) {
        agent.close();
        agent = null;
        send({ type: 'error', code: 'forbidden', message: 'agent states need the "calls:handle" permission: you are offline' });
      }
    };

    // Every message is handled inside its own containment: whatever one message does (a bad
    // value, a database error, a bug), the socket gets a typed error and the process goes on.
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      void onMessage(raw, isBinary).catch((err: unknown) => {
        if (err instanceof GatewayError) return safeSend({ type: 'error', code: err.code, message: err.message });
        req.log.error({ err: errorSummary(err) }, 'ws: a message failed');
        safeSend({ type: 'error', code: 'internal_error', message: 'internal error' });
      });
    });
    const safeSend = (m: unknown) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
    };
    const onMessage = async (raw: Buffer, isBinary: boolean) => {
      if (isBinary || raw.length > MAX_MESSAGE_BYTES) return refuse('validation_failed', 'text JSON messages up to 16 KiB only', 4400);
      let parsed;
      try {
        parsed = WsClientMessage.safeParse(JSON.parse(raw.toString('utf8')));
      } catch {
        return refuse('validation_failed', 'not JSON', 4400);
      }
      if (!parsed.success) return refuse('validation_failed', 'unknown or malformed message', 4400);
      const msg = parsed.data;
      if (msg.type === 'auth') {
        if (live || authenticating) return refuse('validation_failed', 'already authenticated', 4400);
        authenticating = true;
        // Events published while the principal is being read are replayed on it afterwards.
        const early: SessionEvent[] = [];
        const unsubscribeEarly = ctx.sessionEvents.subscribe((e) => early.push(e));
        let principal: Principal;
        try {
          principal = await authenticate(ctx, `Bearer ${msg.accessToken}`, sourceIp, 'ws');
        } catch (e) {
          const code = e instanceof GatewayError ? e.code : 'unauthenticated';
          return refuse(code, e instanceof GatewayError ? e.message : 'authentication failed');
        } finally {
          unsubscribeEarly();
          authenticating = false;
        }
        if (principal.totpEnrolmentOnly) return refuse('totp_enrolment_required', 'enrol TOTP first', 4403);
        if (socket.readyState !== socket.OPEN) return;
        clearTimeout(timer);
        const l = new LivePrincipal(ctx, principal, {
          end: (code, message) => refuse(code, message, code === 'internal_error' ? 1011 : 4401),
          changed,
        }, ctx.config.ws.revalidateSeconds * 1000);
        live = l;
        for (const e of early) l.onEvent(e);
        if (!l.usable()) return;
        // Supervision signalling for this user travels only on their own authenticated socket,
        // and only while its principal is live.
        detach = ctx.supervision.attach({
          get principal() {
            return l.principal;
          },
          send: push,
        });
        if (principal.permissions.has('calls:handle')) {
          const a = await attachAgent(ctx, () => l.principal, socket, () => l.usable() && l.principal.permissions.has('calls:handle'));
          if (socket.readyState !== socket.OPEN || !l.usable()) return a.close(); // closed while attaching
          agent = a;
        }
        // "ready" only once the socket is all it will be (an agent, for operators): a client
        // that sets its state on "ready" is never refused for a race with the attachment.
        send({ type: 'ready', userId: principal.userId, sessionId: principal.sessionId });
        agent?.start(); // the operator's starting view, right after "ready"
        return;
      }
      if (!live) return refuse('unauthenticated', 'authenticate first');
      // Every message re-checks the session row too (cheap), besides the bus and the periodic check.
      const principal = live.principal;
      const session = await ctx.db.selectFrom('sessions').select(['revoked_at', 'absolute_expires_at']).where('id', '=', principal.sessionId).executeTakeFirst();
      if (!session || session.revoked_at) return live.end('session_revoked', 'session ended');
      if (ctx.clock.now() >= session.absolute_expires_at) return live.end('session_expired', 'session expired');
      if (!live.usable()) return;
      if (msg.type === 'ping') send({ type: 'pong', ...(msg.id ? { id: msg.id } : {}) });
      if (msg.type === 'agentState') {
        if (!agent) {
          await permittedOrAudited(ctx, principal, 'calls:handle', 'ws:agentState');
          return send({ type: 'error', code: 'forbidden', message: 'agent states need the "calls:handle" permission' });
        }
        await agent.legacySet(msg.state, msg.reason ?? null);
      }
      if (msg.type === 'operator') {
        if (!agent) {
          await permittedOrAudited(ctx, principal, 'calls:handle', 'ws:operator');
          return send({ type: 'error', code: 'forbidden', message: 'operator intents need the "calls:handle" permission' });
        }
        await agent.intent(msg.id ?? null, msg.intent);
      }
      if (msg.type === 'registration') {
        if (!(await permittedOrAudited(ctx, principal, 'calls:handle', 'ws:registration'))) {
          return send({ type: 'error', code: 'forbidden', message: 'registration reports need the "calls:handle" permission' });
        }
        ctx.supervision.setRegistration(principal.userId, msg.state);
      }
      if (msg.type === 'supervisionAnswer') {
        const ok = await ctx.supervision.operatorAnswer(principal, msg.legId, msg.sdp).catch((err: unknown) => {
          req.log.warn({ err: errorSummary(err) }, 'ws: a supervision answer failed');
          return false;
        });
        if (!ok) send({ type: 'error', code: 'not_found', message: 'no such supervision leg' });
      }
      if (msg.type === 'boardSubscribe') {
        if (!(await permittedOrAudited(ctx, principal, 'team:supervise', 'ws:boardSubscribe'))) {
          return send({ type: 'error', code: 'forbidden', message: 'the board needs the "team:supervise" permission' });
        }
        await subscribeBoard();
      }
    };
  });
}
