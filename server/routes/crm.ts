// CRM routes: campaigns, assignments, customers, the screen pop, calls, notes, export.
//
// Scope (server/crm/scope.ts) goes into the WHERE clause of every read. A row outside the
// caller's campaigns answers exactly like a row that does not exist: the same query runs,
// returns zero rows, and the handler throws the same not_found (or returns the same empty
// list / "unknown caller"). No existence check runs first; after a miss on an id the client
// sent, server/auth/tenancy.ts looks whether it is another org's row, to audit the probe
// (the answer stays the same).
// Card numbers are redacted (shared/rules/card-redaction.ts) in note bodies, free-field
// strings and search terms before they touch the database or a log line.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql, type Selectable } from 'kysely';
import type { CallView, CampaignView, CustomerView, NoteView } from '../../shared/gateway/crm';
import { hoursStatus, type BusinessHours } from '../../shared/rules/business-hours';
import { containsCardNumber, redactCardNumbers } from '../../shared/rules/card-redaction';
import { nameKey } from '../../shared/rules/names';
import { callerOf } from '../../shared/rules/numbering';
import { looksLikePhoneNumber, toE164 } from '../../shared/rules/phone';
import { appendAudit } from '../audit/audit';
import { AuditedRefusal } from '../auth/authority';
import { notFound, probeIds } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { campaignScope, inScope, type CampaignScope } from '../crm/scope';
import { jsonColumn } from '../db/json-column';
import type { CallsTable, CampaignsTable, CustomersTable, Executor, NotesTable } from '../db/schema';
import { GatewayError } from '../errors';
import { route } from '../http';
import { trunkNumbering } from '../sip/numbering';
import { actorOf, type Principal } from '../principal';

type CampaignRow = Selectable<CampaignsTable>;
type CustomerRow = Selectable<CustomersTable>;
type CallRow = Selectable<CallsTable>;
type NoteRow = Selectable<NotesTable> & { author_name: string; sip_call_id: string | null };

const NOT_FOUND = {
  campaign: () => new GatewayError('not_found', 'no such campaign'),
  customer: () => new GatewayError('not_found', 'no such customer'),
  call: () => new GatewayError('not_found', 'no such call'),
  note: () => new GatewayError('not_found', 'no such note'),
};

const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d ? iso(d) : null);
const uniq = <T>(l: T[]) => [...new Set(l)];

/** Whether the note body the client sent held a card number (the schema masked it before the handler ran). */
function rawNoteHadCard(raw: unknown): boolean {
  const b = raw && typeof raw === 'object' ? (raw as { body?: unknown }).body : undefined;
  return typeof b === 'string' && containsCardNumber(b);
}

/** Free-field strings get the card rule too: a card number typed in any box is not stored. */
function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? redactCardNumbers(v) : v]));
}

function campaignHours(row: CampaignRow): BusinessHours {
  return { timeZone: row.time_zone, weekly: jsonColumn(row.weekly_hours), closedDates: jsonColumn(row.closed_dates) };
}

export function callView(r: CallRow): CallView {
  return {
    id: r.id, callId: r.sip_call_id, campaignId: r.campaign_id, customerId: r.customer_id, operatorId: r.operator_id,
    callerNumber: r.caller_e164, dialledNumber: r.dialled_e164, blocked: r.blocked, status: r.status,
    ringingAt: iso(r.ringing_at), answeredAt: isoOrNull(r.answered_at), endedAt: isoOrNull(r.ended_at),
    disposition: r.disposition, wrapUpSeconds: r.wrap_up_seconds, updatedAt: iso(r.updated_at),
  };
}

function noteView(r: NoteRow): NoteView {
  return {
    id: r.id, clientNoteId: r.client_note_id, campaignId: r.campaign_id, customerId: r.customer_id, callId: r.sip_call_id,
    authorId: r.author_id, authorName: r.author_name, body: r.body, open: r.open, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}

/** Customer rows -> views, with their phone numbers (one query for all of them). */
export async function customerViews(db: Executor, rows: CustomerRow[]): Promise<CustomerView[]> {
  if (rows.length === 0) return [];
  const phones = await db
    .selectFrom('customer_phones')
    .select(['customer_id', 'e164'])
    .where('customer_id', 'in', rows.map((r) => r.id))
    .orderBy('e164')
    .execute();
  const byCustomer = new Map<string, string[]>();
  for (const p of phones) byCustomer.set(p.customer_id, [...(byCustomer.get(p.customer_id) ?? []), p.e164]);
  return rows.map((r) => ({
    id: r.id, campaignId: r.campaign_id, nameKanji: r.name_kanji, nameKana: r.name_kana, phones: byCustomer.get(r.id) ?? [],
    email: r.email, fields: jsonColumn(r.fields), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  }));
}

/** The scoped phone lookup (the screen pop's hot query). */
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

function notesQuery(db: Executor) {
  return db
    .selectFrom('notes as t')
    .innerJoin('users as u', 'u.id', 't.author_id')
    .leftJoin('calls as k', 'k.id', 't.call_id')
    .selectAll('t')
    .select(['u.display_name as author_name', 'k.sip_call_id']);
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function encodeCursor(updatedAt: Date, id: string): string {
  return Buffer.from(`${iso(updatedAt)}|${id}`).toString('base64url');
}
/** Exactly what encodeCursor writes: an ISO instant (year 0001 or later) and a UUID. */
const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
function decodeCursor(cursor: string): { at: Date; id: string } {
  // Anything else (garbage, a forged id that is not a UUID, a date PostgreSQL cannot hold)
  // is the client's fault: 400, never a database error.
  const m = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const date = m ? new Date(m[1]!) : null;
  if (!m || !date || Number.isNaN(date.getTime()) || date.toISOString() !== m[1] || m[1]!.startsWith('0000')) {
    throw new GatewayError('validation_failed', 'invalid cursor', { issues: [{ path: 'query.cursor', message: 'not a cursor from this API' }] });
  }
  return { at: date, id: m[2]!.toLowerCase() };
}

export function registerCrmRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  const event = (p: Principal, action: string, target: { type: string; id: string }, detail?: Record<string, unknown>) => ({
    orgId: p.orgId, actor: actorOf(p), action, sourceIp: p.sourceIp, deviceId: p.deviceId, target, detail,
  });

  // ---------------------------------------------------------------- campaigns
  // `p` given: the id came from the client; a miss that is another org's row is audited
  // (server/auth/tenancy.ts) and answers the same not_found.
  const scopedCampaign = async (ex: Executor, scope: CampaignScope, id: string, p?: Principal) => {
    const row = await ex.selectFrom('campaigns as t').selectAll('t').where('t.id', '=', id).where(inScope(scope, 't', 'id')).executeTakeFirst();
    if (!row) throw p ? await notFound(ex, p, 'campaigns', id, NOT_FOUND.campaign()) : NOT_FOUND.campaign();
    return row;
  };
  const campaignViews = async (ex: Executor, rows: CampaignRow[], p: Principal): Promise<CampaignView[]> => {
    if (rows.length === 0) return [];
    const dids = await ex.selectFrom('campaign_dids').select(['campaign_id', 'e164']).where('campaign_id', 'in', rows.map((r) => r.id)).orderBy('e164').execute();
    const manage = p.permissions.has('campaigns:manage');
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      dids: dids.filter((d) => d.campaign_id === r.id).map((d) => d.e164),
      hours: { timeZone: r.time_zone, weekly: jsonColumn(r.weekly_hours), closedDates: jsonColumn(r.closed_dates) },
      dispositions: jsonColumn(r.dispositions),
      ...(manage ? { blockedNumbers: jsonColumn<string[]>(r.blocked_numbers) } : {}),
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    }));
  };
  /**
   * A DID belongs to one campaign of one org (unique index campaign_dids_e164, migration
   * 0004): one dialled number leads to one campaign, and no org can take another's number
   * and silence its inbound calls. A number held elsewhere, in this org or another, gets the
   * same answer; the refusal is audited in this org (without saying where the number is
   * held) and, when another org holds it, at platform level with both orgs.
   */
  const setDids = async (tx: Executor, p: Principal, campaignId: string, dids: string[]) => {
    const wanted = uniq(dids);
    const unavailable = (numbers: string[], holders: string[]) =>
      new AuditedRefusal('conflict', `this number is not available: ${numbers.join(', ')}`, [
        event(p, 'campaign.did_refused', { type: 'campaign', id: campaignId }, { dids: numbers }),
        ...(holders.some((o) => o !== p.orgId)
          ? [{ ...event(p, 'access.cross_org_conflict', { type: 'campaign', id: campaignId }, { kind: 'did', dids: numbers, orgId: p.orgId, holderOrgIds: uniq(holders).sort() }), orgId: null }]
          : []),
      ]);
    if (wanted.length > 0) {
      const taken = await tx
        .selectFrom('campaign_dids')
        .select(['e164', 'org_id'])
        .where('e164', 'in', wanted)
        .where('campaign_id', '<>', campaignId)
        .orderBy('e164')
        .execute();
      if (taken.length > 0) throw unavailable(taken.map((t) => t.e164), taken.map((t) => t.org_id));
    }
    await tx.deleteFrom('campaign_dids').where('campaign_id', '=', campaignId).execute();
    if (wanted.length > 0) {
      try {
        await tx.insertInto('campaign_dids').values(wanted.map((e164) => ({ org_id: p.orgId, e164, campaign_id: campaignId }))).execute();
      } catch (err) {
        // a concurrent claim won between the check and the insert: the unique index answered
        if ((err as { code?: unknown }).code === '23505') throw unavailable(wanted, []);
        throw err;
      }
    }
  };

  route(app, ctx, 'listCampaigns', async ({ principal }) => {
    const rows = await db.selectFrom('campaigns as t').selectAll('t').where(inScope(campaignScope(principal), 't', 'id')).orderBy('t.name').execute();
    return { campaigns: await campaignViews(db, rows, principal) };
  });

  route(app, ctx, 'getCampaign', async ({ principal, params }) => {
    const row = await scopedCampaign(db, campaignScope(principal), params.id, principal);
    return (await campaignViews(db, [row], principal))[0]!;
  });

  route(app, ctx, 'campaignHours', async ({ principal, params }) => {
    const row = await scopedCampaign(db, campaignScope(principal), params.id, principal);
    return { campaignId: row.id, timeZone: row.time_zone, ...hoursStatus(campaignHours(row), clock.now()) };
  });

  route(app, ctx, 'createCampaign', async ({ principal, body }) => {
    const id = randomUUID();
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      const clash = await tx.selectFrom('campaigns').select('id').where('org_id', '=', principal.orgId).where('name', '=', body.name).executeTakeFirst();
      if (clash) throw new GatewayError('conflict', `a campaign named "${body.name}" exists`);
      await tx
        .insertInto('campaigns')
        .values({
          id, org_id: principal.orgId, name: body.name, time_zone: body.hours.timeZone, weekly_hours: JSON.stringify(body.hours.weekly),
          closed_dates: JSON.stringify(uniq(body.hours.closedDates).sort()), dispositions: JSON.stringify(body.dispositions),
          blocked_numbers: JSON.stringify(uniq(body.blockedNumbers)), created_at: now, updated_at: now,
        })
        .execute();
      await setDids(tx, principal, id, body.dids);
      await appendAudit(tx, clock, event(principal, 'campaign.created', { type: 'campaign', id }, { name: body.name, dids: uniq(body.dids) }));
    });
    return (await campaignViews(db, [await scopedCampaign(db, { kind: 'org', orgId: principal.orgId }, id)], principal))[0]!;
  });

  route(app, ctx, 'patchCampaign', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    await db.transaction().execute(async (tx) => {
      const row = await scopedCampaign(tx, scope, params.id, principal);
      const changes: Record<string, unknown> = {};
      if (body.name !== undefined && body.name !== row.name) {
        const clash = await tx.selectFrom('campaigns').select('id').where('org_id', '=', principal.orgId).where('name', '=', body.name).executeTakeFirst();
        if (clash) throw new GatewayError('conflict', `a campaign named "${body.name}" exists`);
        changes.name = body.name;
      }
      if (body.hours) {
        changes.time_zone = body.hours.timeZone;
        changes.weekly_hours = JSON.stringify(body.hours.weekly);
        changes.closed_dates = JSON.stringify(uniq(body.hours.closedDates).sort());
      }
      if (body.dispositions) changes.dispositions = JSON.stringify(body.dispositions);
      if (body.blockedNumbers) changes.blocked_numbers = JSON.stringify(uniq(body.blockedNumbers));
      if (body.dids) await setDids(tx, principal, row.id, body.dids);
      await tx.updateTable('campaigns').set({ ...changes, updated_at: clock.now() }).where('id', '=', row.id).execute();
      await appendAudit(tx, clock, event(principal, 'campaign.updated', { type: 'campaign', id: row.id }, { changed: Object.keys(body).sort() }));
    });
    return (await campaignViews(db, [await scopedCampaign(db, scope, params.id, principal)], principal))[0]!;
  });

  route(app, ctx, 'setAssignments', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    const userIds = uniq(body.userIds).sort();
    await db.transaction().execute(async (tx) => {
      const row = await scopedCampaign(tx, scope, params.id, principal);
      if (userIds.length > 0) {
        const found = await tx.selectFrom('users').select('id').where('org_id', '=', principal.orgId).where('id', 'in', userIds).execute();
        if (found.length !== userIds.length) {
          const unknown = userIds.filter((id) => !found.some((f) => f.id === id));
          throw await probeIds(tx, principal, 'users', unknown, new GatewayError('validation_failed', 'every user must exist in this org', { issues: [{ path: 'body.userIds', message: 'unknown user' }] }));
        }
      }
      await tx.deleteFrom('campaign_assignments').where('campaign_id', '=', row.id).execute();
      if (userIds.length > 0) {
        await tx.insertInto('campaign_assignments').values(userIds.map((user_id) => ({ user_id, campaign_id: row.id, org_id: principal.orgId }))).execute();
      }
      await appendAudit(tx, clock, event(principal, 'campaign.assignments_changed', { type: 'campaign', id: row.id }, { userIds }));
    });
    return { campaignId: params.id, userIds };
  });

  // ---------------------------------------------------------------- customers
  const scopedCustomer = async (ex: Executor, scope: CampaignScope, id: string, p?: Principal) => {
    const row = await ex.selectFrom('customers as t').selectAll('t').where('t.id', '=', id).where(inScope(scope, 't')).executeTakeFirst();
    if (!row) throw p ? await notFound(ex, p, 'customers', id, NOT_FOUND.customer()) : NOT_FOUND.customer();
    return row;
  };
  const setPhones = async (tx: Executor, customer: { id: string; campaign_id: string; org_id: string }, phones: string[]) => {
    await tx.deleteFrom('customer_phones').where('customer_id', '=', customer.id).execute();
    const list = uniq(phones);
    if (list.length > 0) {
      await tx
        .insertInto('customer_phones')
        .values(list.map((e164) => ({ customer_id: customer.id, e164, campaign_id: customer.campaign_id, org_id: customer.org_id })))
        .execute();
    }
  };

  route(app, ctx, 'createCustomer', async ({ principal, body }) => {
    const scope = campaignScope(principal);
    const id = randomUUID();
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      const campaign = await scopedCampaign(tx, scope, body.campaignId, principal);
      const row = {
        id, org_id: principal.orgId, campaign_id: campaign.id, name_kanji: body.nameKanji, name_kana: body.nameKana,
        name_kanji_key: nameKey(body.nameKanji), name_kana_key: nameKey(body.nameKana), email: body.email,
        fields: JSON.stringify(redactFields(body.fields)), created_at: now, updated_at: now,
      };
      await tx.insertInto('customers').values(row).execute();
      await setPhones(tx, row, body.phones);
      await appendAudit(tx, clock, event(principal, 'customer.created', { type: 'customer', id }, { campaignId: campaign.id }));
    });
    return (await customerViews(db, [await scopedCustomer(db, scope, id)]))[0]!;
  });

  route(app, ctx, 'getCustomer', async ({ principal, params }) => {
    return (await customerViews(db, [await scopedCustomer(db, campaignScope(principal), params.id, principal)]))[0]!;
  });

  route(app, ctx, 'patchCustomer', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    await db.transaction().execute(async (tx) => {
      const row = await scopedCustomer(tx, scope, params.id, principal);
      const changes: Record<string, unknown> = { updated_at: clock.now() };
      if (body.nameKanji !== undefined) Object.assign(changes, { name_kanji: body.nameKanji, name_kanji_key: nameKey(body.nameKanji) });
      if (body.nameKana !== undefined) Object.assign(changes, { name_kana: body.nameKana, name_kana_key: nameKey(body.nameKana) });
      if (body.email !== undefined) changes.email = body.email;
      if (body.fields !== undefined) changes.fields = JSON.stringify(redactFields(body.fields));
      await tx.updateTable('customers').set(changes).where('id', '=', row.id).execute();
      if (body.phones) await setPhones(tx, row, body.phones);
      await appendAudit(tx, clock, event(principal, 'customer.updated', { type: 'customer', id: row.id }, { campaignId: row.campaign_id, changed: Object.keys(body).sort() }));
    });
    return (await customerViews(db, [await scopedCustomer(db, scope, params.id, principal)]))[0]!;
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
    if (e164) {
      const rows = await customersByPhoneQuery(db, scope, e164, query.campaignId).limit(query.limit).execute();
      return { customers: await customerViews(db, rows) };
    }
    const key = nameKey(term);
    if (key.length === 0) return { customers: [] };
    // Kana only (after folding hiragana): the reading; anything else: the written name.
    // One column per query keeps it an ordered prefix scan of one index.
    const column = /^[\u30a1-\u30fa\u30fc]+$/.test(key) ? 't.name_kana_key' : 't.name_kanji_key';
    let q = db.selectFrom('customers as t').selectAll('t').where(inScope(scope, 't')).where(column, 'like', `${escapeLike(key)}%`);
    if (query.campaignId) q = q.where('t.campaign_id', '=', query.campaignId);
    // Whole org: order `using ~<~` (the text_pattern_ops order), so the (org_id, key) index
    // is scanned in order and stops after `limit`. A few campaigns: one index range per
    // campaign and a sort of the few matches (measured: the ordered org-wide scan is the
    // slow plan there, filtering most of the org's rows away).
    const order = scope.kind === 'org' ? sql`${sql.ref(column)} using ~<~` : sql`${sql.ref(column)}`;
    const rows = await q.orderBy(order).orderBy('t.id').limit(query.limit).execute();
    return { customers: await customerViews(db, rows) };
  });

  route(app, ctx, 'customerCalls', async ({ principal, params, query }) => {
    const scope = campaignScope(principal);
    const customer = await scopedCustomer(db, scope, params.id, principal);
    const rows = await db
      .selectFrom('calls as t')
      .selectAll('t')
      .where('t.customer_id', '=', customer.id)
      .where(inScope(scope, 't'))
      .orderBy('t.ringing_at', 'desc')
      .orderBy('t.id')
      .limit(query.limit)
      .execute();
    return { calls: rows.map(callView) };
  });

  route(app, ctx, 'customerNotes', async ({ principal, params, query }) => {
    const scope = campaignScope(principal);
    const customer = await scopedCustomer(db, scope, params.id, principal);
    let q = notesQuery(db).where('t.customer_id', '=', customer.id).where(inScope(scope, 't'));
    if (query.open) q = q.where('t.open', '=', query.open === 'true');
    const rows = await q.orderBy('t.created_at', 'desc').orderBy('t.id').limit(query.limit).execute();
    return { notes: rows.map(noteView) };
  });

  // ---------------------------------------------------------------- screen pop
  route(app, ctx, 'screenPop', async ({ principal, body }) => {
    const scope = campaignScope(principal);
    const now = clock.now();
    // The caller: as the routing query decided it for this call (a withheld caller stays
    // withheld, server/sip/routing.ts), else the trunk's rule on what the phone shows.
    const routed = await db
      .selectFrom('calls')
      .select(['caller_e164', 'dialled_e164', 'campaign_id', 'direction'])
      .where('org_id', '=', principal.orgId)
      .where('sip_call_id', '=', body.callId)
      .where('operator_id', '=', principal.userId)
      .executeTakeFirst();
    // An outbound call (the operator dialled; the gateway recorded it at the dial intent): the
    // party is the number dialled, in the campaign the record found for it.
    const outbound = routed?.direction === 'outbound';
    const presented = callerOf({ from: body.callerNumber }, trunkNumbering(ctx.config.sip, 'default'));
    const caller = outbound ? routed.dialled_e164 : routed ? routed.caller_e164 : (presented.e164 ?? (presented.presentation === 'withheld' ? null : toE164(body.callerNumber)));
    const dialled = !outbound && body.dialledNumber ? toE164(body.dialledNumber) : null;
    // The campaign: the DID mapping, else the PBX's campaign id (an outbound call: its record's).
    // Either way it is read through the scope, so a campaign the operator is not assigned to is
    // "no campaign".
    const did = dialled
      ? await db.selectFrom('campaign_dids').select('campaign_id').where('org_id', '=', principal.orgId).where('e164', '=', dialled).executeTakeFirst()
      : undefined;
    const wantedCampaign = outbound ? routed.campaign_id : (did?.campaign_id ?? body.campaignId ?? null);
    const campaign = wantedCampaign
      ? await db.selectFrom('campaigns as t').selectAll('t').where('t.id', '=', wantedCampaign).where(inScope(scope, 't', 'id')).executeTakeFirst()
      : undefined;
    const blocked = !!campaign && !!caller && jsonColumn<string[]>(campaign.blocked_numbers).includes(caller);
    // A campaign was named but is outside the scope: nothing, exactly as for an unknown one.
    const searchable = !!caller && !blocked && (!wantedCampaign || !!campaign);
    const rows = searchable ? await customersByPhoneQuery(db, scope, caller, campaign?.id).execute() : [];
    const customers = await customerViews(db, rows);
    const ids = customers.map((c) => c.id);

    // The call record: one per (Call-ID, operator); a repeated pop for the same call keeps it.
    await db
      .insertInto('calls')
      .values({
        id: randomUUID(), org_id: principal.orgId, sip_call_id: body.callId, operator_id: principal.userId, campaign_id: campaign?.id ?? null,
        customer_id: ids.length === 1 ? ids[0]! : null, caller_e164: caller, dialled_e164: dialled, blocked, status: 'ringing',
        ringing_at: now, answered_at: null, ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
      })
      .onConflict((oc) => oc.columns(['org_id', 'sip_call_id', 'operator_id']).doNothing())
      .execute();

    const recentCalls = ids.length
      ? (
          await db
            .selectFrom('calls as t')
            .selectAll('t')
            .where('t.customer_id', 'in', ids)
            .where('t.sip_call_id', '<>', body.callId)
            .where(inScope(scope, 't'))
            .orderBy('t.ringing_at', 'desc')
            .limit(5)
            .execute()
        ).map(callView)
      : [];
    const openNotes = ids.length
      ? (await notesQuery(db).where('t.customer_id', 'in', ids).where('t.open', '=', true).where(inScope(scope, 't')).orderBy('t.created_at', 'desc').limit(20).execute()).map(noteView)
      : [];
    return {
      status: customers.length > 0 ? 'known' : 'unknown',
      blocked,
      campaign: campaign
        ? { id: campaign.id, name: campaign.name, dispositions: jsonColumn<string[]>(campaign.dispositions), openNow: hoursStatus(campaignHours(campaign), now).openNow }
        : null,
      customers,
      recentCalls,
      openNotes,
    };
  });

  // ---------------------------------------------------------------- calls
  const ownCall = async (ex: Executor, p: Principal, sipCallId: string) => {
    const row = await ex
      .selectFrom('calls')
      .selectAll()
      .where('org_id', '=', p.orgId)
      .where('sip_call_id', '=', sipCallId)
      .where('operator_id', '=', p.userId)
      .executeTakeFirst();
    if (!row) throw NOT_FOUND.call();
    return row;
  };

  route(app, ctx, 'patchCall', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    const updated = await db.transaction().execute(async (tx) => {
      const call = await ownCall(tx, principal, params.callId);
      const changes: Partial<CallRow> = { updated_at: clock.now() };
      if (body.disposition !== undefined) {
        const campaign = call.campaign_id ? await tx.selectFrom('campaigns').select('dispositions').where('id', '=', call.campaign_id).executeTakeFirst() : undefined;
        if (!campaign || !jsonColumn<string[]>(campaign.dispositions).includes(body.disposition)) {
          throw new GatewayError('validation_failed', 'not a disposition of this call\'s campaign', { issues: [{ path: 'body.disposition', message: 'unknown disposition' }] });
        }
        changes.disposition = body.disposition;
      }
      if (body.customerId !== undefined) {
        const customer = await tx.selectFrom('customers as t').select(['t.id', 't.campaign_id']).where('t.id', '=', body.customerId).where(inScope(scope, 't')).executeTakeFirst();
        if (!customer || customer.campaign_id !== call.campaign_id) throw NOT_FOUND.customer();
        changes.customer_id = customer.id;
      }
      const answeredAt = body.answeredAt ? new Date(body.answeredAt) : call.answered_at;
      const endedAt = body.endedAt ? new Date(body.endedAt) : call.ended_at;
      if (answeredAt && endedAt && endedAt < answeredAt) {
        throw new GatewayError('validation_failed', 'endedAt is before answeredAt', { issues: [{ path: 'body.endedAt', message: 'before answeredAt' }] });
      }
      if (body.answeredAt) changes.answered_at = answeredAt;
      if (body.endedAt) changes.ended_at = endedAt;
      if (body.wrapUpSeconds !== undefined) changes.wrap_up_seconds = body.wrapUpSeconds;
      // the gateway's model moves the status on (server/sip/agents.ts): a client's times never move it back
      const rank = { ringing: 0, answered: 1, ended: 2, wrapped_up: 3 } as const;
      const reported = endedAt ? 'ended' : answeredAt ? 'answered' : call.status;
      changes.status = rank[reported] > rank[call.status] ? reported : call.status;
      await tx.updateTable('calls').set(changes).where('id', '=', call.id).execute();
      if (body.disposition !== undefined) {
        await appendAudit(tx, clock, event(principal, 'call.dispositioned', { type: 'call', id: call.id }, {
          callId: call.sip_call_id, campaignId: call.campaign_id, disposition: body.disposition, wrapUpSeconds: body.wrapUpSeconds ?? call.wrap_up_seconds,
        }));
      }
      if (changes.customer_id) {
        await appendAudit(tx, clock, event(principal, 'call.customer_linked', { type: 'call', id: call.id }, { customerId: changes.customer_id }));
      }
      return ownCall(tx, principal, params.callId);
    }).then((r) => {
      ctx.supervision.touch(principal.userId); // the lead's board shows the call's new status
      return r;
    });
    return callView(updated);
  });

  // ---------------------------------------------------------------- notes
  route(app, ctx, 'createNote', async ({ principal, body, req }) => {
    const scope = campaignScope(principal);
    // Redacted here whatever the client did: the stored body never holds a card number.
    const text = redactCardNumbers(body.body);
    const byClientId = (ex: Executor) =>
      notesQuery(ex).where('t.author_id', '=', principal.userId).where('t.client_note_id', '=', body.clientNoteId).executeTakeFirst();
    const sameNote = (n: NoteRow) =>
      n.body === text && (body.customerId === undefined || n.customer_id === body.customerId) && (body.callId === undefined || n.sip_call_id === body.callId);

    const note = await db.transaction().execute(async (tx) => {
      const existing = await byClientId(tx);
      if (existing) {
        if (!sameNote(existing)) throw new GatewayError('conflict', 'clientNoteId was already used for another note');
        return existing;
      }
      const call = body.callId
        ? await tx
            .selectFrom('calls as t')
            .selectAll('t')
            .where('t.sip_call_id', '=', body.callId)
            .where('t.operator_id', '=', principal.userId)
            .where(inScope(scope, 't'))
            .executeTakeFirst()
        : undefined;
      if (body.callId && !call) throw NOT_FOUND.call();
      const customer = body.customerId ? await scopedCustomer(tx, scope, body.customerId, principal) : undefined;
      if (call && customer && call.campaign_id !== customer.campaign_id) throw NOT_FOUND.customer();
      const customerId = customer?.id ?? call?.customer_id ?? null;
      const campaignId = customer?.campaign_id ?? call?.campaign_id ?? null;
      if (!campaignId) {
        // a call no campaign took (unknown DID): the note needs the customer it is about
        throw new GatewayError('validation_failed', 'this call has no campaign: give the customerId the note is about', {
          issues: [{ path: 'body.customerId', message: 'required for a call without a campaign' }],
        });
      }
      if (call && customer && !call.customer_id) {
        await tx.updateTable('calls').set({ customer_id: customer.id, updated_at: clock.now() }).where('id', '=', call.id).execute();
      }
      const now = clock.now();
      const id = randomUUID();
      const inserted = await tx
        .insertInto('notes')
        .values({
          id, org_id: principal.orgId, campaign_id: campaignId, customer_id: customerId, call_id: call?.id ?? null, author_id: principal.userId,
          client_note_id: body.clientNoteId, body: text, open: body.open, created_at: now, updated_at: now,
        })
        .onConflict((oc) => oc.columns(['author_id', 'client_note_id']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
        // a concurrent retry of the same note won the race
        const raced = await byClientId(tx);
        if (!raced || !sameNote(raced)) throw new GatewayError('conflict', 'clientNoteId was already used for another note');
        return raced;
      }
      await appendAudit(tx, clock, event(principal, 'note.created', { type: 'note', id }, {
        campaignId, customerId, callId: call?.sip_call_id ?? null, length: text.length, redacted: rawNoteHadCard(req.body),
      }));
      return (await byClientId(tx))!;
    });
    return noteView(note);
  });

  route(app, ctx, 'patchNote', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    const note = await db.transaction().execute(async (tx) => {
      const row = await notesQuery(tx).where('t.id', '=', params.id).where(inScope(scope, 't')).executeTakeFirst();
      if (!row) throw await notFound(tx, principal, 'notes', params.id, NOT_FOUND.note());
      if (row.open !== body.open) {
        await tx.updateTable('notes').set({ open: body.open, updated_at: clock.now() }).where('id', '=', row.id).execute();
        await appendAudit(tx, clock, event(principal, body.open ? 'note.reopened' : 'note.closed', { type: 'note', id: row.id }, { campaignId: row.campaign_id }));
      }
      return (await notesQuery(tx).where('t.id', '=', params.id).executeTakeFirst())!;
    });
    return noteView(note);
  });

  // ---------------------------------------------------------------- export
  // Pages in (updated_at, id) order. Pass nextCursor back until hasMore is false; call again
  // later with the last cursor to get what changed since. Each page is audited.
  const exportPage = <R extends { id: string; updated_at: Date }, V>(
    kind: 'customers' | 'calls' | 'notes',
    load: (scope: CampaignScope, after: { at: Date; id: string } | null, since: Date | null, limit: number) => Promise<R[]>,
    view: (rows: R[]) => Promise<V[]> | V[],
  ) =>
    async ({ principal, query }: { principal: Principal; query: { cursor?: string | undefined; since?: string | undefined; limit: number } }) => {
      const after = query.cursor ? decodeCursor(query.cursor) : null;
      const rows = await load(campaignScope(principal), after, query.since ? new Date(query.since) : null, query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      const nextCursor = last ? encodeCursor(last.updated_at, last.id) : (query.cursor ?? null);
      await db.transaction().execute((tx) =>
        appendAudit(tx, clock, event(principal, 'export.read', { type: 'export', id: kind }, { rows: page.length, since: query.since ?? null, cursor: query.cursor ?? null })),
      );
      return { items: await view(page), nextCursor, hasMore: rows.length > query.limit };
    };
  const pageWhere = (after: { at: Date; id: string } | null, since: Date | null) => (eb: any) => {
    const conds = [];
    if (after) conds.push(sql<boolean>`(t.updated_at, t.id) > (${after.at}, ${after.id})`);
    if (since) conds.push(eb('t.updated_at', '>=', since));
    return conds.length ? eb.and(conds) : sql<boolean>`true`;
  };

  route(app, ctx, 'exportCustomers', exportPage(
    'customers',
    (scope, after, since, limit) =>
      db.selectFrom('customers as t').selectAll('t').where(inScope(scope, 't')).where(pageWhere(after, since)).orderBy('t.updated_at').orderBy('t.id').limit(limit).execute(),
    (rows) => customerViews(db, rows),
  ));
  route(app, ctx, 'exportCalls', exportPage(
    'calls',
    (scope, after, since, limit) =>
      db.selectFrom('calls as t').selectAll('t').where(inScope(scope, 't')).where(pageWhere(after, since))
        .orderBy('t.updated_at').orderBy('t.id').limit(limit).execute(),
    (rows) => rows.map(callView),
  ));
  route(app, ctx, 'exportNotes', exportPage(
    'notes',
    (scope, after, since, limit) =>
      notesQuery(db).where(inScope(scope, 't')).where(pageWhere(after, since)).orderBy('t.updated_at').orderBy('t.id').limit(limit).execute(),
    (rows) => rows.map(noteView),
  ));
}
