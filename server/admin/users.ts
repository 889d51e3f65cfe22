// /admin users and their sessions: list, create, change, password and TOTP reset, unlock, revoke.
import type { FastifyInstance } from 'fastify';
import { appendAudit, eventBy } from '../audit/audit';
import { refusedLockKey } from '../auth/allowlist';
import { assertMayAssignRole } from '../auth/authority';
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
    const id = await createUser(ctx, { orgId: principal.orgId, ...body, actor: actorOf(principal), sourceIp: principal.sourceIp });
    return userView(db, id, clock.now());
  });

  route(app, ctx, 'patchUser', async ({ principal, params, body }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.update');
    if (user.id === principal.userId && (body.role !== undefined || body.disabled !== undefined)) {
      throw new GatewayError('forbidden', 'you cannot change your own role or disable yourself');
    }
    const role = body.role !== undefined ? await orgRole(ctx, principal, body.role) : null;
    if (role) assertMayAssignRole(principal, role, user, user.username);
    await db.transaction().execute(async (tx) => {
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
