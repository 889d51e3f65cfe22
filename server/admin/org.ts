// The admin console's routes for teams, roles and campaigns that were missing (issue 17;
// shared/gateway/admin-org.ts): rename and delete a team, delete a custom role, read and
// disable/enable/delete a campaign, user names by id. Every route goes through route()
// (server/http.ts: auth, permission, validation), reads rows of the caller's org only (another
// org's id answers like a nonexistent one, and the probe is audited: server/auth/tenancy.ts),
// asks server/auth/authority.ts where it hands out or takes away power, and audits each change
// in the change's transaction.
//
// What happens to history (docs/telephony.md "Admin console: teams, roles, campaigns"):
//   - a team deleted: its memberships end (leads no longer supervise its operators); calls,
//     notes, recordings and the audit log keep naming the users, none of them names the team;
//   - a role is deleted only when nobody holds it (in_use, violations ["users=<n>"]); the
//     built-in roles are never deleted;
//   - a campaign disabled is not routed (server/sip/routing.ts answers its numbers like unknown
//     ones) and keeps everything: numbers, calls, customers, notes, recordings, settings;
//   - a campaign is deleted only when it holds no call, customer, note, recording or queued
//     call and is no other campaign's overflow (else in_use naming each count: disable it);
//     its numbers and assignments go with it.
import type { FastifyInstance } from 'fastify';
import type { CampaignAdminView } from '../../shared/gateway/admin-org';
import { appendAudit, eventBy } from '../audit/audit';
import { assertMayChangeRole, assertMayChangeTeam } from '../auth/authority';
import type { Principal } from '../auth/principal-type';
import { notFound } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { isoOrNull } from '../db/rows';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route } from '../http';
import { scopedCampaign } from '../crm/queries';
import { campaignScope } from '../crm/scope';

const count = async (q: { executeTakeFirstOrThrow: () => Promise<{ n: string | number | bigint }> }) => Number((await q.executeTakeFirstOrThrow()).n);

async function orgTeam(ex: Executor, p: Principal, id: string) {
  const team = await ex.selectFrom('teams').select(['id', 'name']).where('id', '=', id).where('org_id', '=', p.orgId).executeTakeFirst();
  if (!team) throw await notFound(ex, p, 'teams', id, new GatewayError('not_found', 'no such team'));
  return team;
}

async function campaignAdminView(ex: Executor, campaignId: string): Promise<CampaignAdminView> {
  const r = await ex.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirstOrThrow();
  const assigned = await ex.selectFrom('campaign_assignments').select('user_id').where('campaign_id', '=', campaignId).orderBy('user_id').execute();
  const calls = await count(ex.selectFrom('calls').select((eb) => eb.fn.countAll().as('n')).where('campaign_id', '=', campaignId));
  return {
    campaignId,
    disabled: r.disabled_at !== null,
    disabledAt: isoOrNull(r.disabled_at),
    queue: { maxWaitSeconds: r.queue_max_wait_seconds, maxSize: r.queue_max_size, overflowCampaignId: r.queue_overflow_campaign_id },
    recording: { mode: r.recording_mode, retentionDays: r.recording_retention_days },
    retention: { calls: r.call_retention_days, notes: r.note_retention_days, customers: r.customer_retention_days },
    assignedUserIds: assigned.map((a) => a.user_id),
    callCount: calls,
  };
}

export function registerAdminOrgRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'renameTeam', async ({ principal, params, body }) => {
    const team = await db.transaction().execute(async (tx) => {
      const t = await orgTeam(tx, principal, params.id);
      if (body.name !== t.name) {
        const taken = await tx.selectFrom('teams').select('id').where('org_id', '=', principal.orgId).where('name', '=', body.name).executeTakeFirst();
        if (taken) throw new GatewayError('conflict', `team "${body.name}" exists`);
        await tx.updateTable('teams').set({ name: body.name }).where('id', '=', t.id).execute();
        await appendAudit(tx, clock, eventBy(principal, 'team.renamed', { type: 'team', id: t.id }, { name: body.name, previousName: t.name }));
      }
      return { id: t.id, name: body.name };
    });
    const members = await db.selectFrom('team_members').select(['user_id', 'member_role']).where('team_id', '=', team.id).orderBy('user_id').execute();
    return {
      ...team,
      leadIds: members.filter((m) => m.member_role === 'lead').map((m) => m.user_id),
      operatorIds: members.filter((m) => m.member_role === 'operator').map((m) => m.user_id),
    };
  });

  route(app, ctx, 'deleteTeam', async ({ principal, params }) => {
    const team = await orgTeam(db, principal, params.id);
    // ending every membership changes who supervises whom: the same rule as replacing them
    await assertMayChangeTeam(db, principal, team.id, []);
    await db.transaction().execute(async (tx) => {
      const members = await tx.selectFrom('team_members').select(['user_id', 'member_role']).where('team_id', '=', team.id).orderBy('user_id').execute();
      await tx.deleteFrom('team_members').where('team_id', '=', team.id).execute();
      await tx.deleteFrom('teams').where('id', '=', team.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'team.deleted', { type: 'team', id: team.id }, {
        name: team.name,
        leadIds: members.filter((m) => m.member_role === 'lead').map((m) => m.user_id),
        operatorIds: members.filter((m) => m.member_role === 'operator').map((m) => m.user_id),
      }));
    });
    ctx.sessionEvents.publish({ kind: 'teams_changed', orgId: principal.orgId, teamId: team.id });
    return { id: team.id, deleted: true as const };
  });

  route(app, ctx, 'deleteRole', async ({ principal, params }) => {
    await db.transaction().execute(async (tx) => {
      const role = await tx.selectFrom('roles').selectAll().where('id', '=', params.id).where('org_id', '=', principal.orgId).executeTakeFirst();
      if (!role) throw await notFound(tx, principal, 'roles', params.id, new GatewayError('not_found', 'no such role'));
      if (role.builtin) throw new GatewayError('forbidden', `the built-in role "${role.key}" cannot be deleted`);
      // deleting takes the role from nobody, but it must be one the caller could change
      assertMayChangeRole(principal, role, undefined);
      const holders = await count(tx.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('role_id', '=', role.id));
      if (holders > 0) {
        throw new GatewayError('in_use', `${holders} user(s) hold the role "${role.key}": give them another role first`, { violations: [`users=${holders}`] });
      }
      await tx.deleteFrom('roles').where('id', '=', role.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'role.deleted', { type: 'role', id: role.id }, { key: role.key, name: role.name, permissions: role.permissions }));
    });
    return { id: params.id, deleted: true as const };
  });

  route(app, ctx, 'campaignAdmin', async ({ principal, params }) => {
    const row = await scopedCampaign(db, campaignScope(principal), params.id, principal);
    return campaignAdminView(db, row.id);
  });

  route(app, ctx, 'setCampaignDisabled', async ({ principal, params, body }) => {
    const id = await db.transaction().execute(async (tx) => {
      const row = await scopedCampaign(tx, campaignScope(principal), params.id, principal);
      const was = row.disabled_at !== null;
      if (was !== body.disabled) {
        await tx.updateTable('campaigns').set({ disabled_at: body.disabled ? clock.now() : null, updated_at: clock.now() }).where('id', '=', row.id).execute();
        await appendAudit(tx, clock, eventBy(principal, body.disabled ? 'campaign.disabled' : 'campaign.enabled', { type: 'campaign', id: row.id }, { name: row.name }));
      }
      return row.id;
    });
    return campaignAdminView(db, id);
  });

  route(app, ctx, 'deleteCampaign', async ({ principal, params }) => {
    await db.transaction().execute(async (tx) => {
      const row = await scopedCampaign(tx, campaignScope(principal), params.id, principal);
      const n = (table: 'calls' | 'customers' | 'notes' | 'recordings') =>
        count(tx.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('campaign_id', '=', row.id));
      const held = {
        calls: await n('calls'), customers: await n('customers'), notes: await n('notes'), recordings: await n('recordings'),
        queued: await count(tx.selectFrom('call_queue').select((eb) => eb.fn.countAll().as('n')).where((eb) => eb.or([eb('campaign_id', '=', row.id), eb('first_campaign_id', '=', row.id)]))),
        overflow: await count(tx.selectFrom('campaigns').select((eb) => eb.fn.countAll().as('n')).where('queue_overflow_campaign_id', '=', row.id).where('id', '<>', row.id)),
      };
      const violations = Object.entries(held).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`);
      if (violations.length > 0) {
        throw new GatewayError('in_use', `the campaign "${row.name}" holds ${violations.join(', ')}: disable it instead`, { violations });
      }
      const dids = await tx.selectFrom('campaign_dids').select('e164').where('campaign_id', '=', row.id).orderBy('e164').execute();
      const assigned = await tx.selectFrom('campaign_assignments').select('user_id').where('campaign_id', '=', row.id).orderBy('user_id').execute();
      await tx.deleteFrom('campaign_dids').where('campaign_id', '=', row.id).execute();
      await tx.deleteFrom('campaign_assignments').where('campaign_id', '=', row.id).execute();
      await tx.updateTable('campaigns').set({ queue_overflow_campaign_id: null }).where('id', '=', row.id).execute();
      await tx.deleteFrom('campaigns').where('id', '=', row.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'campaign.deleted', { type: 'campaign', id: row.id }, {
        name: row.name, dids: dids.map((d) => d.e164), assignedUserIds: assigned.map((a) => a.user_id),
      }));
    });
    return { id: params.id, deleted: true as const };
  });

  route(app, ctx, 'userNames', async ({ principal, body }) => {
    const ids = [...new Set(body.ids)];
    if (ids.length === 0) return { users: [] };
    const rows = await db
      .selectFrom('users')
      .innerJoin('roles', 'roles.id', 'users.role_id')
      .select(['users.id', 'users.username', 'users.display_name', 'users.disabled', 'roles.key as role'])
      .where('users.org_id', '=', principal.orgId)
      .where('users.id', 'in', ids)
      .orderBy('users.username')
      .execute();
    return { users: rows.map((u) => ({ id: u.id, username: u.username, displayName: u.display_name, role: u.role, disabled: u.disabled })) };
  });
}
