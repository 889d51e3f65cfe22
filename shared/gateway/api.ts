// The gateway HTTP API as data: one entry per route with its zod schemas. The server
// registers handlers from it, /openapi.json is generated from it, the client imports its types.
import { z } from 'zod';
import { PERMISSIONS } from './permissions';
import type { RouteSpec } from './route-spec';
import { CRM_ROUTES } from './crm';
import { PageCursor, USERS_ROUTES } from './admin-users';
import { POLICY_ROUTES } from './admin-policy';
import { isCidr } from './cidr';
import { SIP_ROUTES, SettableAgentState, LegacyAgentState } from './sip';
import { QUEUE_ROUTES } from './queue';
import { DIRECTORY_ROUTES } from './directory';
import { RECORDING_ROUTES } from './recordings';
import { ORG_ROUTES } from './admin-org';
import { SUPERVISION_ROUTES, SupervisionClientMessages, SupervisionServerMessages } from './supervision';
import { AgentReason, OperatorClientMessages, OperatorServerMessages } from './operator';
import { BoardStatsMessage } from './queue-stats';
import { AgentPolicySchema, NotesPolicySchema, ClientPolicySchema, OrgPolicySchema, OrgPolicyPatchSchema, PasswordPolicySchema } from './policy';
import { userText } from '../rules/text';
import { RECOVERY_CODE_TYPED } from '../rules/recovery-code';
import { Id, Instant, Iso, LockReason } from './primitives';
import { ALERTS_ROUTES, AlertPushMessage } from './admin-alerts';

export type { RouteSpec } from './route-spec';

const Username = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore, hyphen');
const Password = z.string().min(1).max(1024);
const TotpCode = z.string().regex(/^\d{6}$/);
/** As typed: capitals, spaces and a missing hyphen are allowed (shared/rules/recovery-code.ts normalises). */
const RecoveryCode = z.string().regex(RECOVERY_CODE_TYPED);
const B64url = z.string().regex(/^[A-Za-z0-9_-]+$/);
/** Ed25519 public key: the raw 32 bytes, base64url without padding (43 characters). */
export const DevicePublicKey = B64url.length(43);
/** Ed25519 signature: 64 bytes, base64url without padding (86 characters). */
const DeviceSignature = B64url.length(86);
const Challenge = B64url.min(32).max(64);
const RoleKey = z.string().regex(/^[a-z][a-z0-9_]{1,39}$/);
const Permission = z.enum(PERMISSIONS);
const Cursor = z.coerce.number().int().min(0);
/**
 * A name a person gives something (display names, device, role and team names): user text
 * (shared/rules/text.ts), card numbers masked. Passwords are not user text: they are never
 * stored or logged, only hashed, and trimming or normalising them would change them.
 */
const PersonName = userText({ max: 100, redactCards: true });

export const DeviceProof = z.strictObject({
  publicKey: DevicePublicKey,
  /** Shown to admins; used only at enrolment. */
  name: PersonName,
  challenge: Challenge,
  signature: DeviceSignature,
});

export const ChallengeRequest = z.strictObject({
  username: Username,
  purpose: z.enum(['sign-in', 'refresh']),
});
export const ChallengeResponse = z.strictObject({ challenge: Challenge, expiresAt: Iso });

export const SignInRequest = z.strictObject({
  username: Username,
  password: Password,
  totp: TotpCode.optional(),
  recoveryCode: RecoveryCode.optional(),
  device: DeviceProof.optional(),
});

export const UserView = z.strictObject({
  id: Id,
  orgId: Id,
  username: z.string(),
  displayName: z.string(),
  role: z.string(),
  permissions: z.array(z.string()),
  teamIds: z.array(Id),
  disabled: z.boolean(),
  totpEnabled: z.boolean(),
  /** An admin set the password (temporary): the user's sessions can only change it until they do. */
  mustChangePassword: z.boolean(),
  locked: z.boolean().optional(),
});
export type UserView = z.infer<typeof UserView>;

export const SessionTokens = z.strictObject({
  accessToken: z.string(),
  accessTokenExpiresAt: Iso,
  refreshToken: z.string(),
  sessionId: Id,
  idleExpiresAt: Iso,
  absoluteExpiresAt: Iso,
});

/** A PC enrolled for this user that they have not been told about yet (server/auth/new-devices.ts). */
export const NewDeviceNotice = z.strictObject({ id: Id, name: z.string(), enrolledAt: Iso, sourceIp: z.string().nullable() });

export const SignInResponse = z.strictObject({
  tokens: SessionTokens,
  user: UserView,
  device: z.strictObject({ id: Id, name: z.string(), enrolledNow: z.boolean() }).nullable(),
  /** True when policy requires TOTP and the user has none: the session can only enrol it. */
  totpEnrolmentRequired: z.boolean(),
  /** True when an admin reset the password: the session can only change it (then it is a full one). */
  passwordChangeRequired: z.boolean(),
  recoveryCodeUsed: z.boolean(),
  /** PCs enrolled for this user since they were last told (not this PC): "new PC enrolled on <date> from <address>". */
  newDevices: z.array(NewDeviceNotice),
});

export const RefreshRequest = z.strictObject({
  refreshToken: B64url.min(20).max(200),
  device: DeviceProof.omit({ name: true }).optional(),
});
export const RefreshResponse = z.strictObject({ tokens: SessionTokens });

export const OkResponse = z.strictObject({ ok: z.literal(true) });

/** Unlocking the idle screen re-verifies the operator with the gateway (password, plus TOTP where policy requires it). */
export const ReverifyRequest = z.strictObject({ password: Password, totp: TotpCode.optional() });
/** The client reports its screen lock so lock and unlock stand in the audit log. */
export const LockEventRequest = z.strictObject({ reason: LockReason });

export const PasswordChangeRequest = z.strictObject({ currentPassword: Password, newPassword: Password });
export const TotpEnrolResponse = z.strictObject({ secret: z.string(), otpauthUri: z.string(), qrSvg: z.string() });
export const TotpConfirmRequest = z.strictObject({ code: TotpCode });
export const RecoveryCodesResponse = z.strictObject({ recoveryCodes: z.array(z.string()) });
export const TotpDisableRequest = z.strictObject({ password: Password, code: TotpCode });

/** The caller's own PCs (GET /me/devices): first and last seen, with the address of each. */
export const MyDeviceView = z.strictObject({
  id: Id,
  name: z.string(),
  status: z.enum(['active', 'revoked', 'reset']),
  firstSeenAt: Iso,
  firstSeenIp: z.string().nullable(),
  lastSeenAt: Iso.nullable(),
  lastSeenIp: z.string().nullable(),
  /** The PC of the session asking. */
  current: z.boolean(),
});
export const MyDevicesResponse = z.strictObject({ devices: z.array(MyDeviceView) });
/** The org's password rules for the caller (the client checks shared/rules/password-policy.ts as they type). */
export const MyPasswordPolicyResponse = z.strictObject({ policy: PasswordPolicySchema, username: z.string() });

export const IdParams = z.strictObject({ id: Id });

export const UserCreateRequest = z.strictObject({
  username: Username,
  displayName: PersonName,
  role: RoleKey,
  password: Password,
});
export const UserPatchRequest = z.strictObject({
  displayName: PersonName.optional(),
  role: RoleKey.optional(),
  disabled: z.boolean().optional(),
});
export const PasswordResetRequest = z.strictObject({ password: Password });
/**
 * The user list pages (thousands of users): by username, `cursor` = the last username of the
 * previous page; `q` matches a username prefix or any part of the display name.
 */
export const UsersQuery = z.strictObject({
  q: userText({ max: 100 }).optional(),
  cursor: Username.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
/** `nextCursor`: pass it as `cursor` for the next page; null on the last page. */
export const UsersResponse = z.strictObject({ users: z.array(UserView), nextCursor: z.string().nullable() });

export const RoleView = z.strictObject({
  id: Id,
  key: z.string(),
  name: z.string(),
  permissions: z.array(z.string()),
  builtin: z.boolean(),
});
export const RolesResponse = z.strictObject({ roles: z.array(RoleView) });
export const RoleCreateRequest = z.strictObject({
  key: RoleKey,
  name: PersonName,
  permissions: z.array(Permission).max(PERMISSIONS.length),
});
export const RolePatchRequest = z.strictObject({
  name: PersonName.optional(),
  permissions: z.array(Permission).max(PERMISSIONS.length).optional(),
});

export const TeamView = z.strictObject({
  id: Id,
  name: z.string(),
  leadIds: z.array(Id),
  operatorIds: z.array(Id),
});
export const TeamsResponse = z.strictObject({ teams: z.array(TeamView) });
export const TeamCreateRequest = z.strictObject({ name: PersonName });
export const TeamMembersRequest = z.strictObject({
  leadIds: z.array(Id).max(100),
  operatorIds: z.array(Id).max(1000),
});

export const DeviceView = z.strictObject({
  id: Id,
  userId: Id,
  username: z.string(),
  name: z.string(),
  publicKey: z.string(),
  status: z.enum(['active', 'revoked', 'reset']),
  createdAt: Iso,
  lastSeenAt: Iso.nullable(),
  /** The address it was enrolled from (its new-device alert) and the one its newest session came from. */
  firstSeenIp: z.string().nullable(),
  lastSeenIp: z.string().nullable(),
});
/** Newest enrolment first; `cursor`: the previous page's nextCursor. */
export const DevicesQuery = z.strictObject({
  userId: Id.optional(),
  status: z.enum(['active', 'revoked', 'reset']).optional(),
  cursor: PageCursor.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});
export const DevicesResponse = z.strictObject({ devices: z.array(DeviceView), nextCursor: PageCursor.nullable() });
export const DeviceRenameRequest = z.strictObject({ name: PersonName });

export { AlertView, AlertsResponse } from './admin-alerts';

export const SessionView = z.strictObject({
  id: Id,
  deviceId: Id.nullable(),
  createdAt: Iso,
  lastSeenAt: Iso,
  absoluteExpiresAt: Iso,
  revokedAt: Iso.nullable(),
  revokeReason: z.string().nullable(),
  sourceIp: z.string().nullable(),
});
export const SessionsResponse = z.strictObject({ sessions: z.array(SessionView) });
export const RevokedResponse = z.strictObject({ revoked: z.number().int() });

export const PolicyResponse = z.strictObject({ policy: OrgPolicySchema });

export const AuditEntryView = z.strictObject({
  seq: z.number().int(),
  at: Iso,
  orgId: Id.nullable(),
  actorUserId: Id.nullable(),
  actorUsername: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  sourceIp: z.string().nullable(),
  deviceId: Id.nullable(),
  detail: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;
export const AuditQuery = z.strictObject({
  /** An action, or a prefix ending in ".*". */
  action: userText({ max: 64 }).optional(),
  actorUserId: Id.optional(),
  targetId: userText({ max: 128 }).optional(),
  /** The request's source address (an IPv4 or IPv6 address, no prefix length). */
  sourceIp: z.string().max(64).refine((a) => !a.includes('/') && isCidr(a), 'an IPv4 or IPv6 address').optional(),
  from: Instant.optional(),
  to: Instant.optional(),
  /** Newest first; pass the last seq seen to page back. */
  before: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const AuditResponse = z.strictObject({ entries: z.array(AuditEntryView) });
export const AuditExportQuery = z.strictObject({
  cursor: Cursor.default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});
export const AuditExportResponse = z.strictObject({
  entries: z.array(AuditEntryView),
  /** Pass as `cursor` next time; equal to the request's cursor when nothing is new. */
  nextCursor: z.number().int(),
});

export const HealthResponse = z.strictObject({ status: z.literal('ok'), version: z.string() });
export const MeResponse = z.strictObject({ user: UserView, sessionId: Id, deviceId: Id.nullable() });


export const ROUTES = {
  health: { method: 'GET', path: '/health', summary: 'Liveness and version', auth: null, response: HealthResponse },
  challenge: {
    method: 'POST', path: '/auth/challenge', summary: 'Single-use device challenge (60 s)', auth: null,
    body: ChallengeRequest, response: ChallengeResponse,
  },
  signIn: {
    method: 'POST', path: '/auth/sign-in', summary: 'Password (+TOTP) (+device proof) -> session', auth: null,
    body: SignInRequest, response: SignInResponse,
  },
  refresh: {
    method: 'POST', path: '/auth/refresh', summary: 'Rotate the refresh token (device-signed)', auth: null,
    body: RefreshRequest, response: RefreshResponse,
  },
  signOut: { method: 'POST', path: '/auth/sign-out', summary: 'Revoke this session', auth: 'authenticated', response: OkResponse },
  me: { method: 'GET', path: '/me', summary: 'The signed-in principal', auth: 'authenticated', response: MeResponse },
  clientPolicy: {
    method: 'GET', path: '/me/client-policy', summary: 'What the org asks of the client (idle lock, capture protection)', auth: 'authenticated',
    response: ClientPolicySchema,
  },
  agentPolicy: {
    method: 'GET', path: '/me/agent-policy', summary: "The org's agent states policy (not-ready reasons, wrap-up time and extensions)", auth: 'authenticated',
    response: AgentPolicySchema,
  },
  notePolicy: {
    method: 'GET', path: '/me/note-policy', summary: "The org's note editing policy (how long the author may correct a note; closed notes)", auth: 'authenticated',
    response: NotesPolicySchema,
  },
  reverify: {
    method: 'POST', path: '/me/reverify', summary: 'Re-verify the password (+TOTP) to unlock the screen; audited', auth: 'authenticated',
    body: ReverifyRequest, response: OkResponse,
  },
  lockEvent: {
    method: 'POST', path: '/me/lock', summary: 'Record that the client locked its screen; audited', auth: 'authenticated',
    body: LockEventRequest, response: OkResponse,
  },
  changePassword: {
    method: 'POST', path: '/me/password', summary: 'Change own password', auth: 'authenticated',
    body: PasswordChangeRequest, response: OkResponse,
  },
  passwordPolicy: {
    method: 'GET', path: '/me/password-policy', summary: 'The org password rules that apply to the caller', auth: 'authenticated',
    response: MyPasswordPolicyResponse,
  },
  myDevices: { method: 'GET', path: '/me/devices', summary: 'The caller\'s own enrolled PCs (first/last seen, address)', auth: 'authenticated', response: MyDevicesResponse },
  totpEnrol: { method: 'POST', path: '/me/totp/enrol', summary: 'Start TOTP enrolment', auth: 'authenticated', response: TotpEnrolResponse },
  totpConfirm: {
    method: 'POST', path: '/me/totp/confirm', summary: 'Confirm TOTP; returns recovery codes', auth: 'authenticated',
    body: TotpConfirmRequest, response: RecoveryCodesResponse,
  },
  totpDisable: {
    method: 'POST', path: '/me/totp/disable', summary: 'Disable TOTP (not allowed when policy requires it)', auth: 'authenticated',
    body: TotpDisableRequest, response: OkResponse,
  },
  recoveryCodes: {
    method: 'POST', path: '/me/totp/recovery-codes', summary: 'Replace recovery codes', auth: 'authenticated',
    body: TotpConfirmRequest, response: RecoveryCodesResponse,
  },
  listUsers: { method: 'GET', path: '/admin/users', summary: 'Users of the org, searched and paged by username', auth: 'users:read', query: UsersQuery, response: UsersResponse },
  createUser: { method: 'POST', path: '/admin/users', summary: 'Create a user', auth: 'users:manage', body: UserCreateRequest, response: UserView },
  patchUser: {
    method: 'PATCH', path: '/admin/users/:id', summary: 'Change role, name, disabled', auth: 'users:manage',
    params: IdParams, body: UserPatchRequest, response: UserView,
  },
  resetPassword: {
    method: 'POST', path: '/admin/users/:id/password', summary: 'Set a new password', auth: 'users:manage',
    params: IdParams, body: PasswordResetRequest, response: OkResponse,
  },
  unlockUser: { method: 'POST', path: '/admin/users/:id/unlock', summary: 'Clear a lockout', auth: 'users:manage', params: IdParams, response: OkResponse },
  resetTotp: { method: 'POST', path: '/admin/users/:id/totp/reset', summary: 'Remove TOTP and recovery codes', auth: 'users:manage', params: IdParams, response: OkResponse },
  userSessions: { method: 'GET', path: '/admin/users/:id/sessions', summary: 'Sessions of a user', auth: 'sessions:manage', params: IdParams, response: SessionsResponse },
  revokeSessions: {
    method: 'POST', path: '/admin/users/:id/sessions/revoke', summary: 'Revoke every session of a user', auth: 'sessions:manage',
    params: IdParams, response: RevokedResponse,
  },
  resetDevices: {
    method: 'POST', path: '/admin/users/:id/devices/reset', summary: 'Unbind: the next sign-in enrols a new device', auth: 'devices:manage',
    params: IdParams, response: RevokedResponse,
  },
  listDevices: { method: 'GET', path: '/admin/devices', summary: 'Enrolled devices', auth: 'devices:manage', query: DevicesQuery, response: DevicesResponse },
  renameDevice: {
    method: 'PATCH', path: '/admin/devices/:id', summary: 'Rename a device', auth: 'devices:manage',
    params: IdParams, body: DeviceRenameRequest, response: DeviceView,
  },
  revokeDevice: {
    method: 'POST', path: '/admin/devices/:id/revoke', summary: 'Revoke a device (its key is refused from now on)', auth: 'devices:manage',
    params: IdParams, response: DeviceView,
  },
  listRoles: { method: 'GET', path: '/admin/roles', summary: 'Roles and permissions', auth: 'users:read', response: RolesResponse },
  createRole: { method: 'POST', path: '/admin/roles', summary: 'Create a custom role', auth: 'roles:manage', body: RoleCreateRequest, response: RoleView },
  patchRole: {
    method: 'PATCH', path: '/admin/roles/:id', summary: 'Rename or change permissions', auth: 'roles:manage',
    params: IdParams, body: RolePatchRequest, response: RoleView,
  },
  listTeams: { method: 'GET', path: '/admin/teams', summary: 'Teams', auth: 'users:read', response: TeamsResponse },
  createTeam: { method: 'POST', path: '/admin/teams', summary: 'Create a team', auth: 'teams:manage', body: TeamCreateRequest, response: TeamView },
  setTeamMembers: {
    method: 'PUT', path: '/admin/teams/:id/members', summary: 'Replace the leads and operators of a team', auth: 'teams:manage',
    params: IdParams, body: TeamMembersRequest, response: TeamView,
  },
  getPolicy: { method: 'GET', path: '/admin/policy', summary: 'Org policy', auth: 'policy:manage', response: PolicyResponse },
  patchPolicy: { method: 'PATCH', path: '/admin/policy', summary: 'Change org policy', auth: 'policy:manage', body: OrgPolicyPatchSchema, response: PolicyResponse },
  audit: { method: 'GET', path: '/admin/audit', summary: 'Filter the audit log (newest first)', auth: 'audit:read', query: AuditQuery, response: AuditResponse },
  auditExport: {
    method: 'GET', path: '/admin/audit/export', summary: 'Incremental export (oldest first, cursor = last seq)', auth: 'audit:read',
    query: AuditExportQuery, response: AuditExportResponse,
  },
  ...CRM_ROUTES,
  ...USERS_ROUTES,
  ...POLICY_ROUTES,
  ...SIP_ROUTES,
  ...QUEUE_ROUTES,
  ...DIRECTORY_ROUTES,
  ...SUPERVISION_ROUTES,
  ...RECORDING_ROUTES,
  ...ORG_ROUTES,
  ...ALERTS_ROUTES,
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
export type RouteBody<N extends RouteName> = (typeof ROUTES)[N] extends { body: infer B } ? Out<B> : undefined;
export type RouteQuery<N extends RouteName> = (typeof ROUTES)[N] extends { query: infer Q } ? Out<Q> : undefined;
export type RouteParams<N extends RouteName> = (typeof ROUTES)[N] extends { params: infer P } ? Out<P> : undefined;
export type RouteResponse<N extends RouteName> = z.input<(typeof ROUTES)[N]['response']>;

/** WebSocket /ws: the first message authenticates; later issues add agent-state messages. */
export const WsClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), accessToken: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal('ping'), id: userText({ min: 0, max: 64 }).optional() }),
  /** Set the caller's agent state (docs/telephony.md); answered with an agentState message. */
  z.strictObject({ type: z.literal('agentState'), state: SettableAgentState, reason: AgentReason.optional() }),
  ...OperatorClientMessages,
  ...SupervisionClientMessages,
]);
export const WsServerMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), userId: Id, sessionId: Id }),
  z.strictObject({ type: z.literal('pong'), id: z.string().optional() }),
  z.strictObject({ type: z.literal('error'), code: z.string(), message: z.string() }),
  /** The caller's agent state: the ack of a change, or a change the gateway made (wrap-up over, call routed). */
  z.strictObject({ type: z.literal('agentState'), state: LegacyAgentState, reason: z.string().nullable().optional(), since: z.string() }),
  ...OperatorServerMessages,
  ...SupervisionServerMessages,
  BoardStatsMessage,
  AlertPushMessage,
]);
/** What a client sends over /ws (before the gateway's parsing: user text as typed). */
export type WsClientMessage = z.input<typeof WsClientMessage>;
/** What the gateway sends over /ws. */
export type WsServerMessage = z.output<typeof WsServerMessage>;
