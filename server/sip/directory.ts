// The transfer directory (shared/gateway/directory.ts): colleagues an operator works with (a
// team or a campaign in common, decided in SQL: nobody else's name or presence leaves the
// gateway), the queues of the operator's campaigns (a campaign's first DID: a transfer there
// comes back in through routing and waits in its queue), and the org's quick connects, which
// admins with campaigns:manage add and remove (audited).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { QuickConnectView } from '../../shared/gateway/directory';
import { appendAudit, eventBy } from '../audit/audit';
import type { Principal } from '../auth/principal-type';
import { parsePermissions } from '../auth/principal-type';
import type { GatewayContext } from '../context';
import { campaignScope, inScope } from '../crm/scope';
import { iso } from '../db/rows';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route } from '../http';
import { sipUserOf } from './agents';

const quickConnectView = (r: { id: string; name: string; number: string; created_at: Date }): QuickConnectView => ({
  id: r.id, name: r.name, number: r.number, createdAt: iso(r.created_at),
});

const quickConnects = async (db: Executor, orgId: string) =>
  (await db.selectFrom('quick_connects').selectAll().where('org_id', '=', orgId).orderBy('name').execute()).map(quickConnectView);

/** Users of p's org, enabled, other than p, who share a team or an assigned campaign with p. */
async function colleaguesOf(db: Executor, p: Principal) {
  const myTeams = db.selectFrom('team_members').select('team_id').where('user_id', '=', p.userId);
  const myCampaigns = db.selectFrom('campaign_assignments').select('campaign_id').where('user_id', '=', p.userId).where('org_id', '=', p.orgId);
  return db
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select(['users.id', 'users.username', 'users.display_name', 'roles.permissions'])
    .where('users.org_id', '=', p.orgId)
    .where('users.disabled', '=', false)
    .where('users.id', '<>', p.userId)
    .where((eb) =>
      eb.or([
        eb('users.id', 'in', db.selectFrom('team_members').select('user_id').where('team_id', 'in', myTeams)),
        eb('users.id', 'in', db.selectFrom('campaign_assignments').select('user_id').where('campaign_id', 'in', myCampaigns)),
      ]),
    )
    .orderBy('users.display_name')
    .execute();
}

export function registerDirectoryRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'transferDirectory', async ({ principal }) => {
    // only those who take calls are transfer targets
    const rows = (await colleaguesOf(db, principal)).filter((r) => parsePermissions(r.permissions).includes('calls:handle'));
    const states = await ctx.agents.getMany(rows.map((r) => r.id));
    const campaigns = await db
      .selectFrom('campaigns as t')
      .innerJoin('campaign_dids as d', 'd.campaign_id', 't.id')
      .select(['t.id', 't.name', (eb) => eb.fn.min('d.e164').as('number')])
      .where(inScope(campaignScope(principal), 't', 'id'))
      .where('t.disabled_at', 'is', null)
      .groupBy(['t.id', 't.name'])
      .orderBy('t.name')
      .execute();
    return {
      colleagues: rows.map((r) => ({ userId: r.id, displayName: r.display_name, sipUser: sipUserOf(r.username), state: states.get(r.id)?.state ?? 'offline' })),
      queues: campaigns.map((c) => ({ campaignId: c.id, name: c.name, number: String(c.number) })),
      quickConnects: await quickConnects(db, principal.orgId),
    };
  });

  route(app, ctx, 'listQuickConnects', async ({ principal }) => ({ quickConnects: await quickConnects(db, principal.orgId) }));

  route(app, ctx, 'createQuickConnect', async ({ principal, body }) => {
    const row = { id: randomUUID(), org_id: principal.orgId, name: body.name, number: body.number, created_at: clock.now() };
    await db.transaction().execute(async (tx) => {
      const clash = await tx.selectFrom('quick_connects').select('id').where('org_id', '=', principal.orgId).where('name', '=', body.name).executeTakeFirst();
      if (clash) throw new GatewayError('conflict', `a quick connect named "${body.name}" exists`);
      await tx.insertInto('quick_connects').values(row).execute();
      await appendAudit(tx, clock, eventBy(principal, 'quick_connect.created', { type: 'quick_connect', id: row.id }, { name: row.name, number: row.number }));
    });
    return quickConnectView(row);
  });

  route(app, ctx, 'deleteQuickConnect', async ({ principal, params }) => {
    await db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('quick_connects').selectAll().where('id', '=', params.id).where('org_id', '=', principal.orgId).executeTakeFirst();
      if (!row) throw new GatewayError('not_found', 'no such quick connect');
      await tx.deleteFrom('quick_connects').where('id', '=', row.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'quick_connect.deleted', { type: 'quick_connect', id: row.id }, { name: row.name, number: row.number }));
    });
    return { ok: true as const };
  });
}
