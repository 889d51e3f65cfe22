// createGateway({ db, config, clock }): the one factory the CLI and the tests use. It runs
// migrations, wires the routes from the shared contract and returns the Fastify app.
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Clock } from './clock';
import { systemClock } from './clock';
import { parseConfig, type GatewayConfig, type GatewayConfigInput } from './config';
import { createContext, type GatewayContext } from './context';
import { migrateToLatest } from './db/migrations';
import type { Db } from './db/schema';
import { GatewayError } from './errors';
import { route } from './http';
import { registerCors } from './cors';
import { logSerializers } from './log';
import { openApiDocument } from './openapi';
import { registerAdminRoutes } from './routes/admin';
import { registerAuthRoutes } from './routes/auth';
import { registerCrmRoutes } from './routes/crm';
import { registerMeRoutes } from './routes/me';
import { registerWebSocket } from './routes/ws';
import { registerSipRoutes } from './routes/sip';
import { registerSupervisionRoutes } from './routes/supervision';
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

export async function createGateway(opts: {
  db: Db;
  config?: GatewayConfig | GatewayConfigInput;
  clock?: Clock;
  /** Run migrations first (default true). */
  migrate?: boolean;
  logger?: boolean;
}): Promise<Gateway> {
  const config = parseConfig(opts.config ?? {});
  const clock = opts.clock ?? systemClock;
  if (opts.migrate !== false) await migrateToLatest(opts.db);
  const ctx = await createContext(opts.db, config, clock);

  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    logger: opts.logger ? { level: config.logLevel, redact: ['req.headers.authorization'], serializers: logSerializers } : false,
    trustProxy: false, // decided per request from config.trustedProxies (see auth/net.ts)
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err instanceof GatewayError) {
      if (err.code === 'rate_limited' && typeof err.extra.retryAfterSeconds === 'number') reply.header('retry-after', String(err.extra.retryAfterSeconds));
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, ...err.extra } });
    }
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    if (known) return reply.status(known[0]).send({ error: { code: known[1], message: known[2] } });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(400).send({ error: { code: 'validation_failed', message: 'malformed request' } });
    }
    req.log.error(err);
    return reply.status(500).send({ error: { code: 'internal_error', message: 'internal error' } });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error: { code: 'not_found', message: 'no such route' } }));

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  registerCors(app, config.corsOrigins);
  const openapi = openApiDocument(GATEWAY_VERSION);
  route(app, ctx, 'health', async () => ({ status: 'ok' as const, version: GATEWAY_VERSION }));
  app.get('/openapi.json', async () => openapi);
  registerAuthRoutes(app, ctx);
  registerMeRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerCrmRoutes(app, ctx);
  registerSipRoutes(app, ctx);
  registerSupervisionRoutes(app, ctx);
  registerWebSocket(app, ctx);
  await app.ready();

  return {
    app,
    ctx,
    close: async () => {
      await app.close();
      ctx.agents.close();
      ctx.supervision.close();
    },
  };
}
