// The transfer directory (issue 18 item 6): who and where an operator can transfer a call to:
// colleagues with their presence (only those sharing a team or a campaign with the operator:
// the gateway's rule, applied in SQL), the queues of the operator's campaigns (their number),
// and the org's quick connects (name + number, kept by admins with campaigns:manage).
import { z } from 'zod';
import { userText } from '../rules/text';
import type { RouteSpec } from './route-spec';
import { E164, Id, Iso } from './primitives';
import { PhoneInput } from './crm';
import { LegacyAgentState } from './sip';

export const QuickConnectView = z.strictObject({ id: Id, name: z.string(), number: E164, createdAt: Iso });
export type QuickConnectView = z.infer<typeof QuickConnectView>;
export const QuickConnectCreateRequest = z.strictObject({
  name: userText({ max: 60, redactCards: true }),
  /** Any written form of a phone number; stored E.164. */
  number: PhoneInput,
});
export const QuickConnectsResponse = z.strictObject({ quickConnects: z.array(QuickConnectView) });

export const DirectoryColleague = z.strictObject({
  userId: Id,
  displayName: z.string(),
  /** The transfer target: sip:<sipUser>@<domain>. */
  sipUser: z.string(),
  state: LegacyAgentState,
});
export const DirectoryQueue = z.strictObject({ campaignId: Id, name: z.string(), number: E164 });
export const TransferDirectoryResponse = z.strictObject({
  colleagues: z.array(DirectoryColleague),
  queues: z.array(DirectoryQueue),
  quickConnects: z.array(QuickConnectView),
});
export type TransferDirectoryResponse = z.infer<typeof TransferDirectoryResponse>;

const IdParam = z.strictObject({ id: Id });
const Deleted = z.strictObject({ ok: z.literal(true) });

export const DIRECTORY_ROUTES = {
  transferDirectory: {
    method: 'GET', path: '/directory', summary: 'Transfer targets: colleagues sharing a team or campaign (with presence), the caller\'s campaign queues, the org\'s quick connects',
    auth: 'calls:handle', response: TransferDirectoryResponse,
  },
  listQuickConnects: {
    method: 'GET', path: '/admin/quick-connects', summary: 'The org\'s quick connects (transfer directory entries)', auth: 'campaigns:manage', response: QuickConnectsResponse,
  },
  createQuickConnect: {
    method: 'POST', path: '/admin/quick-connects', summary: 'Add a quick connect (name + number, stored E.164); audited', auth: 'campaigns:manage',
    body: QuickConnectCreateRequest, response: QuickConnectView,
  },
  deleteQuickConnect: {
    method: 'DELETE', path: '/admin/quick-connects/:id', summary: 'Remove a quick connect; audited', auth: 'campaigns:manage', params: IdParam, response: Deleted,
  },
} as const satisfies Record<string, RouteSpec>;
