// The admin console's teams, roles and campaigns routes that were missing (issue 17): rename and
// delete a team, delete a custom role, a campaign's admin settings in one read, disable/enable
// and delete a campaign, and the names of users by id (the console shows members and
// assignments by name). Spread into ROUTES (api.ts). What deleting or disabling does to history
// is docs/telephony.md "Admin console: teams, roles, campaigns".
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { CampaignQueueSettings } from './queue';
import { RecordingSettings, RetentionSettings } from './recordings';
import { userText } from '../rules/text';
import { Id, Iso } from './primitives';

const IdParams = z.strictObject({ id: Id });
/** A team's name: user text like every name a person gives (api.ts PersonName). */
export const TeamRenameRequest = z.strictObject({ name: userText({ max: 100, redactCards: true }) });
export const TeamRenameView = z.strictObject({ id: Id, name: z.string(), leadIds: z.array(Id), operatorIds: z.array(Id) });
/** What a deletion removed; the audit entry holds the same. */
export const DeletedResponse = z.strictObject({ id: Id, deleted: z.literal(true) });

/** A campaign's settings only an admin reads: state, queue, recording, retention, assignments. */
export const CampaignAdminView = z.strictObject({
  campaignId: Id,
  disabled: z.boolean(),
  disabledAt: Iso.nullable(),
  queue: CampaignQueueSettings,
  recording: RecordingSettings,
  retention: RetentionSettings,
  assignedUserIds: z.array(Id),
  /** Calls recorded in the campaign (a campaign with calls cannot be deleted, only disabled). */
  callCount: z.number().int(),
});
export type CampaignAdminView = z.infer<typeof CampaignAdminView>;
export const CampaignDisabledRequest = z.strictObject({ disabled: z.boolean() });

export const UserNamesRequest = z.strictObject({ ids: z.array(Id).max(2000) });
export const UserNamesResponse = z.strictObject({
  users: z.array(z.strictObject({ id: Id, username: z.string(), displayName: z.string(), role: z.string(), disabled: z.boolean() })),
});

export const ORG_ROUTES = {
  renameTeam: {
    method: 'PATCH', path: '/admin/teams/:id', summary: 'Rename a team; audited', auth: 'teams:manage',
    params: IdParams, body: TeamRenameRequest, response: TeamRenameView,
  },
  deleteTeam: {
    method: 'DELETE', path: '/admin/teams/:id', summary: 'Delete a team: its memberships end (calls, notes and the audit log are kept); audited', auth: 'teams:manage',
    params: IdParams, response: DeletedResponse,
  },
  deleteRole: {
    method: 'DELETE', path: '/admin/roles/:id', summary: 'Delete a custom role nobody holds (in_use names how many users do); audited', auth: 'roles:manage',
    params: IdParams, response: DeletedResponse,
  },
  campaignAdmin: {
    method: 'GET', path: '/campaigns/:id/admin', summary: 'A campaign\'s state, queue, recording, retention and assignments', auth: 'campaigns:manage',
    params: IdParams, response: CampaignAdminView,
  },
  setCampaignDisabled: {
    method: 'PUT', path: '/campaigns/:id/disabled', summary: 'Disable (not routed: its numbers answer like unknown ones; history kept) or enable a campaign; audited', auth: 'campaigns:manage',
    params: IdParams, body: CampaignDisabledRequest, response: CampaignAdminView,
  },
  deleteCampaign: {
    method: 'DELETE', path: '/campaigns/:id', summary: 'Delete a campaign with no calls, customers, notes or recordings (else in_use: disable it); its numbers are freed; audited', auth: 'campaigns:manage',
    params: IdParams, response: DeletedResponse,
  },
  userNames: {
    method: 'POST', path: '/admin/users/names', summary: 'Names of users of the org by id (unknown ids are left out)', auth: 'users:read',
    body: UserNamesRequest, response: UserNamesResponse,
  },
} as const satisfies Record<string, RouteSpec>;
