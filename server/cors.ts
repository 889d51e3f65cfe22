// CORS for the renderer, which calls a few gateway routes (screen pop, notes) directly with
// a bearer access token: origin `koe://app` in Electron, `http://127.0.0.1:<port>` in the
// dev host (one origin per dev host window: `npm start` opens an operator's and a team lead's).
// A strict list from config (`corsOrigins`, or KOE_GATEWAY_CORS_ORIGINS comma-separated), each
// entry an exact origin checked at start (`CorsOrigin`: a wildcard, a path or an origin no
// browser would send stops the gateway with the key named); no credentials (no cookies are
// used, the token is an Authorization header), so Access-Control-Allow-Credentials is never
// sent. A preflight from an origin outside the list is refused with 403; other requests
// from such an origin are served without CORS headers, so a browser will not let the page
// read the answer.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/**
 * One origin exactly as a browser writes it in its Origin header, or it could never match:
 * scheme://host[:port], lower case, no path, no default port, no wildcard.
 */
export const CorsOrigin = z.string().superRefine((v, ctx) => {
  const fail = (why: string) => ctx.addIssue({ code: 'custom', message: `"${v.slice(0, 80)}" is not an allowed origin: ${why}` });
  if (v === 'koe://app') return;
  if (v.includes('*')) return fail('no wildcards: list each origin exactly (scheme://host[:port])');
  const m = /^(https?):\/\/([a-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/.exec(v);
  if (!m) {
    if (/^https?:\/\/[^/]+\/.*$/i.test(v)) return fail('an origin has no path, not even a trailing "/"');
    if (/[A-Z]/.test(v)) return fail('browsers send the scheme and host in lower case');
    return fail('expected scheme://host[:port] with scheme http or https (or koe://app)');
  }
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65_535)) return fail('the port must be 1 to 65535');
  if ((m[1] === 'http' && port === 80) || (m[1] === 'https' && port === 443)) return fail(`browsers leave out the default port ${port}: write it without`);
});

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
