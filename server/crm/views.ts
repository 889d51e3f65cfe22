// CRM rows as the API shows them (shared/gateway/crm.ts), and the errors a miss answers with.
// A view never reads more than its rows and, for a list, one query for all their children.
import type { Selectable } from 'kysely';
import type { CallView, CampaignRouting, CustomerView, NoteView } from '../../shared/gateway/crm';
import type { BusinessHours } from '../../shared/rules/business-hours';
import { jsonColumn } from '../db/json-column';
import { groupBy, iso, isoOrNull } from '../db/rows';
import type { CallsTable, CampaignsTable, CustomersTable, Executor, NotesTable } from '../db/schema';
import { GatewayError } from '../errors';

export type CampaignRow = Selectable<CampaignsTable>;
export type CustomerRow = Selectable<CustomersTable>;
export type CallRow = Selectable<CallsTable>;
export type NoteRow = Selectable<NotesTable> & { author_name: string; sip_call_id: string | null };

/** A row outside the caller's scope answers exactly like one that does not exist. */
export const NOT_FOUND = {
  campaign: () => new GatewayError('not_found', 'no such campaign'),
  customer: () => new GatewayError('not_found', 'no such customer'),
  call: () => new GatewayError('not_found', 'no such call'),
  note: () => new GatewayError('not_found', 'no such note'),
};

export const uniq = <T>(l: T[]): T[] => [...new Set(l)];

export function campaignHours(row: CampaignRow): Required<BusinessHours> {
  return { timeZone: row.time_zone, weekly: jsonColumn(row.weekly_hours), closedDates: jsonColumn(row.closed_dates), specialDates: jsonColumn<Record<string, { open: string; close: string }[]> | null>(row.special_hours) ?? {} };
}

/** How routing treats the campaign's calls (0010; shared/gateway/crm.ts CampaignRouting). */
export function campaignRouting(row: Pick<CampaignRow, 'enforce_hours' | 'block_policy' | 'ring_seconds'>): CampaignRouting {
  return { enforceHours: row.enforce_hours, blockPolicy: row.block_policy, ringSeconds: row.ring_seconds };
}

export function callView(r: CallRow): CallView {
  return {
    id: r.id, callId: r.sip_call_id, campaignId: r.campaign_id, customerId: r.customer_id, operatorId: r.operator_id,
    callerNumber: r.caller_e164, dialledNumber: r.dialled_e164, blocked: r.blocked, status: r.status,
    ringingAt: iso(r.ringing_at), answeredAt: isoOrNull(r.answered_at), endedAt: isoOrNull(r.ended_at),
    disposition: r.disposition, wrapUpSeconds: r.wrap_up_seconds, updatedAt: iso(r.updated_at),
  };
}

export function noteView(r: NoteRow): NoteView {
  return {
    id: r.id, clientNoteId: r.client_note_id, campaignId: r.campaign_id, customerId: r.customer_id, callId: r.sip_call_id,
    authorId: r.author_id, authorName: r.author_name, body: r.body, open: r.open, version: r.version, editedAt: isoOrNull(r.edited_at),
    createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
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
  const byCustomer = groupBy(phones, (p) => p.customer_id, (p) => p.e164);
  return rows.map((r) => ({
    id: r.id, campaignId: r.campaign_id, nameKanji: r.name_kanji, nameKana: r.name_kana, phones: byCustomer.get(r.id) ?? [],
    email: r.email, fields: jsonColumn(r.fields), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  }));
}

/** One customer row -> its view. */
export async function customerView(db: Executor, row: CustomerRow): Promise<CustomerView> {
  return (await customerViews(db, [row]))[0]!;
}
