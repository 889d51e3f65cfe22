// Customers: create, read, change, look up by phone, search by name or phone, and a customer's
// calls and notes. Card numbers typed in any free field or search box are redacted
// (shared/rules/card-redaction.ts) before they touch the database or a log line.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { redactCardNumbers } from '../../shared/rules/card-redaction';
import { nameKey } from '../../shared/rules/names';
import { looksLikePhoneNumber, toE164 } from '../../shared/rules/phone';
import { appendAudit, eventBy } from '../audit/audit';
import type { GatewayContext } from '../context';
import { toJsonColumn } from '../db/json-column';
import type { Executor } from '../db/schema';
import { route } from '../http';
import { callsInScope, customersByPhoneQuery, notesInScope, scopedCampaign, scopedCustomer } from './queries';
import { campaignScope, inScope, type CampaignScope } from './scope';
import { callView, customerView, customerViews, noteView, uniq } from './views';

/** Free-field strings get the card rule too: a card number typed in any box is not stored. */
function redactFields(fields: Record<string, unknown>): string {
  return toJsonColumn(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? redactCardNumbers(v) : v])));
}

async function setPhones(tx: Executor, customer: { id: string; campaign_id: string; org_id: string }, phones: string[]): Promise<void> {
  await tx.deleteFrom('customer_phones').where('customer_id', '=', customer.id).execute();
  const list = uniq(phones);
  if (list.length === 0) return;
  await tx
    .insertInto('customer_phones')
    .values(list.map((e164) => ({ customer_id: customer.id, e164, campaign_id: customer.campaign_id, org_id: customer.org_id })))
    .execute();
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Customers whose name starts with `key` (already folded by nameKey). Kana only (after folding
 * hiragana): the reading; anything else: the written name. One column per query keeps it an
 * ordered prefix scan of one index.
 */
function customersByNameQuery(db: Executor, scope: CampaignScope, key: string, campaignId: string | undefined, limit: number) {
  const column = /^[\u30a1-\u30fa\u30fc]+$/.test(key) ? 't.name_kana_key' : 't.name_kanji_key';
  let q = db.selectFrom('customers as t').selectAll('t').where(inScope(scope, 't')).where(column, 'like', `${escapeLike(key)}%`);
  if (campaignId) q = q.where('t.campaign_id', '=', campaignId);
  // Whole org: order `using ~<~` (the text_pattern_ops order), so the (org_id, key) index
  // is scanned in order and stops after `limit`. A few campaigns: one index range per
  // campaign and a sort of the few matches (measured: the ordered org-wide scan is the
  // slow plan there, filtering most of the org's rows away).
  const order = scope.kind === 'org' ? sql`${sql.ref(column)} using ~<~` : sql`${sql.ref(column)}`;
  return q.orderBy(order).orderBy('t.id').limit(limit);
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'createCustomer', async ({ principal, body }) => {
    const scope = campaignScope(principal);
    const id = randomUUID();
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      const campaign = await scopedCampaign(tx, scope, body.campaignId, principal);
      const row = {
        id, org_id: principal.orgId, campaign_id: campaign.id, name_kanji: body.nameKanji, name_kana: body.nameKana,
        name_kanji_key: nameKey(body.nameKanji), name_kana_key: nameKey(body.nameKana), email: body.email,
        fields: redactFields(body.fields), created_at: now, updated_at: now,
      };
      await tx.insertInto('customers').values(row).execute();
      await setPhones(tx, row, body.phones);
      await appendAudit(tx, clock, eventBy(principal, 'customer.created', { type: 'customer', id }, { campaignId: campaign.id }));
    });
    return customerView(db, await scopedCustomer(db, scope, id));
  });

  route(app, ctx, 'getCustomer', async ({ principal, params }) =>
    customerView(db, await scopedCustomer(db, campaignScope(principal), params.id, principal)));

  route(app, ctx, 'patchCustomer', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    await db.transaction().execute(async (tx) => {
      const row = await scopedCustomer(tx, scope, params.id, principal);
      const changes: Record<string, unknown> = { updated_at: clock.now() };
      if (body.nameKanji !== undefined) Object.assign(changes, { name_kanji: body.nameKanji, name_kanji_key: nameKey(body.nameKanji) });
      if (body.nameKana !== undefined) Object.assign(changes, { name_kana: body.nameKana, name_kana_key: nameKey(body.nameKana) });
      if (body.email !== undefined) changes.email = body.email;
      if (body.fields !== undefined) changes.fields = redactFields(body.fields);
      await tx.updateTable('customers').set(changes).where('id', '=', row.id).execute();
      if (body.phones) await setPhones(tx, row, body.phones);
      const detail = { campaignId: row.campaign_id, changed: Object.keys(body).sort() };
      await appendAudit(tx, clock, eventBy(principal, 'customer.updated', { type: 'customer', id: row.id }, detail));
    });
    return customerView(db, await scopedCustomer(db, scope, params.id, principal));
  });

  route(app, ctx, 'lookupCustomers', async ({ principal, query }) => {
    const e164 = toE164(redactCardNumbers(query.phone));
    if (!e164) return { customers: [] };
    const rows = await customersByPhoneQuery(db, campaignScope(principal), e164, query.campaignId).execute();
    return { customers: await customerViews(db, rows) };
  });

  route(app, ctx, 'searchCustomers', async ({ principal, query }) => {
    const scope = campaignScope(principal);
    const term = redactCardNumbers(query.q);
    const e164 = looksLikePhoneNumber(term) ? toE164(term) : null;
    const key = e164 ? '' : nameKey(term);
    const rows = e164
      ? await customersByPhoneQuery(db, scope, e164, query.campaignId).limit(query.limit).execute()
      : key.length > 0 ? await customersByNameQuery(db, scope, key, query.campaignId, query.limit).execute() : [];
    return { customers: await customerViews(db, rows) };
  });

  route(app, ctx, 'customerCalls', async ({ principal, params, query }) => {
    const scope = campaignScope(principal);
    const customer = await scopedCustomer(db, scope, params.id, principal);
    const rows = await callsInScope(db, scope).where('t.customer_id', '=', customer.id).orderBy('t.ringing_at', 'desc').orderBy('t.id').limit(query.limit).execute();
    return { calls: rows.map(callView) };
  });

  route(app, ctx, 'customerNotes', async ({ principal, params, query }) => {
    const scope = campaignScope(principal);
    const customer = await scopedCustomer(db, scope, params.id, principal);
    let q = notesInScope(db, scope).where('t.customer_id', '=', customer.id);
    if (query.open) q = q.where('t.open', '=', query.open === 'true');
    const rows = await q.orderBy('t.created_at', 'desc').orderBy('t.id').limit(query.limit).execute();
    return { notes: rows.map(noteView) };
  });
}
