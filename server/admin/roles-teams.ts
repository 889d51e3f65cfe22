// /admin roles (custom roles within the creator's own permissions) and teams.
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { appendAudit, eventBy } from '../audit/audit';
import { assertMayChangeRole, assertMayChangeTeam, assertMayCreateRole } from '../auth/authority';
import { parsePermissions } from '../auth/principal-type';
import { notFound, probeIds } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { toJsonColumn } from '../db/json-column';
import { GatewayError } from '../errors';
import { route } from '../http';

export function registerAdminRoleTeamRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
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
      await tx.insertInto('roles').values({ id, org_id: principal.orgId, key: body.key, name: body.name, permissions: toJsonColumn(permissions), builtin: false }).execute();
      await appendAudit(tx, clock, eventBy(principal, 'role.created', { type: 'role', id }, { key: body.key, permissions }));
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
      await tx.updateTable('roles').set({ name, permissions: toJsonColumn(permissions) }).where('id', '=', role.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'role.updated', { type: 'role', id: role.id }, {
        key: role.key, name, permissions, previousPermissions: parsePermissions(role.permissions),
      }));
    });
    ctx.sessionEvents.publish({ kind: 'role_changed', orgId: principal.orgId, roleId: role.id });
    return roleView({ ...role, name, permissions });
  });

  // Teams
  /** Teams with their leads and operators: one query for the members of all of them. */
  const teamViews = async (teams: { id: string; name: string }[]) => {
    const members = teams.length
      ? await db.selectFrom('team_members').select(['team_id', 'user_id', 'member_role']).where('team_id', 'in', teams.map((t) => t.id)).orderBy('user_id').execute()
      : [];
    return teams.map((t) => ({
      id: t.id, name: t.name,
      leadIds: members.filter((m) => m.team_id === t.id && m.member_role === 'lead').map((m) => m.user_id),
      operatorIds: members.filter((m) => m.team_id === t.id && m.member_role === 'operator').map((m) => m.user_id),
    }));
  };
  route(app, ctx, 'listTeams', async ({ principal }) => {
    const rows = await db.selectFrom('teams').select(['id', 'name']).where('org_id', '=', principal.orgId).orderBy('name').execute();
    return { teams: await teamViews(rows) };
  });

  route(app, ctx, 'createTeam', async ({ principal, body }) => {
    const id = randomUUID();
    await db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('teams').select('id').where('org_id', '=', principal.orgId).where('name', '=', body.name).executeTakeFirst();
      if (taken) throw new GatewayError('conflict', `team "${body.name}" exists`);
      await tx.insertInto('teams').values({ id, org_id: principal.orgId, name: body.name }).execute();
      await appendAudit(tx, clock, eventBy(principal, 'team.created', { type: 'team', id }, { name: body.name }));
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
      await appendAudit(tx, clock, eventBy(principal, 'team.members_changed', { type: 'team', id: team.id }, { leadIds: body.leadIds, operatorIds: body.operatorIds }));
    });
    ctx.sessionEvents.publish({ kind: 'teams_changed', orgId: principal.orgId, teamId: team.id });
    return (await teamViews([team]))[0]!;
  });
}
