// /ws: the first message must be {type:"auth", accessToken} within 5 s (tokens stay out of
// URLs and logs); then ping/pong, agent states, registration reports, supervision
// signalling and the lead's board (server/ws/connection.ts). The socket's principal is kept
// current by LivePrincipal (server/ws/live-principal.ts).
//
// Every message is handled inside its own containment: whatever one message does (a bad
// value, a database error, a bug), the socket gets a typed error and the process goes on.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { WsClientMessage } from '../../shared/gateway/api';
import type { GatewayContext } from '../context';
import { databaseUnavailable, GatewayError } from '../errors';
import { sourceIpOf } from '../http';
import { errorSummary } from '../log';
import { WsConnection } from './connection';

const AUTH_TIMEOUT_MS = 5000;
const MAX_MESSAGE_BYTES = 16 * 1024;

export function registerWebSocket(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/ws', { websocket: true }, (socket: WebSocket, req) => {
    const timer = setTimeout(() => conn.live || conn.refuse('unauthenticated', 'authenticate within 5 seconds'), AUTH_TIMEOUT_MS);
    const conn = new WsConnection(ctx, socket, req.log, sourceIpOf(ctx, req), () => clearTimeout(timer));
    socket.on('close', () => {
      clearTimeout(timer);
      conn.closed();
    });

    const onMessage = async (raw: Buffer, isBinary: boolean) => {
      if (isBinary || raw.length > MAX_MESSAGE_BYTES) return conn.refuse('validation_failed', 'text JSON messages up to 16 KiB only', 4400);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        // the client's fault, answered below; the line says what kind (errorSummary drops the text)
        req.log.warn({ err: errorSummary(err) }, 'ws: the client sent a message that is not JSON');
        return conn.refuse('validation_failed', 'not JSON', 4400);
      }
      const parsed = WsClientMessage.safeParse(json);
      if (!parsed.success) return conn.refuse('validation_failed', 'unknown or malformed message', 4400);
      const msg = parsed.data;
      return msg.type === 'auth' ? conn.authenticate(msg) : conn.handle(msg);
    };
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      void onMessage(raw, isBinary).catch((err: unknown) => {
        if (err instanceof GatewayError) return conn.send({ type: 'error', code: err.code, message: err.message });
        if (databaseUnavailable(err)) {
          // a PostgreSQL restart (server/errors.ts): the socket stays; the client sends it again
          req.log.warn({ err: errorSummary(err) }, 'ws: the database is unavailable; message refused');
          return conn.send({ type: 'error', code: 'unavailable', message: 'the database is unavailable for a moment: try again' });
        }
        req.log.error({ err: errorSummary(err) }, 'ws: a message failed');
        conn.send({ type: 'error', code: 'internal_error', message: 'internal error' });
      });
    });
  });
}
