// /admin users and their sessions: list, create, change, delete (a tombstone), teams, password and TOTP reset, unlock, revoke.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DELETED_USER_NAME } from '../../shared/gateway/admin-users';
import { appendAudit, eventBy } from '../audit/audit';
import { refusedLockKey } from '../auth/allowlist';
import { assertAdminsRemain, assertMayAssignRole, assertMayChangeTeam, assertNotSelf } from '../auth/authority';
import { probeIds } from '../auth/tenancy';
import { preparePassword, storePassword } from '../auth/password-change';
import { actorOf } from '../auth/principal-type';
import { revokeSessions } from '../auth/sign-in-helpers';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { createUser } from '../orgs';
import { orgPolicy } from '../policy';
import { isoOrNull } from '../db/rows';
import { userPage, userView } from './user-views';
import { orgRole, orgUser, targetUser } from './common';

export function registerAdminUserRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  // Users
  route(app, ctx, 'listUsers', async ({ principal, query }) => userPage(db, principal.orgId, query, clock.now()));

  route(app, ctx, 'createUser', async ({ principal, body }) => {
    assertMayAssignRole(principal, await orgRole(ctx, principal, body.role), null, body.username);
    // the password is one the admin chose: temporary, the user changes it at first sign-in
    const id = await createUser(ctx, { orgId: principal.orgId, ...body, temporary: true, actor: actorOf(principal), sourceIp: principal.sourceIp });
    return userView(db, id, clock.now());
  });

  route(app, ctx, 'patchUser', async ({ principal, params, body }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.update');
    if (body.role !== undefined) assertNotSelf(principal, user, 'user.role_change');
    if (body.disabled === true) assertNotSelf(principal, user, 'user.disable');
    const role = body.role !== undefined ? await orgRole(ctx, principal, body.role) : null;
    if (role) assertMayAssignRole(principal, role, user, user.username);
    await db.transaction().execute(async (tx) => {
      // the org keeps an administrator (server/auth/authority.ts): a demotion or disabling of the last one is refused
      if (role && role.key !== user.role) await assertAdminsRemain(tx, principal, user, 'user.role_change');
      if (body.disabled === true && !user.disabled) await assertAdminsRemain(tx, principal, user, 'user.disable');
      const changes: Record<string, unknown> = {};
      if (body.displayName !== undefined) changes.display_name = body.displayName;
      if (role) changes.role_id = role.id;
      if (body.disabled !== undefined) changes.disabled = body.disabled;
      if (Object.keys(changes).length === 0) return;
      await tx.updateTable('users').set(changes).where('id', '=', user.id).execute();
      if (body.disabled === true) await revokeSessions(tx, { userId: user.id }, 'user_disabled', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, eventBy(principal, 'user.updated', { type: 'user', id: user.id }, {
        ...(body.displayName !== undefined ? { displayName: body.displayName } : {}),
        ...(role ? { role: role.key } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
      }));
    });
    // Open /ws of this user re-check their principal (server/session-events.ts).
    if (role) ctx.sessionEvents.publish({ kind: 'user_changed', orgId: principal.orgId, userId: user.id, change: 'role' });
    if (body.disabled !== undefined) ctx.sessionEvents.publish({ kind: 'user_changed', orgId: principal.orgId, userId: user.id, change: body.disabled ? 'disabled' : 'enabled' });
    return userView(db, user.id, clock.now());
  });

  route(app, ctx, 'resetPassword', async ({ principal, params, body }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.password_reset');
    const hash = await preparePassword(ctx, user, body.password, await orgPolicy(db, principal.orgId));
    await db.transaction().execute(async (tx) => {
      await storePassword(tx, ctx, user, hash, { temporary: true });
      const n = await revokeSessions(tx, { userId: user.id }, 'password_reset', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, eventBy(principal, 'user.password_reset', { type: 'user', id: user.id }, { sessionsRevoked: n, mustChange: true }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'unlockUser', async ({ principal, params }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.unlock');
    await db.transaction().execute(async (tx) => {
      // the user's own lock and the one failures from refused addresses hold (auth/allowlist.ts)
      const keys = [user.username, refusedLockKey(user.username)];
      const lock = await tx.deleteFrom('account_locks').where('username', 'in', keys).returning('locked_until').execute();
      await tx.deleteFrom('login_failures').where('username', 'in', keys).execute();
      await appendAudit(tx, clock, eventBy(principal, 'auth.unlock', { type: 'user', id: user.id }, { wasLocked: lock.length > 0 }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'resetTotp', async ({ principal, params }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.totp_reset');
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_enabled: false, totp_secret: null, totp_last_counter: null }).where('id', '=', user.id).execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'totp.reset', { type: 'user', id: user.id }));
    });
    return { ok: true as const };
  });

  // Deleting: the row stays as a tombstone so calls, notes and audit entries keep their id;
  // what is personal or a credential is erased (docs/telephony.md "Admin console: users, sessions, devices").
  route(app, ctx, 'deleteUser', async ({ principal, params }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.delete');
    assertNotSelf(principal, user, 'user.delete');
    // a password nobody knows, in the hash format sign-in verifies (the row keeps a valid one)
    const unusable = await ctx.hasher.hash(randomBytes(32).toString('base64url'), 'priority');
    const now = clock.now();
    const done = await db.transaction().execute(async (tx) => {
      if (!user.disabled) await assertAdminsRemain(tx, principal, user, 'user.delete');
      const sessionsRevoked = await revokeSessions(tx, { userId: user.id }, 'user_deleted', now, ctx.sessionEvents);
      const devices = await tx.updateTable('devices').set({ status: 'reset', revoked_at: now }).where('user_id', '=', user.id).where('status', '=', 'active').returning('id').execute();
      const teams = await tx.deleteFrom('team_members').where('user_id', '=', user.id).returning('team_id').execute();
      const assignments = await tx.deleteFrom('campaign_assignments').where('user_id', '=', user.id).returning('campaign_id').execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await tx.deleteFrom('password_history').where('user_id', '=', user.id).execute();
      const keys = [user.username, refusedLockKey(user.username)];
      await tx.deleteFrom('account_locks').where('username', 'in', keys).execute();
      await tx.deleteFrom('login_failures').where('username', 'in', keys).execute();
      await tx
        .updateTable('users')
        .set({
          username: `deleted.${user.id}`, display_name: DELETED_USER_NAME, password_hash: unusable, disabled: true,
          totp_enabled: false, totp_secret: null, totp_last_counter: null, must_change_password: false, deleted_at: now,
        })
        .where('id', '=', user.id)
        .execute();
      const result = {
        ok: true as const, usernameFreed: true as const, sessionsRevoked, devicesReset: devices.length,
        teamsLeft: teams.length, assignmentsRemoved: assignments.length,
      };
      const { ok: _ok, ...detail } = result;
      await appendAudit(tx, clock, eventBy(principal, 'user.deleted', { type: 'user', id: user.id }, { ...detail, role: user.role }));
      return { result, teamIds: [...new Set(teams.map((t) => t.team_id))] };
    });
    ctx.sessionEvents.publish({ kind: 'user_changed', orgId: principal.orgId, userId: user.id, change: 'disabled' });
    for (const teamId of done.teamIds) ctx.sessionEvents.publish({ kind: 'teams_changed', orgId: principal.orgId, teamId });
    return done.result;
  });

  // A user's teams, replaced as a whole: the same authority rule as a team's members (every
  // member of every team the change touches ⊆ the actor's permissions).
  route(app, ctx, 'setUserTeams', async ({ principal, params, body }) => {
    const user = await orgUser(ctx, principal, params.id);
    const wanted = body.teams.map((t) => t.teamId);
    if (new Set(wanted).size !== wanted.length) throw new GatewayError('validation_failed', 'a team is listed twice');
    if (wanted.length > 0) {
      const found = await db.selectFrom('teams').select('id').where('org_id', '=', principal.orgId).where('id', 'in', wanted).execute();
      if (found.length !== wanted.length) {
        const unknown = wanted.filter((id) => !found.some((f) => f.id === id));
        throw await probeIds(db, principal, 'teams', unknown, new GatewayError('validation_failed', 'every team must be a team of this org'));
      }
    }
    const before = await db.selectFrom('team_members').select(['team_id', 'member_role']).where('user_id', '=', user.id).execute();
    const touched = [...new Set([...before.map((b) => b.team_id), ...wanted])];
    for (const teamId of touched) await assertMayChangeTeam(db, principal, teamId, [user.id]);
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('team_members').where('user_id', '=', user.id).execute();
      if (body.teams.length) await tx.insertInto('team_members').values(body.teams.map((t) => ({ team_id: t.teamId, user_id: user.id, member_role: t.as }))).execute();
      await appendAudit(tx, clock, eventBy(principal, 'user.teams_changed', { type: 'user', id: user.id }, {
        before: before.map((b) => ({ teamId: b.team_id, as: b.member_role })), after: body.teams,
      }));
    });
    for (const teamId of touched) ctx.sessionEvents.publish({ kind: 'teams_changed', orgId: principal.orgId, teamId });
    return { teams: body.teams };
  });

  // Sessions
  route(app, ctx, 'userSessions', async ({ principal, params }) => {
    const user = await orgUser(ctx, principal, params.id);
    const rows = await db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).orderBy('created_at', 'desc').limit(200).execute();
    return {
      sessions: rows.map((s) => ({
        id: s.id, deviceId: s.device_id, createdAt: s.created_at.toISOString(), lastSeenAt: s.last_seen_at.toISOString(),
        absoluteExpiresAt: s.absolute_expires_at.toISOString(), revokedAt: isoOrNull(s.revoked_at), revokeReason: s.revoke_reason, sourceIp: s.source_ip,
      })),
    };
  });

  route(app, ctx, 'revokeSessions', async ({ principal, params }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.sessions_revoke');
    const revoked = await db.transaction().execute(async (tx) => {
      const n = await revokeSessions(tx, { userId: user.id }, 'admin_revoked', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, eventBy(principal, 'session.revoked_all', { type: 'user', id: user.id }, { count: n }));
      return n;
    });
    return { revoked };
  });
}
