// The admin console's users lane (issue 17): the org-wide session list, revoking one session,
// deleting a user (a tombstone: docs/telephony.md "Admin console: users, sessions, devices"),
// and a user's team memberships. Spread into ROUTES (api.ts) as USERS_ROUTES. Handlers:
// server/admin/sessions.ts and server/admin/users.ts.
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { Id, Iso } from './primitives';

const IdParam = z.strictObject({ id: Id });

/**
 * A deleted user's display name (the tombstone's): what calls, notes and boards that name the
 * user show from then on. Clients show their own words for it (admin.users.deletedUser).
 */
export const DELETED_USER_NAME = '削除済みユーザー (deleted user)';

/**
 * A page cursor over (created_at desc, id desc): `<ISO instant>~<id>` of the last row of the
 * previous page, as the gateway gave it (opaque to clients).
 */
export const PageCursor = z
  .string()
  .max(100)
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z~[0-9a-f-]{36}$/, 'a cursor the gateway gave');

/** One live session of the org (GET /admin/sessions): who, on which PC, from where. */
export const OrgSessionView = z.strictObject({
  id: Id,
  userId: Id,
  username: z.string(),
  displayName: z.string(),
  deviceId: Id.nullable(),
  deviceName: z.string().nullable(),
  sourceIp: z.string().nullable(),
  createdAt: Iso,
  lastSeenAt: Iso,
  absoluteExpiresAt: Iso,
  /** The session asking (revoking it signs the caller out). */
  current: z.boolean(),
});
export const OrgSessionsQuery = z.strictObject({
  /** Only this user's sessions. */
  userId: Id.optional(),
  cursor: PageCursor.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const OrgSessionsResponse = z.strictObject({ sessions: z.array(OrgSessionView), nextCursor: PageCursor.nullable() });

/** What deleting a user did (the confirmation dialog states it before, the audit entry after). */
export const UserDeletedResponse = z.strictObject({
  ok: z.literal(true),
  /** The username is freed: a new user may take it. */
  usernameFreed: z.literal(true),
  sessionsRevoked: z.number().int(),
  devicesReset: z.number().int(),
  teamsLeft: z.number().int(),
  assignmentsRemoved: z.number().int(),
});

/** A user's teams, replaced as a whole (PUT /admin/users/:id/teams). */
export const UserTeamsRequest = z.strictObject({
  teams: z.array(z.strictObject({ teamId: Id, as: z.enum(['lead', 'operator']) })).max(100),
});
export const UserTeamsResponse = z.strictObject({ teams: z.array(z.strictObject({ teamId: Id, as: z.enum(['lead', 'operator']) })) });

export const USERS_ROUTES = {
  listSessions: {
    method: 'GET', path: '/admin/sessions', summary: 'Live sessions of the org, newest first, paged (who, which PC, which address)', auth: 'sessions:manage',
    query: OrgSessionsQuery, response: OrgSessionsResponse,
  },
  revokeSession: {
    method: 'POST', path: '/admin/sessions/:id/revoke', summary: 'Revoke one session (its open windows sign out)', auth: 'sessions:manage',
    params: IdParam, response: z.strictObject({ revoked: z.number().int() }),
  },
  deleteUser: {
    method: 'DELETE', path: '/admin/users/:id', summary: 'Delete a user: personal fields erased, the row kept as a tombstone for history', auth: 'users:manage',
    params: IdParam, response: UserDeletedResponse,
  },
  setUserTeams: {
    method: 'PUT', path: '/admin/users/:id/teams', summary: 'Replace the teams of a user (lead or operator in each)', auth: 'teams:manage',
    params: IdParam, body: UserTeamsRequest, response: UserTeamsResponse,
  },
} as const satisfies Record<string, RouteSpec>;
