// Registers one route from the shared contract: applies auth-route rate limits, authenticates
// and checks the permission the contract names (a refusal is audited), then zod-parses params,
// query and body (strict: unknown fields are refused), writes the audit entries of refusals a
// handler throws (AuditedRefusal), and validates the response before it leaves.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROUTES, type RouteBody, type RouteName, type RouteParams, type RouteQuery, type RouteResponse, type RouteSpec } from '../shared/gateway/api';
import { appendAudit } from './audit/audit';
import { AuditedRefusal } from './auth/audited-refusal';
import { assertFromKamailio } from './auth/kamailio-secret';
import { clientAddress } from './auth/net';
import type { GatewayContext } from './context';
import { GatewayError } from './errors';
import { errorSummary } from './log';
import { sessionLimit } from './auth/principal-type';
import { authenticate, requirePermission, type Principal } from './principal';

export interface HandlerInput<N extends RouteName> {
  body: RouteBody<N>;
  query: RouteQuery<N>;
  params: RouteParams<N>;
  principal: N extends PublicRoute ? null : Principal;
  sourceIp: string;
  req: FastifyRequest;
  reply: FastifyReply;
}
type PublicRoute = { [K in RouteName]: (typeof ROUTES)[K]['auth'] extends null ? K : never }[RouteName];

const NoBody = z.union([z.undefined(), z.null(), z.strictObject({})]);

/** What a validation_failed answer quotes back, at most: issues, and characters of an issue's path and message. */
export const ISSUES_MAX = 20;
export const ISSUE_PATH_MAX = 100;
export const ISSUE_MESSAGE_MAX = 200;

/** At most `max` characters, with an ellipsis when cut (never half a surrogate pair). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 2] ?? '') ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/**
 * A zod error as the API's issues, bounded: zod names every unknown key in its message and
 * every record key in the path, so an answer would otherwise quote the payload back (a 60 KiB
 * key, 2,000 keys), NUL and bidi controls included. The one mapping of a zod error to
 * `issues`: route() below and the handlers that check a schema of their own use it.
 */
export function boundedIssues(error: z.ZodError, where?: string): { path: string; message: string }[] {
  return error.issues.slice(0, ISSUES_MAX).map((i) => ({
    path: cut([...(where ? [where] : []), ...i.path.map((p) => cut(String(p), 40))].join('.'), ISSUE_PATH_MAX),
    message: cut(i.message, ISSUE_MESSAGE_MAX),
  }));
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new GatewayError('validation_failed', `invalid ${where}`, { issues: boundedIssues(result.error, where) });
}

export function sourceIpOf(ctx: GatewayContext, req: FastifyRequest): string {
  const xff = req.headers['x-forwarded-for'];
  return clientAddress(req.socket.remoteAddress ?? '0.0.0.0', Array.isArray(xff) ? xff.join(',') : xff, ctx.trustedProxies);
}

/**
 * Writes the entries of an audited refusal, one per refusal like any audited action (only
 * signed-in users with a permission that reaches the check get here; the cheap, repeatable
 * refusal, a missing route permission, is coalesced instead: server/auth/authz-audit.ts).
 * A failed write is logged and the refusal still goes out.
 */
async function writeRefusal(ctx: GatewayContext, req: FastifyRequest, err: AuditedRefusal, name: RouteName): Promise<void> {
  try {
    await ctx.db.transaction().execute(async (tx) => {
      for (const event of err.audits) await appendAudit(tx, ctx.clock, { ...event, detail: { ...event.detail, route: name } });
    });
  } catch (auditErr) {
    req.log.error({ actions: err.audits.map((e) => e.action), route: name, err: errorSummary(auditErr) }, 'audit: a refusal entry could not be written');
  }
}

export function route<N extends RouteName>(
  app: FastifyInstance,
  ctx: GatewayContext,
  name: N,
  handler: (input: HandlerInput<N>) => Promise<RouteResponse<N>>,
): void {
  const spec: RouteSpec = ROUTES[name];
  app.route({
    method: spec.method,
    url: spec.path,
    ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
    handler: async (req, reply) => {
      const sourceIp = sourceIpOf(ctx, req);
      if (spec.path.startsWith('/auth/')) {
        const wait = await ctx.authBuckets.take(sourceIp);
        if (wait > 0) throw new GatewayError('rate_limited', 'too many requests: slow down', { retryAfterSeconds: wait });
      }
      // Who asks comes before what they ask: an unauthenticated caller, one outside the
      // allowlist or one without the permission is refused (and audited) whatever the body
      // holds, and learns nothing about what the route would accept.
      let principal: Principal | null = null;
      if (spec.auth === 'kamailio') assertFromKamailio(ctx.config, req);
      else if (spec.auth !== null) {
        principal = await authenticate(ctx, req.headers.authorization, sourceIp);
        // A limited session (temporary password, TOTP enrolment pending): one rule, server/auth/principal-type.ts.
        const limit = sessionLimit(principal);
        if (limit && !limit.routes.has(name)) throw new GatewayError(limit.code, limit.message);
        if (spec.auth !== 'authenticated') await requirePermission(ctx, principal, spec.auth, name);
      }
      const params = spec.params ? parse(spec.params, req.params, 'params') : undefined;
      const query = parse(spec.query ?? z.strictObject({}), req.query ?? {}, 'query');
      const body = parse(spec.body ?? NoBody, req.body, 'body');
      let result: RouteResponse<N>;
      try {
        result = await handler({ body, query, params, principal, sourceIp, req, reply } as HandlerInput<N>);
      } catch (err) {
        // A refusal that must be audited (server/auth/authority.ts, tenancy.ts): the handler's
        // transaction has rolled back by now, so the entry is written in one of its own.
        if (err instanceof AuditedRefusal) await writeRefusal(ctx, req, err, name);
        throw err;
      }
      return spec.response.parse(result);
    },
  });
}
