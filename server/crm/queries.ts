// The CRM's shared query pieces. Every read of a scoped row goes through one of these, with the
// caller's scope in its WHERE clause (server/crm/scope.ts): a row outside the scope takes the
// same query as a missing one and gives the same zero rows. `p` given to a scoped* lookup: the id
// came from the client, and a miss that is another org's row is audited (server/auth/tenancy.ts)
// before the same not_found is thrown.
import { notFound } from '../auth/tenancy';
import type { Executor } from '../db/schema';
import type { Principal } from '../auth/principal-type';
import { inScope, type CampaignScope } from './scope';
import { NOT_FOUND, type CampaignRow, type CustomerRow } from './views';

/** The campaign if it is in scope, else undefined. */
export function campaignInScope(ex: Executor, scope: CampaignScope, id: string): Promise<CampaignRow | undefined> {
  return ex.selectFrom('campaigns as t').selectAll('t').where('t.id', '=', id).where(inScope(scope, 't', 'id')).executeTakeFirst();
}

export async function scopedCampaign(ex: Executor, scope: CampaignScope, id: string, p?: Principal): Promise<CampaignRow> {
  const row = await campaignInScope(ex, scope, id);
  if (!row) throw p ? await notFound(ex, p, 'campaigns', id, NOT_FOUND.campaign()) : NOT_FOUND.campaign();
  return row;
}

export async function scopedCustomer(ex: Executor, scope: CampaignScope, id: string, p?: Principal): Promise<CustomerRow> {
  const row = await ex.selectFrom('customers as t').selectAll('t').where('t.id', '=', id).where(inScope(scope, 't')).executeTakeFirst();
  if (!row) throw p ? await notFound(ex, p, 'customers', id, NOT_FOUND.customer()) : NOT_FOUND.customer();
  return row;
}

/** The scoped phone lookup (the screen pop's hot query; the operator socket's too). */
export function customersByPhoneQuery(db: Executor, scope: CampaignScope, e164: string, campaignId?: string) {
  let q = db
    .selectFrom('customer_phones as p')
    .innerJoin('customers as t', 't.id', 'p.customer_id')
    .selectAll('t')
    .where('p.e164', '=', e164)
    .where(inScope(scope, 'p'));
  if (campaignId) q = q.where('p.campaign_id', '=', campaignId);
  return q.orderBy('t.updated_at', 'desc').orderBy('t.id').limit(20);
}

/** Call records in scope (alias `t`). */
export function callsInScope(db: Executor, scope: CampaignScope) {
  return db.selectFrom('calls as t').selectAll('t').where(inScope(scope, 't'));
}

/** Notes with their author's name and their call's SIP Call-ID (alias `t`), not yet scoped. */
export function notesQuery(db: Executor) {
  return db
    .selectFrom('notes as t')
    .innerJoin('users as u', 'u.id', 't.author_id')
    .leftJoin('calls as k', 'k.id', 't.call_id')
    .selectAll('t')
    .select(['u.display_name as author_name', 'k.sip_call_id']);
}

/** Notes in scope (alias `t`). */
export function notesInScope(db: Executor, scope: CampaignScope) {
  return notesQuery(db).where(inScope(scope, 't'));
}

/** The caller's own record of a call (one per Call-ID and operator), if there is one. */
export function ownCallRow(ex: Executor, p: Principal, sipCallId: string) {
  return ex
    .selectFrom('calls')
    .selectAll()
    .where('org_id', '=', p.orgId)
    .where('sip_call_id', '=', sipCallId)
    .where('operator_id', '=', p.userId)
    .executeTakeFirst();
}
