// Telephony routes: SIP credentials for the softphone, agent states for team leads, and the
// routing query Kamailio makes (authenticated by a shared secret header, not a user token).
import type { FastifyInstance } from 'fastify';
import { appendAudit, eventBy } from '../audit/audit';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { parsePermissions } from '../auth/principal-type';
import { sipUserOf } from './agents';
import { ephemeralCredentials } from './credentials';
import { routeInbound } from './routing';
import { auditTransfer } from './transfers';
import { outboundCallerId } from './outbound';
import { registerDirectoryRoutes } from './directory';

export function registerSipRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock, config } = ctx;

  route(app, ctx, 'sipCredentials', async ({ principal, sourceIp }) => {
    const secret = config.sip.authephSecrets[0];
    if (!secret) throw new GatewayError('not_found', 'SIP is not configured on this gateway (sip.authephSecrets)');
    const sipUser = sipUserOf(principal.username);
    // issued after the user's last SIP access cut (if any): Kamailio refuses older ones
    const expiresAt = new Date(((await ctx.sipAccess.issueSecond(principal.userId, clock.now())) + config.sip.credentialTtlSeconds) * 1000);
    const { username, password } = ephemeralCredentials(secret, sipUser, expiresAt);
    await db.transaction().execute((tx) =>
      appendAudit(tx, clock, {
        ...eventBy(principal, 'sip.credentials_issued', { type: 'user', id: principal.userId }, { sipUser, expiresAt: expiresAt.toISOString() }),
        sourceIp,
      }),
    );
    return {
      authorizationUsername: username,
      authorizationPassword: password,
      aor: `sip:${sipUser}@${config.sip.domain}`,
      expiresAt: expiresAt.toISOString(),
      wsServers: config.sip.wsServers,
    };
  });

  route(app, ctx, 'listAgents', async ({ principal }) => {
    let users = db
      .selectFrom('users')
      .innerJoin('roles', 'roles.id', 'users.role_id')
      .select(['users.id', 'users.username', 'users.display_name', 'roles.permissions'])
      .where('users.org_id', '=', principal.orgId)
      .where('users.disabled', '=', false);
    if (!principal.permissions.has('users:read')) {
      // a team lead: the members of the teams they lead
      const led = db.selectFrom('team_members').select('team_id').where('user_id', '=', principal.userId).where('member_role', '=', 'lead');
      users = users.where('users.id', 'in', db.selectFrom('team_members').select('user_id').where('team_id', 'in', led));
    }
    const rows = (await users.orderBy('users.username').execute()).filter((r) => parsePermissions(r.permissions).includes('calls:handle'));
    const states = await ctx.agents.getMany(rows.map((r) => r.id));
    return {
      agents: rows
        .map((r) => {
          const a = states.get(r.id);
          return {
            userId: r.id, username: r.username, displayName: r.display_name, sipUser: sipUserOf(r.username),
            state: a?.state ?? 'offline', reason: a?.reason ?? null, since: a ? a.since.toISOString() : null,
          };
        }),
    };
  });

  route(app, ctx, 'sipRoute', async ({ query, req }) => {
    const decision = await routeInbound(ctx, query);
    // which rtpengine anchors it (several Kamailio nodes): best effort, media-nodes.ts also asks rtpengine
    if (decision.reason === 'routed' && ctx.mediaNodes) {
      await ctx.mediaNodes.record(query.callId, query.media).catch((err: unknown) => req.log.warn({ err }, 'media node of a routed call not recorded'));
    }
    return decision;
  });

  registerDirectoryRoutes(app, ctx);

  route(app, ctx, 'sipOutbound', async ({ query }) => ({ callerId: await outboundCallerId(db, query.callId, query.user) }));

  route(app, ctx, 'sipTransfer', async ({ query, req, sourceIp }) => {
    return { audited: await auditTransfer(ctx, query, sourceIp, (obj, msg) => req.log.warn(obj, msg)) };
  });
}
