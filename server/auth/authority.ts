// Authority: the one place that decides whether a principal may grant a permission, assign a
// role, or act on another user. Every admin route that grants, assigns or resets goes
// through it; a refusal is a 403 `forbidden` that leaves an `authz.refused` entry.
//
// The rule is one inclusion: a principal P can only hand out, or act on, what it holds.
//   - defining a role (create, or change its permissions): the resulting set ⊆ P's, and for a
//     change also the role's current set ⊆ P's (changing a role acts on everyone who holds
//     it: a helpdesk cannot strip or rename a role more powerful than its own);
//   - assigning a role to a user (create or patch): the role's permissions ⊆ P's;
//   - acting on a user (patch, disable, reset password or TOTP, unlock, revoke sessions,
//     reset, revoke or rename devices): the target's permissions ⊆ P's, so a holder of
//     users:manage cannot touch an admin, nor a lead with team:supervise unless it has it;
//   - team membership: making someone a lead of operators grants supervision over them, and
//     moving someone in or out of a team changes who supervises them, so every member before
//     and after the change ⊆ P's (teams:manage is not a way around the rule);
//   - nobody changes the permissions of their own role: with the inclusion rule the only
//     change left would be removing, which takes the rights of every peer in the role and
//     can lock the last holder of roles:manage out; someone else (an admin) does it;
//   - the built-in admin role keeps every permission (an org cannot lock itself out); the
//     built-in operator and team_lead roles follow the inclusion rule like any other role;
//   - nobody changes their own role, disables or deletes themselves (assertNotSelf): it would
//     lock them out mid-session, and an org's last admin could strand it;
//   - an org keeps at least one administrator (assertAdminsRemain): an enabled, undeleted
//     holder of the built-in admin role (the role that keeps every permission, above). Every
//     change that can take the last one away (a role change, disabling, deleting) asks it,
//     in the change's transaction, with the org row locked so two admins cannot remove each
//     other at once; the refusal is `last_admin` (409), audited as authz.refused.
import { eventBy, type AuditEvent } from '../audit/audit';
import { PERMISSIONS, type Permission } from '../../shared/gateway/permissions';
import { AuditedRefusal } from './audited-refusal';
import { parsePermissions, type Principal } from './principal-type';
import type { Executor } from '../db/schema';

export { AuditedRefusal } from './audited-refusal';

export interface TargetUser {
  id: string;
  username: string;
  role: string;
  permissions: unknown;
}
export interface RoleRow {
  id: string;
  key: string;
  builtin: boolean;
  permissions: unknown;
}

const KNOWN = new Set<string>(PERMISSIONS);

/**
 * The permissions in `wanted` that P does not hold (sorted, unique). A string that is no
 * permission (left in a role row by an older version) grants nothing, so it is not counted.
 */
export function missingPermissions(p: Principal, wanted: Iterable<Permission>): Permission[] {
  return [...new Set([...wanted].filter((x) => KNOWN.has(x) && !p.permissions.has(x)))].sort();
}

function refuse(p: Principal, attempted: string, target: { type: string; id: string } | null, message: string, detail: Record<string, unknown>): never {
  throw new AuditedRefusal('forbidden', message, eventBy(p, 'authz.refused', target, { attempted, ...detail }));
}

const list = (perms: string[]) => perms.map((x) => `"${x}"`).join(', ');

/** Creating a role with `permissions`. */
export function assertMayCreateRole(p: Principal, key: string, permissions: Permission[]): void {
  const missing = missingPermissions(p, permissions);
  if (missing.length) {
    refuse(p, 'role.create', { type: 'role', id: key }, `you cannot grant permissions you do not hold: ${list(missing)}`, { key, missing });
  }
}

/** Changing a role: its name and/or (when `next` is given) its permissions. */
export function assertMayChangeRole(p: Principal, role: RoleRow, next: Permission[] | undefined): void {
  const current = parsePermissions(role.permissions);
  const target = { type: 'role', id: role.id };
  const changesPermissions = next !== undefined && [...new Set(next)].sort().join(',') !== [...new Set(current)].sort().join(',');
  if (role.builtin && role.key === 'admin' && changesPermissions) {
    refuse(p, 'role.update', target, 'the built-in admin role keeps every permission (so an org cannot lock itself out)', { key: role.key });
  }
  if (changesPermissions && role.key === p.role) {
    refuse(p, 'role.update', target, 'you cannot change the permissions of your own role: ask another administrator', { key: role.key });
  }
  const beyond = missingPermissions(p, current);
  if (beyond.length) {
    refuse(p, 'role.update', target, `this role holds permissions you do not have (${list(beyond)}): you cannot change it`, { key: role.key, missing: beyond });
  }
  const missing = next ? missingPermissions(p, next) : [];
  if (missing.length) {
    refuse(p, 'role.update', target, `you cannot grant permissions you do not hold: ${list(missing)}`, { key: role.key, missing });
  }
}

/** Giving `role` to a user (at create: `user` is null; at patch: the user). */
export function assertMayAssignRole(p: Principal, role: { key: string; permissions: unknown }, user: { id: string } | null, username: string): void {
  const missing = missingPermissions(p, parsePermissions(role.permissions));
  if (missing.length) {
    refuse(p, user ? 'user.role_change' : 'user.create', user ? { type: 'user', id: user.id } : { type: 'username', id: username },
      `you cannot give the role "${role.key}": it has permissions you do not hold (${list(missing)})`, { role: role.key, missing });
  }
}

/** Acting on a user (`attempted` names the action for the audit entry). */
export function assertMayActOn(p: Principal, user: TargetUser, attempted: string): void {
  const missing = missingPermissions(p, parsePermissions(user.permissions));
  if (missing.length) {
    refuse(p, attempted, { type: 'user', id: user.id },
      `you cannot do this to "${user.username}": their role has permissions you do not hold (${list(missing)})`, { role: user.role, missing });
  }
}

/** What an actor may not do to their own account (it would lock them out). */
export type SelfAction = 'user.role_change' | 'user.disable' | 'user.delete';

/** Refuses `attempted` when the target is the actor. */
export function assertNotSelf(p: Principal, user: { id: string }, attempted: SelfAction): void {
  if (user.id !== p.userId) return;
  const what = attempted === 'user.role_change' ? 'change your own role' : attempted === 'user.disable' ? 'disable yourself' : 'delete yourself';
  refuse(p, attempted, { type: 'user', id: user.id }, `you cannot ${what}: ask another administrator`, { self: true });
}

/**
 * Refuses a change that would leave p's org without an administrator: `leaving` are the users
 * the change takes out of the admin role (demoted, disabled or deleted). Call it in the change's
 * transaction: it locks the org row, so concurrent removals are counted one after the other.
 */
export async function assertAdminsRemain(tx: Executor, p: Principal, leaving: { id: string; role: string }, attempted: SelfAction): Promise<void> {
  if (leaving.role !== 'admin') return;
  await tx.selectFrom('orgs').select('id').where('id', '=', p.orgId).forUpdate().executeTakeFirst();
  const others = await tx
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select('users.id')
    .where('users.org_id', '=', p.orgId)
    .where('roles.key', '=', 'admin')
    .where('roles.builtin', '=', true)
    .where('users.disabled', '=', false)
    .where('users.deleted_at', 'is', null)
    .where('users.id', '!=', leaving.id)
    .limit(1)
    .execute();
  if (others.length === 0) {
    throw new AuditedRefusal('last_admin', 'this is the organisation\'s last administrator: make someone else an administrator first',
      eventBy(p, 'authz.refused', { type: 'user', id: leaving.id }, { attempted, reason: 'last_admin' }));
  }
}

/** Changing a team's members: every member before and after the change. */
export async function assertMayChangeTeam(ex: Executor, p: Principal, teamId: string, userIds: string[]): Promise<void> {
  const before = await ex.selectFrom('team_members').select('user_id').where('team_id', '=', teamId).execute();
  const ids = [...new Set([...userIds, ...before.map((m) => m.user_id)])];
  if (ids.length === 0) return;
  const users = await ex
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select(['users.id', 'users.username', 'roles.key as role', 'roles.permissions'])
    .where('users.id', 'in', ids)
    .where('users.org_id', '=', p.orgId)
    .orderBy('users.username')
    .execute();
  for (const u of users) {
    const missing = missingPermissions(p, parsePermissions(u.permissions));
    if (missing.length) {
      refuse(p, 'team.members_change', { type: 'team', id: teamId },
        `you cannot change a team with "${u.username}" in it: their role has permissions you do not hold (${list(missing)})`,
        { userId: u.id, role: u.role, missing });
    }
  }
}

/** The target's role and permissions, for assertMayActOn. */
export function userWithPermissions(ex: Executor) {
  return ex
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select([
      'users.id', 'users.username', 'users.password_hash', 'users.role_id', 'users.disabled', 'users.display_name',
      'roles.key as role', 'roles.permissions',
    ]);
}
