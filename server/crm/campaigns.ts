// Campaigns: list, read, hours, create, change, assignments; and the campaign's DIDs.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { CampaignView } from '../../shared/gateway/crm';
import type { BusinessHours } from '../../shared/rules/business-hours';
import { hoursStatus } from '../../shared/rules/business-hours';
import { appendAudit, eventBy } from '../audit/audit';
import { AuditedRefusal } from '../auth/audited-refusal';
import { probeIds } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { jsonColumn, toJsonColumn } from '../db/json-column';
import { groupBy, iso } from '../db/rows';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route } from '../http';
import type { Principal } from '../auth/principal-type';
import { scopedCampaign } from './queries';
import { campaignScope, inScope } from './scope';
import { campaignHours, campaignRouting, uniq, type CampaignRow } from './views';

async function campaignViews(ex: Executor, rows: CampaignRow[], p: Principal): Promise<CampaignView[]> {
  if (rows.length === 0) return [];
  const dids = await ex.selectFrom('campaign_dids').select(['campaign_id', 'e164']).where('campaign_id', 'in', rows.map((r) => r.id)).orderBy('e164').execute();
  const byCampaign = groupBy(dids, (d) => d.campaign_id, (d) => d.e164);
  const manage = p.permissions.has('campaigns:manage');
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    dids: byCampaign.get(r.id) ?? [],
    hours: campaignHours(r),
    dispositions: jsonColumn(r.dispositions),
    ...(manage ? { blockedNumbers: jsonColumn<string[]>(r.blocked_numbers), routing: campaignRouting(r), disabled: r.disabled_at !== null } : {}),
    serviceLevelSeconds: r.service_level_seconds,
    outboundCallerId: r.outbound_caller_id,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  }));
}

const campaignView = async (ex: Executor, row: CampaignRow, p: Principal) => (await campaignViews(ex, [row], p))[0]!;

/** One name per campaign in an org (the unique index answers a race the same way: server/gateway.ts). */
async function assertNameFree(tx: Executor, orgId: string, name: string): Promise<void> {
  const clash = await tx.selectFrom('campaigns').select('id').where('org_id', '=', orgId).where('name', '=', name).executeTakeFirst();
  if (clash) throw new GatewayError('conflict', `a campaign named "${name}" exists`);
}

/** The hours columns as written: closed dates once each, in order. */
const hoursColumns = (hours: BusinessHours) => ({
  time_zone: hours.timeZone, weekly_hours: toJsonColumn(hours.weekly), closed_dates: toJsonColumn(uniq(hours.closedDates).sort()),
  special_hours: toJsonColumn(hours.specialDates ?? {}),
});

/** The routing columns of the settings given (0010); absent keys stay as they are. */
const routingColumns = (r: { enforceHours?: boolean | undefined; blockPolicy?: 'reject' | 'message' | undefined; ringSeconds?: number | null | undefined }) => ({
  ...(r.enforceHours !== undefined ? { enforce_hours: r.enforceHours } : {}),
  ...(r.blockPolicy !== undefined ? { block_policy: r.blockPolicy } : {}),
  ...(r.ringSeconds !== undefined ? { ring_seconds: r.ringSeconds } : {}),
});

/**
 * A DID belongs to one campaign of one org (unique index campaign_dids_e164, migration
 * 0004): one dialled number leads to one campaign, and no org can take another's number
 * and silence its inbound calls. A number held elsewhere, in this org or another, gets the
 * same answer; the refusal is audited in this org (without saying where the number is
 * held) and, when another org holds it, at platform level with both orgs.
 */
async function setDids(tx: Executor, p: Principal, campaignId: string, dids: string[]): Promise<void> {
  const wanted = uniq(dids);
  const target = { type: 'campaign', id: campaignId };
  const unavailable = (numbers: string[], holders: string[]) =>
    new AuditedRefusal('conflict', `this number is not available: ${numbers.join(', ')}`, [
      eventBy(p, 'campaign.did_refused', target, { dids: numbers }),
      ...(holders.some((o) => o !== p.orgId)
        ? [{ ...eventBy(p, 'access.cross_org_conflict', target, { kind: 'did', dids: numbers, orgId: p.orgId, holderOrgIds: uniq(holders).sort() }), orgId: null }]
        : []),
    ]);
  if (wanted.length > 0) {
    const taken = await tx.selectFrom('campaign_dids').select(['e164', 'org_id']).where('e164', 'in', wanted).where('campaign_id', '<>', campaignId).orderBy('e164').execute();
    if (taken.length > 0) throw unavailable(taken.map((t) => t.e164), taken.map((t) => t.org_id));
  }
  await tx.deleteFrom('campaign_dids').where('campaign_id', '=', campaignId).execute();
  if (wanted.length === 0) return;
  try {
    await tx.insertInto('campaign_dids').values(wanted.map((e164) => ({ org_id: p.orgId, e164, campaign_id: campaignId }))).execute();
  } catch (err) {
    // a concurrent claim won between the check and the insert: the unique index answered
    if ((err as { code?: unknown }).code === '23505') throw unavailable(wanted, []);
    throw err;
  }
}

/** Every user must exist in the caller's org (an id of another org is audited as a probe). */
async function assertUsersOfOrg(tx: Executor, p: Principal, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  const found = await tx.selectFrom('users').select('id').where('org_id', '=', p.orgId).where('id', 'in', userIds).execute();
  if (found.length === userIds.length) return;
  const unknown = userIds.filter((id) => !found.some((f) => f.id === id));
  const error = new GatewayError('validation_failed', 'every user must exist in this org', { issues: [{ path: 'body.userIds', message: 'unknown user' }] });
  throw await probeIds(tx, p, 'users', unknown, error);
}

export function registerCampaignRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'listCampaigns', async ({ principal }) => {
    const rows = await db.selectFrom('campaigns as t').selectAll('t').where(inScope(campaignScope(principal), 't', 'id')).orderBy('t.name').execute();
    return { campaigns: await campaignViews(db, rows, principal) };
  });

  route(app, ctx, 'getCampaign', async ({ principal, params }) =>
    campaignView(db, await scopedCampaign(db, campaignScope(principal), params.id, principal), principal));

  route(app, ctx, 'campaignHours', async ({ principal, params }) => {
    const row = await scopedCampaign(db, campaignScope(principal), params.id, principal);
    return { campaignId: row.id, timeZone: row.time_zone, ...hoursStatus(campaignHours(row), clock.now()) };
  });

  route(app, ctx, 'createCampaign', async ({ principal, body }) => {
    const id = randomUUID();
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      await assertNameFree(tx, principal.orgId, body.name);
      await tx
        .insertInto('campaigns')
        .values({
          id, org_id: principal.orgId, name: body.name, ...hoursColumns(body.hours), dispositions: toJsonColumn(body.dispositions),
          blocked_numbers: toJsonColumn(uniq(body.blockedNumbers)), ...routingColumns(body.routing), service_level_seconds: body.serviceLevelSeconds,
          outbound_caller_id: body.outboundCallerId, created_at: now, updated_at: now,
        })
        .execute();
      await setDids(tx, principal, id, body.dids);
      await appendAudit(tx, clock, eventBy(principal, 'campaign.created', { type: 'campaign', id }, {
        name: body.name, dids: uniq(body.dids), routing: body.routing, outboundCallerId: body.outboundCallerId,
      }));
    });
    return campaignView(db, await scopedCampaign(db, { kind: 'org', orgId: principal.orgId }, id), principal);
  });

  route(app, ctx, 'patchCampaign', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    await db.transaction().execute(async (tx) => {
      const row = await scopedCampaign(tx, scope, params.id, principal);
      const changes: Record<string, unknown> = {};
      if (body.name !== undefined && body.name !== row.name) {
        await assertNameFree(tx, principal.orgId, body.name);
        changes.name = body.name;
      }
      if (body.hours) Object.assign(changes, hoursColumns(body.hours));
      if (body.dispositions) changes.dispositions = toJsonColumn(body.dispositions);
      if (body.blockedNumbers) changes.blocked_numbers = toJsonColumn(uniq(body.blockedNumbers));
      if (body.routing) Object.assign(changes, routingColumns(body.routing));
      if (body.serviceLevelSeconds !== undefined) changes.service_level_seconds = body.serviceLevelSeconds;
      if (body.outboundCallerId !== undefined) changes.outbound_caller_id = body.outboundCallerId;
      if (body.dids) await setDids(tx, principal, row.id, body.dids);
      await tx.updateTable('campaigns').set({ ...changes, updated_at: clock.now() }).where('id', '=', row.id).execute();
      // the routing settings are policy, not customer data: the audit says what they became
      // (hours and the block list: which changed, not their content)
      await appendAudit(tx, clock, eventBy(principal, 'campaign.updated', { type: 'campaign', id: row.id }, {
        changed: Object.keys(body).sort(),
        ...(body.routing ? { routing: { before: campaignRouting(row), after: { ...campaignRouting(row), ...body.routing } } } : {}),
        // the number customers see: the company's, not customer data (what it became)
        ...(body.outboundCallerId !== undefined ? { outboundCallerId: { before: row.outbound_caller_id, after: body.outboundCallerId } } : {}),
      }));
    });
    return campaignView(db, await scopedCampaign(db, scope, params.id, principal), principal);
  });

  route(app, ctx, 'setAssignments', async ({ principal, params, body }) => {
    const userIds = uniq(body.userIds).sort();
    await db.transaction().execute(async (tx) => {
      const row = await scopedCampaign(tx, campaignScope(principal), params.id, principal);
      await assertUsersOfOrg(tx, principal, userIds);
      await tx.deleteFrom('campaign_assignments').where('campaign_id', '=', row.id).execute();
      if (userIds.length > 0) {
        await tx.insertInto('campaign_assignments').values(userIds.map((user_id) => ({ user_id, campaign_id: row.id, org_id: principal.orgId }))).execute();
      }
      await appendAudit(tx, clock, eventBy(principal, 'campaign.assignments_changed', { type: 'campaign', id: row.id }, { userIds }));
    });
    return { campaignId: params.id, userIds };
  });
}
