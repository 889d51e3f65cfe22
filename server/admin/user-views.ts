// Users as the admin API (and /me, and a sign-in's answer) shows them.
import type { UserView } from '../../shared/gateway/api';
import { parsePermissions } from '../auth/principal-type';
import { groupBy } from '../db/rows';
import { sql } from 'kysely';
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
    .select(['users.id', 'users.org_id', 'users.username', 'users.display_name', 'users.disabled', 'users.totp_enabled', 'users.must_change_password', 'roles.key as role', 'roles.permissions'])
    .orderBy('users.username');
  q = 'ids' in which ? q.where('users.id', 'in', which.ids) : q.where('users.org_id', '=', which.orgId).where('users.deleted_at', 'is', null);
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
      mustChangePassword: u.must_change_password,
      locked: !!lockedUntil && lockedUntil > now,
    };
  });
}

/** LIKE pattern text for a literal string (%, _ and the escape itself taken literally). */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * One page of the org's users by username (index users_org_username, migration 0018): the
 * scan walks the index from the cursor and stops after `limit` + 1 matches, so a page costs the
 * same on the first and the hundredth page. `q`: a username prefix or a part of the display name
 * (filtered on that walk). The views of the page are read as userViews does (three queries).
 */
export async function userPage(db: Executor, orgId: string, query: { q?: string | undefined; cursor?: string | undefined; limit: number }, now: Date) {
  // deleted users (tombstones, server/admin/users.ts deleteUser) are not listed
  let q = db.selectFrom('users').select(['id', 'username']).where('org_id', '=', orgId).where('deleted_at', 'is', null).orderBy('username').limit(query.limit + 1);
  if (query.cursor) q = q.where('username', '>', query.cursor);
  if (query.q) {
    const text = likeLiteral(query.q);
    q = q.where((eb) => eb.or([
      eb('username', 'like', sql<string>`${`${text}%`} escape '\\'`),
      eb('display_name', 'like', sql<string>`${`%${text}%`} escape '\\'`),
    ]));
  }
  const rows = await q.execute();
  const page = rows.slice(0, query.limit);
  const views = await userViews(db, { ids: page.map((r) => r.id) }, now);
  return { users: views, nextCursor: rows.length > query.limit ? page[page.length - 1]!.username : null };
}

export async function userView(db: Executor, userId: string, now: Date): Promise<UserView> {
  const [view] = await userViews(db, { ids: [userId] }, now);
  if (!view) throw new GatewayError('not_found', 'no such user');
  return view;
}
