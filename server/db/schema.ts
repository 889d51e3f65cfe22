// Row types of every table, for Kysely. Timestamps are timestamptz (Date in JS); all
// time comparisons use the gateway's injected clock, never SQL now().
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { EndedCallsTable, BusEventsTable, CallsTable, OperatorStatesTable, OperatorTransitionsTable, NotesTable, NoteEditsTable, SupervisionSessionsTable, SipRegistrationsTable, SipAccessCutsTable, ThrottleBucketsTable, GatewayInstancesTable, OperatorConnectionsTable, ThrottleCountersTable } from './schema-telephony';
import type { CallQueueTable, OrgAnnouncementsTable } from './schema-queue';
import type { RecordingsTable, RecordingPlaybacksTable } from './schema-recordings';
export type { RecordingsTable, RecordingPlaybacksTable } from './schema-recordings';
export type { EndedCallsTable, BusEventsTable, CallsTable, OperatorStatesTable, OperatorTransitionsTable, NotesTable, NoteEditsTable, SupervisionSessionsTable, SipRegistrationsTable, SipAccessCutsTable, ThrottleBucketsTable, GatewayInstancesTable, OperatorConnectionsTable, ThrottleCountersTable } from './schema-telephony';

type Json = ColumnType<unknown, string, string>;

export interface OrgsTable {
  id: string;
  name: string;
  policy: Json;
  created_at: Date;
}
export interface RolesTable {
  id: string;
  org_id: string;
  key: string;
  name: string;
  permissions: Json;
  builtin: boolean;
}
export interface UsersTable {
  id: string;
  org_id: string;
  username: string;
  display_name: string;
  role_id: string;
  password_hash: string;
  password_changed_at: Date;
  disabled: boolean;
  totp_secret: string | null;
  totp_enabled: boolean;
  /** An admin set the password (temporary): sessions are limited to changing it (0018). */
  must_change_password: Generated<boolean>;
  totp_last_counter: ColumnType<number | null, number | null, number | null>;
  created_at: Date;
  /** Deleted (0020): a tombstone, personal fields erased, kept so history keeps its id. */
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
export interface PasswordHistoryTable {
  id: string;
  user_id: string;
  password_hash: string;
  created_at: Date;
}
export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: Date | null;
}
export interface TeamsTable {
  id: string;
  org_id: string;
  name: string;
}
export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  member_role: 'lead' | 'operator';
}
export interface LoginFailuresTable {
  id: Generated<number>;
  username: string;
  source_ip: string | null;
  at: Date;
}
export interface AccountLocksTable {
  username: string;
  locked_at: Date;
  locked_until: Date;
}
export interface DevicesTable {
  id: string;
  user_id: string;
  org_id: string;
  name: string;
  public_key: string;
  status: 'active' | 'revoked' | 'reset';
  created_at: Date;
  last_seen_at: Date | null;
  revoked_at: Date | null;
  /** When the owner was shown "new PC enrolled" for it (migration 0017); null: not yet. */
  owner_notified_at: Date | null;
}
/** Security alerts of every kind (migration 0019; the name is from when only new devices raised them). */
export interface DeviceAlertsTable {
  id: string;
  org_id: string;
  user_id: string | null;
  device_id: string | null;
  source_ip: string | null;
  created_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  kind: ColumnType<string, string | undefined, string>;
  detail: ColumnType<unknown, string | undefined, string>;
  fold_key: string | null;
  occurrences: ColumnType<number, number | undefined, number>;
  last_at: Date | null;
}
export interface WebhooksTable {
  id: string;
  org_id: string;
  url: string;
  secret_enc: string;
  enabled: boolean;
  created_at: Date;
  created_by: string | null;
  rotated_at: Date | null;
}
export interface WebhookDeliveriesTable {
  id: string;
  org_id: string;
  webhook_id: string;
  alert_id: string | null;
  event: string;
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  last_status: number | null;
  created_at: Date;
  delivered_at: Date | null;
}
export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  at: Date;
  status: number | null;
  error: string | null;
  duration_ms: number;
  worker: string;
}
export interface ChallengesTable {
  challenge: string;
  username: string;
  purpose: string;
  expires_at: Date;
  used_at: Date | null;
}
export interface SessionsTable {
  id: string;
  user_id: string;
  org_id: string;
  device_id: string | null;
  created_at: Date;
  last_seen_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
  source_ip: string | null;
  totp_enrolment_only: boolean;
}
export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: Date;
  used_at: Date | null;
}
export interface AuditLogTable {
  seq: ColumnType<number, number, never>;
  at: Date;
  org_id: string | null;
  actor_user_id: string | null;
  actor_username: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  source_ip: string | null;
  device_id: string | null;
  detail: Json;
  prev_hash: string;
  hash: string;
}
/** How far the audit chain is verified (migration 0022, server/audit/chain-status.ts): one row. */
export interface AuditCheckpointTable {
  id: number;
  seq: ColumnType<number, number, number>;
  hash: string;
  verified_at: Date | null;
  sweep_seq: ColumnType<number, number, number>;
  sweep_hash: string;
  sweep_completed_at: Date | null;
  broken_seq: ColumnType<number | null, number | null, number | null>;
  broken_kind: string | null;
  broken_at: Date | null;
}
/** Entries of an open transaction, chained into audit_log at its commit (migration 0016). */
export interface AuditPendingTable {
  id: Generated<number>;
  pre: string;
  post: string;
  at: Date;
  org_id: string | null;
  actor_user_id: string | null;
  actor_username: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  source_ip: string | null;
  device_id: string | null;
  detail: Json;
}
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}
export interface GatewayKeysTable {
  name: string;
  value: string;
  created_at: Date;
}

// CRM (migration 0002)
export interface CampaignsTable {
  id: string;
  org_id: string;
  name: string;
  time_zone: string;
  weekly_hours: Json;
  closed_dates: Json;
  dispositions: Json;
  blocked_numbers: Json;
  /** 0010: "YYYY-MM-DD" -> that day's opening intervals (special hours). */
  special_hours: ColumnType<unknown, string | undefined, string>;
  /** 0010: routing closes the campaign outside its hours. */
  enforce_hours: Generated<boolean>;
  /** 0010: 'reject' (603) or 'message' (an announcement). */
  block_policy: Generated<'reject' | 'message'>;
  /** 0010: the ring timeout of an offer; null: the org's agents.ringSeconds. */
  ring_seconds: Generated<number | null>;
  created_at: Date;
  updated_at: Date;
  /** Queue limits and overflow (0011; server/sip/queue.ts). */
  queue_max_wait_seconds: Generated<number>;
  queue_max_size: Generated<number>;
  queue_overflow_campaign_id: Generated<string | null>;
  /** Recordings (0014): never / all calls / on demand, and how many days they are kept (null: no purge). */
  recording_mode: Generated<'never' | 'all' | 'on_demand'>;
  recording_retention_days: Generated<number | null>;
  /** Retention (0015) of calls, notes and customers, days; null: kept (server/recordings/data-retention.ts). */
  call_retention_days: Generated<number | null>;
  note_retention_days: Generated<number | null>;
  customer_retention_days: Generated<number | null>;
  /** Service-level target: answered within this many seconds (0012, the board's queue statistics). */
  service_level_seconds: Generated<number>;
  /** 0021: disabled (not routed) since; null: enabled. */
  disabled_at: Generated<Date | null>;
  /** 0024: the caller ID its outbound calls present (E.164); null: none. */
  outbound_caller_id: Generated<string | null>;
}
/** 0025: the org's quick connects (transfer directory entries). */
export interface QuickConnectsTable {
  id: string;
  org_id: string;
  name: string;
  number: string;
  created_at: Date;
}
export interface CampaignDidsTable {
  org_id: string;
  e164: string;
  campaign_id: string;
}
export interface CampaignAssignmentsTable {
  user_id: string;
  campaign_id: string;
  org_id: string;
}
export interface CustomersTable {
  id: string;
  org_id: string;
  campaign_id: string;
  name_kanji: string;
  name_kana: string;
  name_kanji_key: string;
  name_kana_key: string;
  email: string | null;
  fields: Json;
  created_at: Date;
  updated_at: Date;
  /** Legal hold (0014): no retention purge touches this customer's recordings. */
  legal_hold: Generated<boolean>;
}
export interface CustomerPhonesTable {
  customer_id: string;
  e164: string;
  campaign_id: string;
  org_id: string;
}
export interface Database {
  orgs: OrgsTable;
  roles: RolesTable;
  users: UsersTable;
  password_history: PasswordHistoryTable;
  recovery_codes: RecoveryCodesTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  login_failures: LoginFailuresTable;
  account_locks: AccountLocksTable;
  devices: DevicesTable;
  device_alerts: DeviceAlertsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  challenges: ChallengesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  audit_pending: AuditPendingTable;
  audit_checkpoint: AuditCheckpointTable;
  gateway_keys: GatewayKeysTable;
  campaigns: CampaignsTable;
  campaign_dids: CampaignDidsTable;
  quick_connects: QuickConnectsTable;
  campaign_assignments: CampaignAssignmentsTable;
  customers: CustomersTable;
  customer_phones: CustomerPhonesTable;
  calls: CallsTable;
  bus_events: BusEventsTable;
  ended_calls: EndedCallsTable;
  notes: NotesTable;
  note_edits: NoteEditsTable;
  operator_states: OperatorStatesTable;
  operator_transitions: OperatorTransitionsTable;
  supervision_sessions: SupervisionSessionsTable;
  sip_registrations: SipRegistrationsTable;
  sip_access_cuts: SipAccessCutsTable;
  throttle_buckets: ThrottleBucketsTable;
  throttle_counters: ThrottleCountersTable;
  gateway_instances: GatewayInstancesTable;
  operator_connections: OperatorConnectionsTable;
  call_queue: CallQueueTable;
  org_announcements: OrgAnnouncementsTable;
  recordings: RecordingsTable;
  recording_playbacks: RecordingPlaybacksTable;
}

export type Db = Kysely<Database>;
/** Either the database or an open transaction: functions that write take this. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type NewUser = Insertable<UsersTable>;
