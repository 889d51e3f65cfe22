// /ws: minimal but real. The first message must be {type:"auth", accessToken} within 5 s
// (tokens stay out of URLs and logs); then ping/pong. Later issues add agent states here.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { WsClientMessage } from '../../shared/gateway/api';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { sourceIpOf } from '../http';
import { authenticate, type Principal } from '../principal';
import { errorSummary } from '../log';
import { attachAgent, type AgentSocket } from '../sip/agent-ws';

const AUTH_TIMEOUT_MS = 5000;
const MAX_MESSAGE_BYTES = 16 * 1024;

export function registerWebSocket(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/ws', { websocket: true }, (socket: WebSocket, req) => {
    const sourceIp = sourceIpOf(ctx, req);
    let principal: Principal | null = null;
    const send = (m: unknown) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(m));
    const refuse = (code: string, message: string, closeCode = 4401) => {
      send({ type: 'error', code, message });
      socket.close(closeCode, code);
    };
    const timer = setTimeout(() => principal || refuse('unauthenticated', 'authenticate within 5 seconds'), AUTH_TIMEOUT_MS);
    let agent: AgentSocket | null = null;
    let detach: (() => void) | null = null;
    let board: (() => void) | null = null;
    socket.on('close', () => {
      clearTimeout(timer);
      agent?.close();
      detach?.();
      board?.();
    });
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
        if (principal) return refuse('validation_failed', 'already authenticated', 4400);
        try {
          principal = await authenticate(ctx, `Bearer ${msg.accessToken}`, sourceIp);
          if (principal.totpEnrolmentOnly) {
            principal = null;
            return refuse('totp_enrolment_required', 'enrol TOTP first', 4403);
          }
          clearTimeout(timer);
          send({ type: 'ready', userId: principal.userId, sessionId: principal.sessionId });
          // Supervision signalling for this user travels only on their own authenticated socket.
          detach = ctx.supervision.attach({ principal, send: (m) => socket.readyState === socket.OPEN && send(m) });
          if (principal.permissions.has('calls:handle')) {
            agent = await attachAgent(ctx, principal, socket);
            if (socket.readyState !== socket.OPEN) agent.close(); // closed while attaching
          }
        } catch (e) {
          const code = e instanceof GatewayError ? e.code : 'unauthenticated';
          return refuse(code, e instanceof GatewayError ? e.message : 'authentication failed');
        }
        return;
      }
      if (!principal) return refuse('unauthenticated', 'authenticate first');
      // Every message re-checks the session, so a revoked session stops being served.
      const session = await ctx.db.selectFrom('sessions').select(['revoked_at', 'absolute_expires_at']).where('id', '=', principal.sessionId).executeTakeFirst();
      if (!session || session.revoked_at) return refuse('session_revoked', 'session ended');
      if (ctx.clock.now() >= session.absolute_expires_at) return refuse('session_expired', 'session expired');
      if (msg.type === 'ping') send({ type: 'pong', ...(msg.id ? { id: msg.id } : {}) });
      if (msg.type === 'agentState') {
        if (!agent) return send({ type: 'error', code: 'forbidden', message: 'agent states need the "calls:handle" permission' });
        await agent.set(msg.state, msg.reason ?? null);
      }
      if (msg.type === 'registration') {
        if (!principal.permissions.has('calls:handle')) return send({ type: 'error', code: 'forbidden', message: 'registration reports need the "calls:handle" permission' });
        ctx.supervision.setRegistration(principal.userId, msg.state);
      }
      if (msg.type === 'supervisionAnswer') {
        const ok = await ctx.supervision.operatorAnswer(principal, msg.legId, msg.sdp).catch(() => false);
        if (!ok) send({ type: 'error', code: 'not_found', message: 'no such supervision leg' });
      }
      if (msg.type === 'boardSubscribe') {
        if (!principal.permissions.has('team:supervise')) return send({ type: 'error', code: 'forbidden', message: 'the board needs the "team:supervise" permission' });
        board?.();
        board = await ctx.supervision.subscribeBoard(principal, (m) => socket.readyState === socket.OPEN && send(m));
      }
    };
  });
}

