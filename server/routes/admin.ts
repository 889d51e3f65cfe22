// /admin/*: users, roles, teams, devices, alerts, sessions, policy, audit. Every route is
// scoped to the caller's org (a row of another org answers exactly like a nonexistent one,
// and the probe is audited: server/auth/tenancy.ts) and every change is audited in the same
// transaction as the change. Who may grant, assign or act on whom is decided by
// server/auth/authority.ts, on every route that grants or resets.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

import { OrgPolicySchema } from '../../shared/gateway/policy';
import { appendAudit, exportAudit, toAuditView } from '../audit/audit';
import {
  assertMayActOn, assertMayAssignRole, assertMayChangeRole, assertMayChangeTeam, assertMayCreateRole, userWithPermissions,
} from '../auth/authority';
import { refusedLockKey } from '../auth/allowlist';
import { allowedBy } from '../auth/net';
import { preparePassword, storePassword } from '../auth/password-change';
import { revokeSessions } from '../auth/sign-in-helpers';
import { notFound, probeIds } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { createUser } from '../orgs';
import { orgPolicy } from '../policy';
import { actorOf, parsePermissions, type Principal } from '../principal';
import { iso, userView } from './views';

export function registerAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  const event = (p: Principal, action: string, target: { type: string; id: string } | null, detail?: Record<string, unknown>) => ({
    orgId: p.orgId, actor: actorOf(p), action, sourceIp: p.sourceIp, deviceId: p.deviceId, target, detail,
  });
  /** A user of p's org, with role and permissions (for the authority checks). */
  const orgUser = async (p: Principal, id: string) => {
    const u = await userWithPermissions(db).where('users.id', '=', id).where('users.org_id', '=', p.orgId).executeTakeFirst();
    if (!u) throw await notFound(db, p, 'users', id, new GatewayError('not_found', 'no such user'));
    return u;
  };
  /** A user of p's org that p may act on (their permissions ⊆ p's). */
  const targetUser = async (p: Principal, id: string, attempted: string) => {
    const u = await orgUser(p, id);
    assertMayActOn(p, u, attempted);
    return u;
  };
  const orgRole = async (p: Principal, key: string) => {
    const r = await db.selectFrom('roles').select(['id', 'key', 'permissions']).where('org_id', '=', p.orgId).where('key', '=', key).executeTakeFirst();
    if (!r) throw new GatewayError('validation_failed', `no role "${key}" in this org`);
    return r;
  };

  // Users
  route(app, ctx, 'listUsers', async ({ principal }) => {
    const rows = await db.selectFrom('users').select('id').where('org_id', '=', principal.orgId).orderBy('username').execute();
    const now = clock.now();
    return { users: await Promise.all(rows.map((r) => userView(db, r.id, now))) };
  });

  route(app, ctx, 'createUser', async ({ principal, body }) => {
    assertMayAssignRole(principal, await orgRole(principal, body.role), null, body.username);
    const id = await createUser(ctx, { orgId: principal.orgId, ...body, actor: actorOf(principal), sourceIp: principal.sourceIp });
    return userView(db, id, clock.now());
  });

  route(app, ctx, 'patchUser', async ({ principal, params, body }) => {
    const user = await targetUser(principal, params.id, 'user.update');
    if (user.id === principal.userId && (body.role !== undefined || body.disabled !== undefined)) {
      throw new GatewayError('forbidden', 'you cannot change your own role or disable yourself');
    }
    const role = body.role !== undefined ? await orgRole(principal, body.role) : null;
    if (role) assertMayAssignRole(principal, role, user, user.username);
    await db.transaction().execute(async (tx) => {
      const changes: Record<string, unknown> = {};
      if (body.displayName !== undefined) changes.display_name = body.displayName;
      if (role) changes.role_id = role.id;
      if (body.disabled !== undefined) changes.disabled = body.disabled;
      if (Object.keys(changes).length === 0) return;
      await tx.updateTable('users').set(changes).where('id', '=', user.id).execute();
      if (body.disabled === true) await revokeSessions(tx, { userId: user.id }, 'user_disabled', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, event(principal, 'user.updated', { type: 'user', id: user.id }, {
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
    const user = await targetUser(principal, params.id, 'user.password_reset');
    const hash = await preparePassword(ctx, user, body.password, await orgPolicy(db, principal.orgId));
    await db.transaction().execute(async (tx) => {
      await storePassword(tx, ctx, user, hash);
      const n = await revokeSessions(tx, { userId: user.id }, 'password_reset', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, event(principal, 'user.password_reset', { type: 'user', id: user.id }, { sessionsRevoked: n }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'unlockUser', async ({ principal, params }) => {
    const user = await targetUser(principal, params.id, 'user.unlock');
    await db.transaction().execute(async (tx) => {
      // the user's own lock and the one failures from refused addresses hold (auth/allowlist.ts)
      const keys = [user.username, refusedLockKey(user.username)];
      const lock = await tx.deleteFrom('account_locks').where('username', 'in', keys).returning('locked_until').execute();
      await tx.deleteFrom('login_failures').where('username', 'in', keys).execute();
      await appendAudit(tx, clock, event(principal, 'auth.unlock', { type: 'user', id: user.id }, { wasLocked: lock.length > 0 }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'resetTotp', async ({ principal, params }) => {
    const user = await targetUser(principal, params.id, 'user.totp_reset');
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_enabled: false, totp_secret: null, totp_last_counter: null }).where('id', '=', user.id).execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await appendAudit(tx, clock, event(principal, 'totp.reset', { type: 'user', id: user.id }));
    });
    return { ok: true as const };
  });

  // Sessions
  route(app, ctx, 'userSessions', async ({ principal, params }) => {
    const user = await orgUser(principal, params.id);
    const rows = await db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).orderBy('created_at', 'desc').limit(200).execute();
    return {
      sessions: rows.map((s) => ({
        id: s.id, deviceId: s.device_id, createdAt: s.created_at.toISOString(), lastSeenAt: s.last_seen_at.toISOString(),
        absoluteExpiresAt: s.absolute_expires_at.toISOString(), revokedAt: iso(s.revoked_at), revokeReason: s.revoke_reason, sourceIp: s.source_ip,
      })),
    };
  });

  route(app, ctx, 'revokeSessions', async ({ principal, params }) => {
    const user = await targetUser(principal, params.id, 'user.sessions_revoke');
    const revoked = await db.transaction().execute(async (tx) => {
      const n = await revokeSessions(tx, { userId: user.id }, 'admin_revoked', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, event(principal, 'session.revoked_all', { type: 'user', id: user.id }, { count: n }));
      return n;
    });
    return { revoked };
  });

  // Devices
  const deviceView = (d: { id: string; user_id: string; username: string; name: string; public_key: string; status: 'active' | 'revoked' | 'reset'; created_at: Date; last_seen_at: Date | null }) => ({
    id: d.id, userId: d.user_id, username: d.username, name: d.name, publicKey: d.public_key, status: d.status,
    createdAt: d.created_at.toISOString(), lastSeenAt: iso(d.last_seen_at),
  });
  const devicesQuery = (p: Principal) =>
    db
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .select(['devices.id', 'devices.user_id', 'users.username', 'devices.name', 'devices.public_key', 'devices.status', 'devices.created_at', 'devices.last_seen_at'])
      .where('devices.org_id', '=', p.orgId);
  /** A device of p's org whose owner p may act on. */
  const targetDevice = async (p: Principal, id: string, attempted: string) => {
    const d = await devicesQuery(p).where('devices.id', '=', id).executeTakeFirst();
    if (!d) throw await notFound(db, p, 'devices', id, new GatewayError('not_found', 'no such device'));
    assertMayActOn(p, await orgUser(p, d.user_id), attempted);
    return d;
  };

  route(app, ctx, 'listDevices', async ({ principal, query }) => {
    let q = devicesQuery(principal).orderBy('devices.created_at', 'desc');
    if (query.userId) q = q.where('devices.user_id', '=', query.userId);
    if (query.status) q = q.where('devices.status', '=', query.status);
    return { devices: (await q.limit(1000).execute()).map(deviceView) };
  });

  route(app, ctx, 'renameDevice', async ({ principal, params, body }) => {
    const d = await targetDevice(principal, params.id, 'device.rename');
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('devices').set({ name: body.name }).where('id', '=', d.id).execute();
      await appendAudit(tx, clock, event(principal, 'device.renamed', { type: 'device', id: d.id }, { from: d.name, to: body.name }));
    });
    return deviceView({ ...d, name: body.name });
  });

  route(app, ctx, 'revokeDevice', async ({ principal, params }) => {
    const d = await targetDevice(principal, params.id, 'device.revoke');
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('devices').set({ status: 'revoked', revoked_at: now }).where('id', '=', d.id).execute();
      const n = await revokeSessions(tx, { deviceId: d.id }, 'device_revoked', now, ctx.sessionEvents);
      await appendAudit(tx, clock, event(principal, 'device.revoked', { type: 'device', id: d.id }, { userId: d.user_id, sessionsRevoked: n }));
    });
    return deviceView({ ...d, status: 'revoked' });
  });

  route(app, ctx, 'resetDevices', async ({ principal, params }) => {
    const user = await targetUser(principal, params.id, 'user.devices_reset');
    const now = clock.now();
    const revoked = await db.transaction().execute(async (tx) => {
      const reset = await tx
        .updateTable('devices')
        .set({ status: 'reset', revoked_at: now })
        .where('user_id', '=', user.id)
        .where('status', '=', 'active')
        .returning('id')
        .execute();
      let sessions = 0;
      for (const d of reset) sessions += await revokeSessions(tx, { deviceId: d.id }, 'device_reset', now, ctx.sessionEvents);
      await appendAudit(tx, clock, event(principal, 'device.reset', { type: 'user', id: user.id }, { devices: reset.map((d) => d.id), sessionsRevoked: sessions }));
      return reset.length;
    });
    return { revoked };
  });

  // Alerts
  route(app, ctx, 'listAlerts', async ({ principal, query }) => {
    let q = db
      .selectFrom('device_alerts')
      .innerJoin('users', 'users.id', 'device_alerts.user_id')
      .innerJoin('devices', 'devices.id', 'device_alerts.device_id')
      .select([
        'device_alerts.id', 'device_alerts.user_id', 'users.username', 'device_alerts.device_id', 'devices.name as device_name',
        'device_alerts.source_ip', 'device_alerts.created_at', 'device_alerts.acknowledged_at',
      ])
      .where('device_alerts.org_id', '=', principal.orgId)
      .orderBy('device_alerts.created_at', 'desc');
    if (query.unacknowledged === 'true') q = q.where('device_alerts.acknowledged_at', 'is', null);
    if (query.unacknowledged === 'false') q = q.where('device_alerts.acknowledged_at', 'is not', null);
    const rows = await q.limit(500).execute();
    return {
      alerts: rows.map((a) => ({
        id: a.id, kind: 'new_device' as const, userId: a.user_id, username: a.username, deviceId: a.device_id, deviceName: a.device_name,
        sourceIp: a.source_ip, createdAt: a.created_at.toISOString(), acknowledgedAt: iso(a.acknowledged_at),
      })),
    };
  });

  route(app, ctx, 'ackAlert', async ({ principal, params }) => {
    await db.transaction().execute(async (tx) => {
      const rows = await tx
        .updateTable('device_alerts')
        .set({ acknowledged_at: clock.now(), acknowledged_by: principal.userId })
        .where('id', '=', params.id)
        .where('org_id', '=', principal.orgId)
        .returning('id')
        .execute();
      if (rows.length === 0) throw await notFound(tx, principal, 'device_alerts', params.id, new GatewayError('not_found', 'no such alert'));
      await appendAudit(tx, clock, event(principal, 'alert.acknowledged', { type: 'alert', id: params.id }));
    });
    return { ok: true as const };
  });

  // Roles
  const roleView = (r: { id: string; key: string; name: string; permissions: unknown; builtin: boolean }) => ({
    id: r.id, key: r.key, name: r.name, permissions: parsePermissions(r.permissions).sort(), builtin: r.builtin,
  });
  route(app, ctx, 'listRoles', async ({ principal }) => {
    const rows = await db.selectFrom('roles').selectAll().where('org_id', '=', principal.orgId).orderBy('key').execute();
    return { roles: rows.map(roleView) };
  });

  route(app, ctx, 'createRole', async ({ principal, body }) => {
    const id = randomUUID();
    const permissions = [...new Set(body.permissions)].sort();
    assertMayCreateRole(principal, body.key, permissions);
    await db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('roles').select('id').where('org_id', '=', principal.orgId).where('key', '=', body.key).executeTakeFirst();
      if (taken) throw new GatewayError('conflict', `role "${body.key}" exists`);
      await tx.insertInto('roles').values({ id, org_id: principal.orgId, key: body.key, name: body.name, permissions: JSON.stringify(permissions), builtin: false }).execute();
      await appendAudit(tx, clock, event(principal, 'role.created', { type: 'role', id }, { key: body.key, permissions }));
    });
    return { id, key: body.key, name: body.name, permissions, builtin: false };
  });

  route(app, ctx, 'patchRole', async ({ principal, params, body }) => {
    const role = await db.selectFrom('roles').selectAll().where('id', '=', params.id).where('org_id', '=', principal.orgId).executeTakeFirst();
    if (!role) throw await notFound(db, principal, 'roles', params.id, new GatewayError('not_found', 'no such role'));
    assertMayChangeRole(principal, role, body.permissions);
    const permissions = body.permissions ? [...new Set(body.permissions)].sort() : parsePermissions(role.permissions);
    const name = body.name ?? role.name;
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('roles').set({ name, permissions: JSON.stringify(permissions) }).where('id', '=', role.id).execute();
      await appendAudit(tx, clock, event(principal, 'role.updated', { type: 'role', id: role.id }, {
        key: role.key, name, permissions, previousPermissions: parsePermissions(role.permissions),
      }));
    });
    ctx.sessionEvents.publish({ kind: 'role_changed', orgId: principal.orgId, roleId: role.id });
    return roleView({ ...role, name, permissions });
  });

  // Teams
  const teamView = async (teamId: string, name: string) => {
    const members = await db.selectFrom('team_members').select(['user_id', 'member_role']).where('team_id', '=', teamId).orderBy('user_id').execute();
    return {
      id: teamId, name,
      leadIds: members.filter((m) => m.member_role === 'lead').map((m) => m.user_id),
      operatorIds: members.filter((m) => m.member_role === 'operator').map((m) => m.user_id),
    };
  };
  route(app, ctx, 'listTeams', async ({ principal }) => {
    const rows = await db.selectFrom('teams').select(['id', 'name']).where('org_id', '=', principal.orgId).orderBy('name').execute();
    return { teams: await Promise.all(rows.map((t) => teamView(t.id, t.name))) };
  });

  route(app, ctx, 'createTeam', async ({ principal, body }) => {
    const id = randomUUID();
    await db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('teams').select('id').where('org_id', '=', principal.orgId).where('name', '=', body.name).executeTakeFirst();
      if (taken) throw new GatewayError('conflict', `team "${body.name}" exists`);
      await tx.insertInto('teams').values({ id, org_id: principal.orgId, name: body.name }).execute();
      await appendAudit(tx, clock, event(principal, 'team.created', { type: 'team', id }, { name: body.name }));
    });
    return { id, name: body.name, leadIds: [], operatorIds: [] };
  });

  route(app, ctx, 'setTeamMembers', async ({ principal, params, body }) => {
    const team = await db.selectFrom('teams').select(['id', 'name']).where('id', '=', params.id).where('org_id', '=', principal.orgId).executeTakeFirst();
    if (!team) throw await notFound(db, principal, 'teams', params.id, new GatewayError('not_found', 'no such team'));
    const all = [...new Set([...body.leadIds, ...body.operatorIds])];
    if (all.length !== body.leadIds.length + body.operatorIds.length) {
      throw new GatewayError('validation_failed', 'a user is listed twice (or as both lead and operator)');
    }
    if (all.length > 0) {
      const found = await db.selectFrom('users').select('id').where('org_id', '=', principal.orgId).where('id', 'in', all).execute();
      if (found.length !== all.length) {
        const unknown = all.filter((id) => !found.some((f) => f.id === id));
        throw await probeIds(db, principal, 'users', unknown, new GatewayError('validation_failed', 'every member must be a user of this org'));
      }
    }
    await assertMayChangeTeam(db, principal, team.id, all);
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('team_members').where('team_id', '=', team.id).execute();
      const rows = [
        ...body.leadIds.map((user_id) => ({ team_id: team.id, user_id, member_role: 'lead' as const })),
        ...body.operatorIds.map((user_id) => ({ team_id: team.id, user_id, member_role: 'operator' as const })),
      ];
      if (rows.length) await tx.insertInto('team_members').values(rows).execute();
      await appendAudit(tx, clock, event(principal, 'team.members_changed', { type: 'team', id: team.id }, { leadIds: body.leadIds, operatorIds: body.operatorIds }));
    });
    ctx.sessionEvents.publish({ kind: 'teams_changed', orgId: principal.orgId, teamId: team.id });
    return teamView(team.id, team.name);
  });

  // Policy
  route(app, ctx, 'getPolicy', async ({ principal }) => ({ policy: await orgPolicy(db, principal.orgId) }));

  route(app, ctx, 'patchPolicy', async ({ principal, body }) => {
    const current = await orgPolicy(db, principal.orgId);
    const merged = OrgPolicySchema.safeParse({
      ...current,
      ...(body.totpRequiredRoles ? { totpRequiredRoles: body.totpRequiredRoles } : {}),
      ...(body.deviceBindingRoles ? { deviceBindingRoles: body.deviceBindingRoles } : {}),
      password: { ...current.password, ...body.password },
      lockout: { ...current.lockout, ...body.lockout },
      sessions: { ...current.sessions, ...body.sessions },
      client: { ...current.client, ...body.client },
      agents: { ...current.agents, ...body.agents },
      supervision: { ...current.supervision, ...body.supervision },
      ipAllowlist: { ...current.ipAllowlist, ...body.ipAllowlist },
    });
    if (!merged.success) {
      throw new GatewayError('validation_failed', 'resulting policy is invalid', {
        issues: merged.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    if (merged.data.password.minLength > merged.data.password.maxLength) throw new GatewayError('validation_failed', 'password.minLength exceeds maxLength');
    if (merged.data.ipAllowlist.org.length > 0 && !allowedBy(principal.sourceIp, merged.data.ipAllowlist.org)) {
      throw new GatewayError('validation_failed', 'this org allowlist would refuse your own address; include it first');
    }
    // Every request is checked against the org list and the caller's role list
    // (server/principal.ts), so a role list without the caller's address would lock them out too.
    const ownRoleList = merged.data.ipAllowlist.roles[principal.role] ?? [];
    if (ownRoleList.length > 0 && !allowedBy(principal.sourceIp, ownRoleList)) {
      throw new GatewayError('validation_failed', `the allowlist of your own role "${principal.role}" would refuse your own address; include it first`);
    }
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('orgs').set({ policy: JSON.stringify(merged.data) }).where('id', '=', principal.orgId).execute();
      await appendAudit(tx, clock, event(principal, 'policy.changed', { type: 'org', id: principal.orgId }, { change: body }));
    });
    ctx.sessionEvents.publish({ kind: 'policy_changed', orgId: principal.orgId });
    return { policy: merged.data };
  });

  // Audit
  route(app, ctx, 'audit', async ({ principal, query }) => {
    let q = db
      .selectFrom('audit_log')
      .selectAll()
      // the org's own entries only: org-less (platform) entries are read with the CLI
      .where('org_id', '=', principal.orgId)
      .orderBy('seq', 'desc')
      .limit(query.limit);
    if (query.action) q = query.action.endsWith('.*') ? q.where('action', 'like', `${query.action.slice(0, -1).replace(/[%_]/g, '')}%`) : q.where('action', '=', query.action);
    if (query.actorUserId) q = q.where('actor_user_id', '=', query.actorUserId);
    if (query.targetId) q = q.where('target_id', '=', query.targetId);
    if (query.from) q = q.where('at', '>=', new Date(query.from));
    if (query.to) q = q.where('at', '<', new Date(query.to));
    if (query.before !== undefined) q = q.where('seq', '<', query.before);
    return { entries: (await q.execute()).map(toAuditView) };
  });

  route(app, ctx, 'auditExport', async ({ principal, query }) => exportAudit(db, { ...query, orgId: principal.orgId }));


}
