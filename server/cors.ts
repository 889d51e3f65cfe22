// CORS for the renderer, which calls a few gateway routes (screen pop, notes) directly with
// a bearer access token: origin `koe://app` in Electron, `http://127.0.0.1:<port>` in the
// dev host. A strict allowlist from config (`corsOrigins`); no credentials (no cookies are
// used, the token is an Authorization header), so Access-Control-Allow-Credentials is never
// sent. A preflight from an origin outside the list is refused with 403; other requests
// from such an origin are served without CORS headers, so a browser will not let the page
// read the answer.
import type { FastifyInstance } from 'fastify';

const METHODS = 'GET, POST, PATCH, PUT, DELETE';
// range: the recordings player asks for byte ranges of a stream (server/recordings); it reads content-range back
const HEADERS = 'authorization, content-type, range';
const EXPOSED = 'content-range';

export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (typeof origin !== 'string') return;
    reply.header('vary', 'Origin');
    if (!allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', EXPOSED);
  });
  app.route({
    method: 'OPTIONS',
    url: '/*',
    handler: async (req, reply) => {
      const origin = req.headers.origin;
      if (typeof origin !== 'string' || !allowed.has(origin)) {
        return reply.status(403).send({ error: { code: 'forbidden', message: 'origin not allowed' } });
      }
      return reply
        .status(204)
        .header('access-control-allow-methods', METHODS)
        .header('access-control-allow-headers', HEADERS)
        .header('access-control-max-age', '600')
        .send();
    },
  });
}
