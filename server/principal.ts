// The authenticated principal and how a request becomes one. Permissions, role, teams and
// the session are read from the database on every request (not from token claims), so a
// role change, a disabled account or a revoked session applies to the very next call.
import type { Permission } from '../shared/gateway/permissions';
import type { GatewayContext } from './context';
import type { Executor } from './db/schema';
import { GatewayError } from './errors';
import { orgPolicy } from './policy';

export interface Principal {
  userId: string;
  orgId: string;
  username: string;
  displayName: string;
  role: string;
  permissions: ReadonlySet<Permission>;
  teamIds: string[];
  sessionId: string;
  deviceId: string | null;
  sourceIp: string;
  /** Policy requires TOTP and the user has none yet: only enrolment routes are open. */
  totpEnrolmentOnly: boolean;
}

export async function loadUserAccess(db: Executor, userId: string) {
  const user = await db
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select([
      'users.id', 'users.org_id', 'users.username', 'users.display_name', 'users.disabled', 'users.totp_enabled',
      'roles.key as role', 'roles.permissions',
    ])
    .where('users.id', '=', userId)
    .executeTakeFirst();
  if (!user) return null;
  const teams = await db.selectFrom('team_members').select('team_id').where('user_id', '=', userId).execute();
  return { ...user, permissions: parsePermissions(user.permissions), teamIds: teams.map((t) => t.team_id).sort() };
}

export function parsePermissions(value: unknown): Permission[] {
  const list = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(list) ? (list as Permission[]) : [];
}

const SESSION_TOUCH_MS = 60_000;

export async function authenticate(ctx: GatewayContext, authorization: string | undefined, sourceIp: string): Promise<Principal> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!authorization) throw new GatewayError('unauthenticated', 'sign in first: missing Authorization: Bearer <access token>');
  if (!m) throw new GatewayError('token_invalid', 'Authorization header is not "Bearer <JWT>"');
  const claims = await ctx.accessTokens.verify(m[1]!);
  const session = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', claims.sessionId).executeTakeFirst();
  if (!session || session.user_id !== claims.userId) throw new GatewayError('token_invalid', 'unknown session');
  if (session.revoked_at) throw new GatewayError('session_revoked', 'this session was signed out or revoked');
  const now = ctx.clock.now();
  const policy = await orgPolicy(ctx.db, session.org_id);
  if (now >= session.absolute_expires_at || now.getTime() - session.last_seen_at.getTime() >= policy.sessions.idleMinutes * 60_000) {
    throw new GatewayError('session_expired', 'session expired: sign in again');
  }
  const user = await loadUserAccess(ctx.db, claims.userId);
  if (!user || user.disabled) throw new GatewayError('account_disabled', 'account is disabled');
  if (now.getTime() - session.last_seen_at.getTime() > SESSION_TOUCH_MS) {
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
  };
}

export function requirePermission(principal: Principal, permission: Permission): void {
  if (!principal.permissions.has(permission)) {
    throw new GatewayError('forbidden', `this needs the "${permission}" permission`);
  }
}

/** Actor fields for audit entries. */
export const actorOf = (p: Principal) => ({ userId: p.userId, username: p.username });
