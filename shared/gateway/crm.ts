// The CRM part of the gateway contract: campaigns, assignments, customers, the screen pop,
// calls, notes and export. Spread into ROUTES (api.ts); the same rules as there apply:
// strict zod objects everywhere, one permission per route. Scope (which campaigns a caller
// may see) is not a permission: the gateway applies it in SQL on every route below.
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { isTimeZone, WEEKDAYS } from '../rules/business-hours';
import { BLOCK_POLICIES } from '../rules/route-policy';
import { luhnValid } from '../rules/card-redaction';
import { toE164 } from '../rules/phone';
import { userText } from '../rules/text';
import { Id, Instant, Iso, SipCallId } from './primitives';

/** A phone number as people type it; normalised to E.164 (Japan by default) or refused. */
export const PhoneInput = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const e164 = toE164(value);
    if (!e164) {
      ctx.addIssue({ code: 'custom', message: 'not a phone number' });
      return z.NEVER;
    }
    return e164;
  });

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');
const Interval = z
  .strictObject({ open: HHMM, close: z.union([HHMM, z.literal('24:00')]) })
  .refine((i) => i.open < i.close, 'close must be after open');
export const BusinessHoursSchema = z.strictObject({
  timeZone: z.string().max(64).refine(isTimeZone, 'unknown IANA time zone'),
  weekly: z.strictObject(Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(Interval).max(8).optional()])) as Record<(typeof WEEKDAYS)[number], z.ZodOptional<z.ZodArray<typeof Interval>>>),
  closedDates: z.array(z.iso.date()).max(1000).default([]),
  /** Special hours for a date (a shortened day before a holiday): that day's intervals instead of the weekday's. */
  specialDates: z.record(z.iso.date(), z.array(Interval).max(8)).refine((r) => Object.keys(r).length <= 366, 'at most 366 special dates').default({}),
});

const CampaignName = userText({ max: 100, redactCards: true });
const Disposition = userText({ max: 50, redactCards: true });
const Dispositions = z.array(Disposition).min(1).max(50).refine((l) => new Set(l).size === l.length, 'dispositions must be unique');

/**
 * How routing treats a campaign's calls (server/sip/routing.ts, shared/rules/route-policy.ts):
 * enforceHours closes it outside its hours (the closed outcome, no operator rings); a blocked
 * caller gets blockPolicy (reject: 603 Decline; message: an announcement); ringSeconds is how
 * long an offer rings before it goes to the next operator (null: the org's agents.ringSeconds).
 */
export const BlockPolicySchema = z.enum(BLOCK_POLICIES);
export const RingSeconds = z.number().int().min(5).max(120);
export const CampaignRouting = z.strictObject({
  enforceHours: z.boolean(),
  blockPolicy: BlockPolicySchema,
  ringSeconds: RingSeconds.nullable(),
});
export type CampaignRouting = z.infer<typeof CampaignRouting>;

export const CampaignCreateRequest = z.strictObject({
  name: CampaignName,
  dids: z.array(PhoneInput).max(200).default([]),
  hours: BusinessHoursSchema,
  dispositions: Dispositions,
  blockedNumbers: z.array(PhoneInput).max(10_000).default([]),
  /** A new campaign's hours are enforced unless it says otherwise. */
  routing: z
    .strictObject({ enforceHours: z.boolean().default(true), blockPolicy: BlockPolicySchema.default('reject'), ringSeconds: RingSeconds.nullable().default(null) })
    .default({ enforceHours: true, blockPolicy: 'reject', ringSeconds: null }),
  /** Service-level target: answered within this many seconds (the board's queue statistics). */
  serviceLevelSeconds: z.number().int().min(1).max(3600).default(20),
  /** The number customers see when an operator calls out for this campaign (E.164; null: none presented). */
  outboundCallerId: PhoneInput.nullable().default(null),
});
export const CampaignPatchRequest = z.strictObject({
  name: CampaignName.optional(),
  dids: z.array(PhoneInput).max(200).optional(),
  hours: BusinessHoursSchema.optional(),
  dispositions: Dispositions.optional(),
  blockedNumbers: z.array(PhoneInput).max(10_000).optional(),
  /** Any subset of the routing settings; the others stay. */
  routing: CampaignRouting.partial().optional(),
  serviceLevelSeconds: z.number().int().min(1).max(3600).optional(),
  outboundCallerId: PhoneInput.nullable().optional(),
});
const HoursView = z.strictObject({
  timeZone: z.string(),
  weekly: z.record(z.string(), z.array(z.strictObject({ open: z.string(), close: z.string() }))),
  closedDates: z.array(z.string()),
  specialDates: z.record(z.string(), z.array(z.strictObject({ open: z.string(), close: z.string() }))),
});
export const CampaignView = z.strictObject({
  id: Id,
  name: z.string(),
  dids: z.array(z.string()),
  hours: HoursView,
  dispositions: z.array(z.string()),
  /** Only for callers with campaigns:manage. */
  blockedNumbers: z.array(z.string()).optional(),
  /** Only for callers with campaigns:manage. */
  routing: CampaignRouting.optional(),
  /** Only for callers with campaigns:manage: disabled, not routed (shared/gateway/admin-org.ts). */
  disabled: z.boolean().optional(),
  serviceLevelSeconds: z.number().int(),
  /** The caller ID of its outbound calls (E.164), shown to its operators when they dial out; null: none. */
  outboundCallerId: z.string().nullable(),
  createdAt: Iso,
  updatedAt: Iso,
});
export type CampaignView = z.infer<typeof CampaignView>;
export const CampaignsResponse = z.strictObject({ campaigns: z.array(CampaignView) });
export const HoursStatusResponse = z.strictObject({
  campaignId: Id,
  timeZone: z.string(),
  openNow: z.boolean(),
  nextOpening: Iso.nullable(),
  closesAt: Iso.nullable(),
});
export const AssignmentsRequest = z.strictObject({ userIds: z.array(Id).max(10_000) });
export const AssignmentsResponse = z.strictObject({ campaignId: Id, userIds: z.array(Id) });

/**
 * A number that is a whole card number (13-19 digits, Luhn-valid). Refused rather than masked:
 * masking would turn a number field into a string behind the client's back (an export or an
 * integration reading the field as a number would break), and a refusal tells the operator
 * at once that the value cannot be kept. Text values are masked (userText redactCards).
 */
export function isCardNumberValue(n: number): boolean {
  if (!Number.isInteger(n)) return false;
  const digits = Math.abs(n).toString();
  return /^\d{13,19}$/.test(digits) && luhnValid(digits);
}
const FieldNumber = z.number().refine((n) => !isCardNumberValue(n), 'looks like a card number: card numbers are not stored (send it as text to have it masked)');
/** Custom field values: free text (multi-line, card numbers masked), numbers, booleans, null. */
const FieldValue = z.union([userText({ min: 0, max: 1000, multiline: true, redactCards: true }), FieldNumber, z.boolean(), z.null()]);
const Fields = z.record(userText({ max: 64, redactCards: true }), FieldValue).refine((f) => Object.keys(f).length <= 50, 'at most 50 fields');
const NameKanji = userText({ max: 100, redactCards: true });
const NameKana = userText({ max: 100, redactCards: true });
const Email = z.email().max(254);

export const CustomerCreateRequest = z.strictObject({
  campaignId: Id,
  nameKanji: NameKanji,
  nameKana: NameKana,
  phones: z.array(PhoneInput).max(10).default([]),
  email: Email.nullable().default(null),
  fields: Fields.default({}),
});
export const CustomerPatchRequest = z.strictObject({
  nameKanji: NameKanji.optional(),
  nameKana: NameKana.optional(),
  phones: z.array(PhoneInput).max(10).optional(),
  email: Email.nullable().optional(),
  fields: Fields.optional(),
});
export const CustomerView = z.strictObject({
  id: Id,
  campaignId: Id,
  nameKanji: z.string(),
  nameKana: z.string(),
  phones: z.array(z.string()),
  email: z.string().nullable(),
  fields: z.record(z.string(), z.unknown()),
  createdAt: Iso,
  updatedAt: Iso,
});
export type CustomerView = z.infer<typeof CustomerView>;
export const CustomersResponse = z.strictObject({ customers: z.array(CustomerView) });
const Limit = (max: number, def: number) => z.coerce.number().int().min(1).max(max).default(def);
export const LookupQuery = z.strictObject({ phone: userText({ max: 40, redactCards: true }), campaignId: Id.optional() });
export const SearchQuery = z.strictObject({ q: userText({ max: 100, redactCards: true }), campaignId: Id.optional(), limit: Limit(100, 20) });

export const CallView = z.strictObject({
  id: Id,
  callId: z.string(),
  campaignId: Id.nullable(),
  customerId: Id.nullable(),
  /** null: a call that left a queue without reaching an operator (status `abandoned`, or `ended` by the queue). */
  operatorId: Id.nullable(),
  callerNumber: z.string().nullable(),
  dialledNumber: z.string().nullable(),
  blocked: z.boolean(),
  status: z.enum(['ringing', 'answered', 'ended', 'wrapped_up', 'abandoned']),
  ringingAt: Iso,
  answeredAt: Iso.nullable(),
  endedAt: Iso.nullable(),
  disposition: z.string().nullable(),
  wrapUpSeconds: z.number().int().nullable(),
  updatedAt: Iso,
});
export type CallView = z.infer<typeof CallView>;
export const CallsResponse = z.strictObject({ calls: z.array(CallView) });
export const CallParams = z.strictObject({ callId: SipCallId });
export const CallPatchRequest = z.strictObject({
  answeredAt: Instant.optional(),
  endedAt: Instant.optional(),
  disposition: Disposition.optional(),
  wrapUpSeconds: z.number().int().min(0).max(86_400).optional(),
  customerId: Id.optional(),
});

export const NoteBody = userText({ max: 4000, multiline: true, redactCards: true });
export const NoteCreateRequest = z
  .strictObject({
    /** Chosen by the client (UUID); a retry with the same id returns the note instead of adding one. */
    clientNoteId: Id,
    customerId: Id.optional(),
    callId: SipCallId.optional(),
    body: NoteBody,
    open: z.boolean().default(true),
  })
  .refine((n) => n.customerId !== undefined || n.callId !== undefined, 'a note needs a customerId or a callId');
export const NotePatchRequest = z.strictObject({ open: z.boolean() });
/**
 * A correction of a note's text by its author (org policy notes.*; docs/gateway.md "Editing a
 * note"). `version` is the note's version the client edited (NoteView.version): when the note
 * has moved on since, the edit is refused `conflict` instead of overwriting the newer text.
 * The body goes through the same schema as a new note's (card numbers masked).
 */
export const NoteEditRequest = z.strictObject({
  body: NoteBody,
  version: z.number().int().min(1).max(1_000_000),
});
export const NoteView = z.strictObject({
  id: Id,
  clientNoteId: Id,
  campaignId: Id,
  customerId: Id.nullable(),
  callId: z.string().nullable(),
  authorId: Id,
  authorName: z.string(),
  body: z.string(),
  open: z.boolean(),
  /** 1 as written; one more with each edit of the text (closing and reopening do not count). */
  version: z.number().int(),
  /** The last edit of the text; null: as written. */
  editedAt: Iso.nullable(),
  createdAt: Iso,
  updatedAt: Iso,
});
export type NoteView = z.infer<typeof NoteView>;
/** A text the note had: `body` was its text at `version`, until `editorName` replaced it at `editedAt`. */
export const NoteRevision = z.strictObject({
  version: z.number().int(),
  body: z.string(),
  editorId: Id,
  editorName: z.string(),
  editedAt: Iso,
});
/** The note as it is now and the texts it had before, oldest first. */
export const NoteEditsResponse = z.strictObject({ note: NoteView, edits: z.array(NoteRevision) });
export const NotesResponse = z.strictObject({ notes: z.array(NoteView) });
export const NotesQuery = z.strictObject({ open: z.enum(['true', 'false']).optional(), limit: Limit(200, 50) });
export const HistoryQuery = z.strictObject({ limit: Limit(200, 20) });

export const ScreenPopRequest = z.strictObject({
  callId: SipCallId,
  /** The number the customer dialled (the DID); mapped to a campaign. */
  dialledNumber: userText({ max: 40 }).optional(),
  /** A campaign the PBX set (e.g. an X-Koe-Campaign header); used only if no DID matched. */
  campaignId: Id.optional(),
  /**
   * As the trunk presents it (the From user part: "+819012345678;cpc=ordinary", "0312345678",
   * "anonymous", empty for a caller without a user part); normalised by the trunk's rule
   * (shared/rules/numbering.ts). A withheld or garbage caller simply matches nobody.
   */
  callerNumber: userText({ max: 512, min: 0 }),
});
const CampaignSummary = z.strictObject({
  id: Id,
  name: z.string(),
  dispositions: z.array(z.string()),
  openNow: z.boolean(),
});
export const ScreenPopResponse = z.strictObject({
  status: z.enum(['known', 'unknown']),
  /** The caller is on the campaign's block list: no customer data, the UI warns. */
  blocked: z.boolean(),
  campaign: CampaignSummary.nullable(),
  customers: z.array(CustomerView),
  recentCalls: z.array(CallView),
  openNotes: z.array(NoteView),
});
export type ScreenPopResponse = z.infer<typeof ScreenPopResponse>;

export const ExportQuery = z.strictObject({
  /** Opaque; from the previous page's nextCursor. */
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/).optional(),
  /** Only rows updated at or after this instant. */
  since: Instant.optional(),
  limit: Limit(5000, 1000),
});
const page = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    /** Pass as `cursor` next time; the request's cursor (or null) when nothing is new. */
    nextCursor: z.string().nullable(),
    hasMore: z.boolean(),
  });
export const CustomersExport = page(CustomerView);
export const CallsExport = page(CallView);
export const NotesExport = page(NoteView);
const IdParam = z.strictObject({ id: Id });

export const CRM_ROUTES = {
  listCampaigns: { method: 'GET', path: '/campaigns', summary: 'Campaigns in the caller\'s scope', auth: 'customers:read', response: CampaignsResponse },
  getCampaign: { method: 'GET', path: '/campaigns/:id', summary: 'One campaign (404 when outside the scope)', auth: 'customers:read', params: IdParam, response: CampaignView },
  campaignHours: {
    method: 'GET', path: '/campaigns/:id/hours', summary: 'Open now? and the next opening, in the campaign\'s time zone', auth: 'customers:read',
    params: IdParam, response: HoursStatusResponse,
  },
  createCampaign: { method: 'POST', path: '/campaigns', summary: 'Create a campaign', auth: 'campaigns:manage', body: CampaignCreateRequest, response: CampaignView },
  patchCampaign: {
    method: 'PATCH', path: '/campaigns/:id', summary: 'Change a campaign (DIDs, hours, dispositions, block list)', auth: 'campaigns:manage',
    params: IdParam, body: CampaignPatchRequest, response: CampaignView,
  },
  setAssignments: {
    method: 'PUT', path: '/campaigns/:id/assignments', summary: 'Replace the users assigned to a campaign', auth: 'campaigns:manage',
    params: IdParam, body: AssignmentsRequest, response: AssignmentsResponse,
  },
  createCustomer: { method: 'POST', path: '/customers', summary: 'Create a customer in a campaign in scope', auth: 'customers:write', body: CustomerCreateRequest, response: CustomerView },
  lookupCustomers: {
    method: 'GET', path: '/customers/lookup', summary: 'Customers in scope with this phone number', auth: 'customers:read',
    query: LookupQuery, response: CustomersResponse,
  },
  searchCustomers: {
    method: 'GET', path: '/customers/search', summary: 'Search in scope: a phone number, or a name prefix (kanji or kana)', auth: 'customers:read',
    query: SearchQuery, response: CustomersResponse,
  },
  getCustomer: { method: 'GET', path: '/customers/:id', summary: 'One customer (404 when outside the scope)', auth: 'customers:read', params: IdParam, response: CustomerView },
  patchCustomer: {
    method: 'PATCH', path: '/customers/:id', summary: 'Change a customer', auth: 'customers:write',
    params: IdParam, body: CustomerPatchRequest, response: CustomerView,
  },
  customerCalls: {
    method: 'GET', path: '/customers/:id/calls', summary: 'Call history of a customer, newest first', auth: 'customers:read',
    params: IdParam, query: HistoryQuery, response: CallsResponse,
  },
  customerNotes: {
    method: 'GET', path: '/customers/:id/notes', summary: 'Notes of a customer, newest first', auth: 'customers:read',
    params: IdParam, query: NotesQuery, response: NotesResponse,
  },
  screenPop: {
    method: 'POST', path: '/screen-pop', summary: 'Campaign, customers, recent calls and open notes for a ringing call; records the call', auth: 'calls:handle',
    body: ScreenPopRequest, response: ScreenPopResponse,
  },
  patchCall: {
    method: 'PATCH', path: '/calls/:callId', summary: 'Answered/ended times, disposition, wrap-up, customer of the caller\'s call', auth: 'calls:handle',
    params: CallParams, body: CallPatchRequest, response: CallView,
  },
  createNote: { method: 'POST', path: '/notes', summary: 'Add a note (card numbers redacted; idempotent on clientNoteId)', auth: 'notes:write', body: NoteCreateRequest, response: NoteView },
  patchNote: { method: 'PATCH', path: '/notes/:id', summary: 'Close or reopen a note', auth: 'notes:write', params: IdParam, body: NotePatchRequest, response: NoteView },
  editNote: {
    method: 'PUT', path: '/notes/:id/body',
    summary: 'Correct a note\'s text: its author only, within the org\'s edit window (edit_window_expired, note_closed); a stale version is 409; card numbers redacted; the replaced text is kept',
    auth: 'notes:write', params: IdParam, body: NoteEditRequest, response: NoteView,
  },
  noteEdits: {
    method: 'GET', path: '/notes/:id/edits', summary: 'A note as it is now and the texts it had before each edit, oldest first (404 when outside the scope)', auth: 'customers:read',
    params: IdParam, response: NoteEditsResponse,
  },
  exportCustomers: {
    method: 'GET', path: '/export/customers', summary: 'Incremental export of customers in scope (updated_at, id order)', auth: 'export:read',
    query: ExportQuery, response: CustomersExport,
  },
  exportCalls: {
    method: 'GET', path: '/export/calls', summary: 'Incremental export of calls in scope', auth: 'export:read', query: ExportQuery, response: CallsExport,
  },
  exportNotes: {
    method: 'GET', path: '/export/notes', summary: 'Incremental export of notes in scope', auth: 'export:read', query: ExportQuery, response: NotesExport,
  },
} as const satisfies Record<string, RouteSpec>;
