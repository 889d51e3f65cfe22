// createGateway({ db, config, clock }): the one factory the CLI and the tests use. It runs
// migrations, wires the routes from the shared contract and returns the Fastify app.
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { reportBackgroundFailure } from './background';
import type { Clock } from './clock';
import { systemClock } from './clock';
import { parseConfig, type GatewayConfig, type GatewayConfigInput } from './config';
import { createContext, type GatewayContext } from './context';
import { migrateToLatest } from './db/migrations';
import type { Db } from './db/schema';
import { databaseUnavailable, GatewayError } from './errors';
import { route } from './http';
import { registerCors } from './cors';
import { errorSummary, loggerOptions } from './log';
import { openApiDocument } from './openapi';
import { registerAdminRoutes } from './admin/routes';
import { registerAuthRoutes } from './auth/routes';
import { registerCrmRoutes } from './crm/routes';
import { registerWebSocket } from './ws/socket';
import { registerSipRoutes } from './sip/routes';
import { registerQueueRoutes } from './sip/queue-routes';
import { routeInbound } from './sip/routing';
import { registerSupervisionRoutes } from './supervision/routes';
import { registerRecordingRoutes } from './recordings/routes';
import { GATEWAY_VERSION } from './version';

export interface Gateway {
  app: FastifyInstance;
  ctx: GatewayContext;
  close(): Promise<void>;
}

/** Fastify error codes that are the client's fault, with the code we answer. */
const FASTIFY_ERRORS: Record<string, [number, 'payload_too_large' | 'unsupported_media_type' | 'validation_failed', string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'send application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'validation_failed', 'content-length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'validation_failed', 'empty JSON body'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'validation_failed', 'body is not valid JSON'],
};

/** Decodes UTF-8 or throws (TypeError) at the first byte sequence that is not UTF-8. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies are UTF-8 (RFC 8259) or refused: Fastify's own parser decodes a body with U+FFFD
 * in place of bytes that are not UTF-8, so a client's broken text was stored as text it never
 * sent (the rules of shared/rules/text.ts refuse broken Unicode rather than repair it). Then the
 * same parser as before: Fastify's, with __proto__ and constructor.prototype keys refused.
 */
function refuseJsonNotUtf8(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    let text: string;
    try {
      text = STRICT_UTF8.decode(body);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      done(new GatewayError('validation_failed', 'body is not UTF-8 text'), undefined);
      return;
    }
    parseJson(req, text, done);
  });
}

/** Retry-After of an `unavailable` answer (a PostgreSQL restart takes seconds). */
const UNAVAILABLE_RETRY_SECONDS = 2;
/** How long close() waits for a client to answer the close frame before the socket is cut. */
const SOCKET_CLOSE_WAIT_MS = 2_000;

/** Closes every WebSocket of the server (1001 going away) and resolves once each has emitted `close`. */
async function closeSockets(wss: import('ws').WebSocketServer, waitMs: number): Promise<void> {
  const sockets = [...wss.clients];
  const closing = sockets.map((ws) => new Promise<void>((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    ws.once('close', () => resolve());
  }));
  wss.close(); // refuses new upgrades (503) from here on
  for (const ws of sockets) ws.close(1001, 'gateway shutting down');
  const cut = setTimeout(() => {
    for (const ws of sockets) if (ws.readyState !== ws.CLOSED) ws.terminate();
  }, waitMs);
  await Promise.all(closing);
  clearTimeout(cut);
}

export async function createGateway(opts: {
  db: Db;
  config?: GatewayConfig | GatewayConfigInput;
  clock?: Clock;
  /** Run migrations first (default true). */
  migrate?: boolean;
  /** Log requests and errors (server/log.ts says what a line may hold); `stream` for tests. */
  logger?: boolean | { stream: NodeJS.WritableStream };
}): Promise<Gateway> {
  const config = parseConfig(opts.config ?? {});
  const clock = opts.clock ?? systemClock;
  if (opts.migrate !== false) await migrateToLatest(opts.db);
  const ctx = await createContext(opts.db, config, clock);

  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    logger: opts.logger ? loggerOptions(config.logLevel, typeof opts.logger === 'object' ? opts.logger.stream : undefined) : false,
    trustProxy: false, // decided per request from config.trustedProxies (see auth/net.ts)
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A URL the router cannot decode (a %-escape that is not UTF-8): the API's error shape.
    frameworkErrors: (_err, _req, reply) => {
      void (reply as import('fastify').FastifyReply).code(400).send({ error: { code: 'validation_failed', message: 'malformed URL (not %-encoded UTF-8)' } });
    },
    // What Node's HTTP parser refuses before Fastify sees a request (a URL or headers over
    // 16 KiB, a broken request line) is answered in the API's error shape too.
    clientErrorHandler: (err: Error & { code?: string }, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, code, message] = err.code === 'HPE_HEADER_OVERFLOW'
        ? ['413 Payload Too Large', 'payload_too_large', 'the URL or the headers are too large']
        : ['400 Bad Request', 'validation_failed', 'malformed HTTP request'];
      const body = JSON.stringify({ error: { code, message } });
      if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy(err);
    },
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err instanceof GatewayError) {
      if (err.code === 'rate_limited' && typeof err.extra.retryAfterSeconds === 'number') reply.header('retry-after', String(err.extra.retryAfterSeconds));
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, ...err.extra } });
    }
    if (err.code === '23505') {
      // A unique index answered two requests that ran past the same check at once (one name,
      // one DID, one device enrolled twice): the database kept one; the other is a conflict,
      // exactly as the check would have said, never a server error.
      req.log.warn({ err: errorSummary(err) }, 'unique index refused a concurrent write');
      return reply.status(409).send({ error: { code: 'conflict', message: 'a concurrent request made this change first: reload and try again' } });
    }
    if (databaseUnavailable(err)) {
      // PostgreSQL is restarting or failing over (server/errors.ts): the client retries; a
      // transaction this request had begun was rolled back by the server, so nothing is half-written.
      req.log.warn({ err: errorSummary(err) }, 'the database is unavailable; answered 503');
      reply.header('retry-after', String(UNAVAILABLE_RETRY_SECONDS));
      return reply.status(503).send({ error: { code: 'unavailable', message: 'the database is unavailable for a moment: try again', retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS } });
    }
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    if (known) return reply.status(known[0]).send({ error: { code: known[1], message: known[2] } });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(400).send({ error: { code: 'validation_failed', message: 'malformed request' } });
    }
    req.log.error({ err: errorSummary(err) }, 'unexpected error');
    return reply.status(500).send({ error: { code: 'internal_error', message: 'internal error' } });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error: { code: 'not_found', message: 'no such route' } }));

  await app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    // Shutdown: the plugin's own preClose does not wait for the sockets to close, so their
    // last steps (the agent's `disconnected`, the registration report's removal) would run after
    // close() destroyed the database. This one closes every socket and waits for it (at most
    // SOCKET_CLOSE_WAIT_MS, then terminates it): those steps are queued before close() waits for them.
    preClose: async function closeSocketsFirst(this: FastifyInstance) {
      await closeSockets(this.websocketServer, SOCKET_CLOSE_WAIT_MS);
    },
    // A frame the WebSocket protocol refuses (invalid UTF-8, over maxPayload) is the client's
    // fault: the ws library has already closed the socket (1007/1009); a warning, not an error.
    errorHandler: (err, socket, req) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) req.log.warn({ err: errorSummary(err) }, 'ws: the client sent a frame the protocol refuses');
      else req.log.error({ err: errorSummary(err) }, 'ws: socket failed');
      socket.terminate();
    },
  });
  refuseJsonNotUtf8(app);
  registerCors(app, config.corsOrigins);
  const openapi = openApiDocument(GATEWAY_VERSION);
  route(app, ctx, 'health', async () => ({ status: 'ok' as const, version: GATEWAY_VERSION }));
  app.get('/openapi.json', async () => openapi);
  registerAuthRoutes(app, ctx); // with /me
  registerAdminRoutes(app, ctx);
  registerCrmRoutes(app, ctx);
  registerSipRoutes(app, ctx);
  registerSupervisionRoutes(app, ctx);
  registerQueueRoutes(app, ctx);
  registerRecordingRoutes(app, ctx);
  registerWebSocket(app, ctx);
  await app.ready();
  // the operator model (server/sip/agents.ts): connections a previous process left counted are
  // released before this one accepts sockets; then the deadlines (sweeper) and the engines' view (watchdog)
  await ctx.agents.recoverConnections().catch((err: unknown) => reportBackgroundFailure('agents: recovering connections after a start', err));
  ctx.agents.start();
  ctx.queues.start((query, opts) => routeInbound(ctx, query, opts));
  // recordings: the recorder hears answered / ended calls; the retention purge runs on a timer
  ctx.recorder?.start();
  ctx.recordings.start();
  ctx.alerts.start();
  ctx.chainVerifier.start();

  return {
    app,
    ctx,
    close: async () => {
      await app.close();
      await ctx.chainVerifier.close();
      ctx.queues.close();
      await ctx.queues.idle();
      await ctx.recordings.close();
      await ctx.recorder?.close().catch((err: unknown) => reportBackgroundFailure('recordings: sealing at shutdown', err));
      ctx.agents.close();
      // the closed sockets' `disconnected` steps are stored before the database may go
      await ctx.agents.idle().catch((err: unknown) => reportBackgroundFailure('agents: last steps at shutdown', err));
      await ctx.supervision.idle();
      await ctx.agents.retire().catch((err: unknown) => reportBackgroundFailure('agents: leaving the instances', err));
      ctx.supervision.close();
      ctx.mediaNodes?.close(); // after supervision, which shares its ng clients
      ctx.cards.close();
      await ctx.alerts.close();
      ctx.kamailioAccess?.close();
      await ctx.sessionEvents.close();
      await ctx.sipAccess.idle();
      await ctx.bus.close();
    },
  };
}
