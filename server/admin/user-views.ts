// Users as the admin API (and /me, and a sign-in's answer) shows them.
import type { UserView } from '../../shared/gateway/api';
import { parsePermissions } from '../auth/principal-type';
import { groupBy } from '../db/rows';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';

/**
 * Users as the admin API shows them, in three queries whatever their number (users with their
 * role, their teams, their locks): the user list does not query per row.
 */
export async function userViews(db: Executor, which: { orgId: string } | { ids: string[] }, now: Date): Promise<UserView[]> {
  if ('ids' in which && which.ids.length === 0) return [];
  let q = db
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select(['users.id', 'users.org_id', 'users.username', 'users.display_name', 'users.disabled', 'users.totp_enabled', 'roles.key as role', 'roles.permissions'])
    .orderBy('users.username');
  q = 'ids' in which ? q.where('users.id', 'in', which.ids) : q.where('users.org_id', '=', which.orgId);
  const users = await q.execute();
  if (users.length === 0) return [];
  const ids = users.map((u) => u.id);
  const teams = await db.selectFrom('team_members').select(['user_id', 'team_id']).where('user_id', 'in', ids).execute();
  const locks = await db.selectFrom('account_locks').select(['username', 'locked_until']).where('username', 'in', users.map((u) => u.username)).execute();
  const teamsOf = groupBy(teams, (t) => t.user_id, (t) => t.team_id);
  const lockOf = new Map(locks.map((l) => [l.username, l.locked_until]));
  return users.map((u) => {
    const lockedUntil = lockOf.get(u.username);
    return {
      id: u.id,
      orgId: u.org_id,
      username: u.username,
      displayName: u.display_name,
      role: u.role,
      permissions: [...parsePermissions(u.permissions)].sort(),
      teamIds: (teamsOf.get(u.id) ?? []).sort(),
      disabled: u.disabled,
      totpEnabled: u.totp_enabled,
      locked: !!lockedUntil && lockedUntil > now,
    };
  });
}

export async function userView(db: Executor, userId: string, now: Date): Promise<UserView> {
  const [view] = await userViews(db, { ids: [userId] }, now);
  if (!view) throw new GatewayError('not_found', 'no such user');
  return view;
}
