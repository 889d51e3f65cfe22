// One /ws connection: its principal (LivePrincipal), what it is attached to (the operator
// model for operators, supervision signalling, the lead's board), and the messages it takes.
// Pushes that carry data go through push(): nothing leaves once the principal is no longer
// live. Every message after auth re-checks the session row too (cheap), besides the bus and
// the periodic check.
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { z } from 'zod';
import type { WsClientMessage } from '../../shared/gateway/api';
import { sessionLimit } from '../auth/principal-type';
import { sessionExpired } from '../auth/sign-in-helpers';
import type { GatewayContext } from '../context';
import { databaseUnavailable, GatewayError } from '../errors';
import { errorSummary } from '../log';
import { authenticate, permittedOrAudited, type Principal } from '../principal';
import type { SessionEvent } from '../session-events';
import { attachAgent, type AgentSocket } from '../sip/agent-ws';
import { LivePrincipal } from './live-principal';
import { wireJson } from './wire';

type ClientMessage = z.infer<typeof WsClientMessage>;
type AuthMessage = Extract<ClientMessage, { type: 'auth' }>;

const sameSet = (a: Iterable<string>, b: Iterable<string>) => [...a].sort().join('\n') === [...b].sort().join('\n');

export class WsConnection {
  live: LivePrincipal | null = null;
  private authenticating = false;
  private agent: AgentSocket | null = null;
  private detach: (() => void) | null = null;
  private board: (() => void) | null = null;
  private alerts: (() => void) | null = null;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly socket: WebSocket,
    private readonly log: FastifyBaseLogger,
    private readonly sourceIp: string,
    /** The connection is authenticated: the auth deadline no longer applies. */
    private readonly authenticated: () => void,
  ) {}

  private get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  send(m: unknown): void {
    if (this.open) this.socket.send(wireJson(m));
  }

  /** Pushes that carry data go through here: nothing leaves once the principal is no longer live. */
  private readonly push = (m: Record<string, unknown>): void => {
    if (this.live?.usable()) this.send(m);
  };

  refuse(code: string, message: string, closeCode = 4401): void {
    this.send({ type: 'error', code, message });
    this.socket.close(closeCode, code);
  }

  /** The socket closed: everything it was attached to lets go. */
  closed(): void {
    this.live?.stop();
    this.agent?.close();
    this.detach?.();
    this.alerts?.();
    this.stopBoard();
  }

  private stopBoard(): void {
    this.board?.();
    this.board = null;
  }

  private async subscribeBoard(): Promise<void> {
    this.stopBoard();
    const current = () => {
      const p = this.live?.current() ?? null;
      return p && p.permissions.has('team:supervise') ? p : null;
    };
    const unsubscribe = await this.ctx.supervision.subscribeBoard(current, this.push);
    if (!this.open || !current()) unsubscribe(); // closed or narrowed while subscribing
    else this.board = unsubscribe;
  }

  /** A re-authenticated principal: take away what it no longer may have. */
  private async changed(prev: Principal, next: Principal): Promise<void> {
    if (this.board && !next.permissions.has('team:supervise')) {
      this.stopBoard();
      this.send({ type: 'error', code: 'forbidden', message: 'the board needs the "team:supervise" permission: subscription ended' });
    } else if (this.board && (!sameSet(prev.teamIds, next.teamIds) || !sameSet(prev.permissions, next.permissions))) {
      await this.subscribeBoard(); // a fresh snapshot for the new scope
    }
    if (this.agent && !next.permissions.has('calls:handle')) {
      this.agent.close();
      this.agent = null;
      this.send({ type: 'error', code: 'forbidden', message: 'agent states need the "calls:handle" permission: you are offline' });
    }
  }

  /** The first message: the access token. Events published while it is read are replayed on the principal. */
  async authenticate(msg: AuthMessage): Promise<void> {
    if (this.live || this.authenticating) return this.refuse('validation_failed', 'already authenticated', 4400);
    this.authenticating = true;
    const early: SessionEvent[] = [];
    const unsubscribeEarly = this.ctx.sessionEvents.subscribe((e) => early.push(e));
    let principal: Principal;
    try {
      principal = await authenticate(this.ctx, `Bearer ${msg.accessToken}`, this.sourceIp, 'ws');
    } catch (e) {
      if (e instanceof GatewayError) return this.refuse(e.code, e.message);
      if (databaseUnavailable(e)) {
        // a PostgreSQL restart (server/errors.ts): not the token's fault; 1013 = try again later
        this.log.warn({ err: errorSummary(e) }, 'ws: the database is unavailable; authentication refused');
        return this.refuse('unavailable', 'the database is unavailable for a moment: reconnect', 1013);
      }
      this.log.error({ err: errorSummary(e) }, 'ws: authentication failed');
      return this.refuse('unauthenticated', 'authentication failed');
    } finally {
      unsubscribeEarly();
      this.authenticating = false;
    }
    // a limited session (temporary password, TOTP enrolment pending) has no live link: server/auth/principal-type.ts
    const limit = sessionLimit(principal);
    if (limit) return this.refuse(limit.code, limit.message, 4403);
    if (!this.open) return;
    this.authenticated();
    const l = new LivePrincipal(this.ctx, principal, {
      end: (code, message) => this.refuse(code, message, code === 'internal_error' ? 1011 : code === 'unavailable' ? 1013 : 4401),
      changed: (prev, next) => this.changed(prev, next),
    }, this.ctx.config.ws.revalidateSeconds * 1000);
    this.live = l;
    for (const e of early) l.onEvent(e);
    if (!l.usable()) return;
    // Supervision signalling for this user travels only on their own authenticated socket,
    // and only while its principal is live.
    this.detach = this.ctx.supervision.attach({
      get principal() {
        return l.principal;
      },
      send: this.push,
    });
    // Security alerts of the org, to sockets whose current principal holds alerts:read
    // (server/alerts/push.ts decides per push; push() sends nothing once the principal is not live).
    this.alerts = this.ctx.alerts.pushes.attach({ current: () => l.current(), send: this.push });
    if (principal.permissions.has('calls:handle')) {
      const a = await attachAgent(this.ctx, () => l.principal, this.socket, () => l.usable() && l.principal.permissions.has('calls:handle'));
      if (!this.open || !l.usable()) return a.close(); // closed while attaching
      this.agent = a;
    }
    // "ready" only once the socket is all it will be (an agent, for operators): a client
    // that sets its state on "ready" is never refused for a race with the attachment.
    this.send({ type: 'ready', userId: principal.userId, sessionId: principal.sessionId });
    this.agent?.start(); // the operator's starting view, right after "ready"
  }

  /** Every message after auth: the session row is re-checked, then the message is served. */
  async handle(msg: Exclude<ClientMessage, AuthMessage>): Promise<void> {
    const live = this.live;
    if (!live) return this.refuse('unauthenticated', 'authenticate first');
    const principal = live.principal;
    const session = await this.ctx.db.selectFrom('sessions').select(['revoked_at', 'absolute_expires_at']).where('id', '=', principal.sessionId).executeTakeFirst();
    if (!session || session.revoked_at) return live.end('session_revoked', 'session ended');
    if (sessionExpired(session, this.ctx.clock.now())) return live.end('session_expired', 'session expired');
    if (!live.usable()) return;
    const forbidden = (message: string) => this.send({ type: 'error', code: 'forbidden', message });
    const permitted = (permission: 'calls:handle' | 'team:supervise') => permittedOrAudited(this.ctx, principal, permission, `ws:${msg.type}`);
    switch (msg.type) {
      case 'ping':
        return this.send({ type: 'pong', ...(msg.id ? { id: msg.id } : {}) });
      case 'agentState':
        if (this.agent) return this.agent.legacySet(msg.state, msg.reason ?? null);
        await permitted('calls:handle'); // audited like a route's refusal
        return forbidden('agent states need the "calls:handle" permission');
      case 'operator':
        if (this.agent) return this.agent.intent(msg.id ?? null, msg.intent);
        await permitted('calls:handle');
        return forbidden('operator intents need the "calls:handle" permission');
      case 'registration':
        if (!(await permitted('calls:handle'))) return forbidden('registration reports need the "calls:handle" permission');
        this.ctx.supervision.setRegistration(principal.userId, msg.state);
        return;
      case 'supervisionAnswer': {
        const ok = await this.ctx.supervision.operatorAnswer(principal, msg.legId, msg.sdp).catch((err: unknown) => {
          this.log.warn({ err: errorSummary(err) }, 'ws: a supervision answer failed');
          return false;
        });
        if (!ok) this.send({ type: 'error', code: 'not_found', message: 'no such supervision leg' });
        return;
      }
      case 'boardSubscribe':
        if (!(await permitted('team:supervise'))) return forbidden('the board needs the "team:supervise" permission');
        return this.subscribeBoard();
    }
  }
}
