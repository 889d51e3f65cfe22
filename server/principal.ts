// The authenticated principal and how a request becomes one. Permissions, role, teams and
// the session are read from the database on every request (not from token claims), so a
// role change, a disabled account or a revoked session applies to the very next call.
import type { Permission } from '../shared/gateway/permissions';
import { eventBy } from './audit/audit';
import type { GatewayContext } from './context';
import type { Executor } from './db/schema';
import { allowedForUser } from './auth/allowlist';
import { ipRefused } from './alerts/raise';
import { sessionExpired } from './auth/sign-in-helpers';
import { ForgedTokenError } from './auth/tokens';
import { GatewayError } from './errors';
import { orgPolicy } from './policy';
import { parsePermissions, type Principal } from './auth/principal-type';

export { actorOf, parsePermissions, type Principal } from './auth/principal-type';

export async function loadUserAccess(db: Executor, userId: string) {
  const user = await db
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select([
      'users.id', 'users.org_id', 'users.username', 'users.display_name', 'users.disabled', 'users.totp_enabled', 'users.must_change_password',
      'roles.key as role', 'roles.permissions',
    ])
    .where('users.id', '=', userId)
    .executeTakeFirst();
  if (!user) return null;
  const teams = await db.selectFrom('team_members').select('team_id').where('user_id', '=', userId).execute();
  return { ...user, permissions: parsePermissions(user.permissions), teamIds: teams.map((t) => t.team_id).sort() };
}

const SESSION_TOUCH_MS = 60_000;

/**
 * Bearer token -> principal. Every HTTP route (server/http.ts) and the /ws auth message pass
 * through here, so every rule below holds on every path:
 *   - the token verifies (HS256, issuer, audience, expiry); a forged one (bad signature,
 *     alg:none, wrong audience, malformed) is audited `auth.token_forged`, coalesced per IP;
 *   - then everything principalForSession checks (session, user, role, teams, allowlist).
 */
export async function authenticate(
  ctx: GatewayContext,
  authorization: string | undefined,
  sourceIp: string,
  via: 'http' | 'ws' = 'http',
): Promise<Principal> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!authorization) throw new GatewayError('unauthenticated', 'sign in first: missing Authorization: Bearer <access token>');
  if (!m) {
    const bearer = /^Bearer (\S*)$/.exec(authorization);
    if (bearer) {
      // alg:none tokens arrive with an empty signature part: a forgery, not a typo.
      const reason = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.$/.test(bearer[1]!) ? 'unsigned' : 'malformed';
      await ctx.securityAudit.record(sourceIp, { action: 'auth.token_forged', sourceIp, detail: { reason, via } });
    }
    throw new GatewayError('token_invalid', 'Authorization header is not "Bearer <JWT>"');
  }
  let claims;
  try {
    claims = await ctx.accessTokens.verify(m[1]!);
  } catch (e) {
    if (e instanceof ForgedTokenError) {
      await ctx.securityAudit.record(sourceIp, { action: 'auth.token_forged', sourceIp, detail: { reason: e.reason, via } });
    }
    throw e;
  }
  return principalForSession(ctx, claims, sourceIp, { via });
}

/**
 * The one re-authentication of a session, from the database: the session is live (not
 * revoked, within its absolute and idle lifetime), the user is enabled, and the source
 * address is inside the org allowlist and the role's allowlist (server/auth/net.ts
 * `allowedForUser`, the same rule sign-in and refresh apply) -> else 403 ip_not_allowed, audited
 * `auth.ip_refused` coalesced per user+IP. Role, permissions and teams are read fresh.
 * /ws calls it again on every session event and periodically (server/ws/live-principal.ts) with
 * `live: true`: an open socket is activity, so the idle limit and the last-seen touch are
 * left to the HTTP requests and refreshes (the absolute limit still applies).
 */
export async function principalForSession(
  ctx: GatewayContext,
  claims: { sessionId: string; userId: string },
  sourceIp: string,
  opts: { via?: 'http' | 'ws'; live?: boolean } = {},
): Promise<Principal> {
  const session = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', claims.sessionId).executeTakeFirst();
  if (!session || session.user_id !== claims.userId) throw new GatewayError('token_invalid', 'unknown session');
  if (session.revoked_at) throw new GatewayError('session_revoked', 'this session was signed out or revoked');
  const now = ctx.clock.now();
  const policy = await orgPolicy(ctx.db, session.org_id);
  if (sessionExpired(session, now, opts.live ? undefined : { lastSeenAt: session.last_seen_at, policy })) {
    throw new GatewayError('session_expired', 'session expired: sign in again');
  }
  const user = await loadUserAccess(ctx.db, claims.userId);
  if (!user || user.disabled) throw new GatewayError('account_disabled', 'account is disabled');
  if (!allowedForUser(policy, user.role, sourceIp)) {
    const who = { orgId: user.org_id, userId: user.id, username: user.username, sourceIp, deviceId: session.device_id };
    const via = opts.via === 'ws' ? 'ws' : 'request';
    await ipRefused(ctx, { ...eventBy(who, 'auth.ip_refused', { type: 'session', id: session.id }, { route: via, role: user.role }), sourceIp }, who, via, `${user.id}|${sourceIp}`);
    throw new GatewayError('ip_not_allowed', 'not allowed from this network address');
  }
  if (!opts.live && now.getTime() - session.last_seen_at.getTime() > SESSION_TOUCH_MS) {
    await ctx.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', session.id).execute();
  }
  return {
    userId: user.id,
    orgId: user.org_id,
    username: user.username,
    displayName: user.display_name,
    role: user.role,
    permissions: new Set(user.permissions),
    teamIds: user.teamIds,
    sessionId: session.id,
    deviceId: session.device_id,
    sourceIp,
    totpEnrolmentOnly: session.totp_enrolment_only && !user.totp_enabled,
    passwordChangeRequired: user.must_change_password,
    sessionExpiresAt: session.absolute_expires_at,
  };
}

/**
 * The permission a route's contract names (route() in server/http.ts calls this for every
 * route). A refusal is audited `authz.forbidden` (user, route, permission, source address),
 * coalesced per user and route (server/auth/authz-audit.ts): a signed-in user hammering a
 * route cannot grow the log faster than one entry per route per minute.
 */
export async function requirePermission(ctx: GatewayContext, principal: Principal, permission: Permission, route: string): Promise<void> {
  if (!(await permittedOrAudited(ctx, principal, permission, route))) {
    throw new GatewayError('forbidden', `this needs the "${permission}" permission`);
  }
}

/**
 * The same check for paths that answer a refusal their own way (the /ws messages): true when
 * the principal holds the permission, else the refusal is audited exactly like a route's
 * (`route` names the path, e.g. "ws:boardSubscribe") and false is returned.
 */
export async function permittedOrAudited(ctx: GatewayContext, principal: Principal, permission: Permission, route: string): Promise<boolean> {
  if (principal.permissions.has(permission)) return true;
  await ctx.authzAudit.forOrg(principal.orgId).record(`${principal.userId}|${route}`,
    eventBy(principal, 'authz.forbidden', { type: 'route', id: route }, { route, permission, role: principal.role }));
  return false;
}

