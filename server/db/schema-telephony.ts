// The tables of calls, the operator model, the bus between instances and the live state every
// gateway instance shares (server/db/schema.ts assembles the Database from these and its own).
import type { ColumnType, Generated } from 'kysely';
import type { RegistrationState } from '../../shared/gateway/supervision';

type Json = ColumnType<unknown, string, string>;

export interface EndedCallsTable {
  sip_call_id: string;
  ended_at: Date;
}
export interface BusEventsTable {
  seq: Generated<number>;
  origin: string;
  kind: string;
  payload: unknown;
  at: Generated<Date>;
}
export interface CallsTable {
  id: string;
  org_id: string;
  sip_call_id: string;
  /** null: a call that left a queue without reaching an operator (abandoned, queue full; 0011). */
  operator_id: string | null;
  campaign_id: string | null;
  customer_id: string | null;
  caller_e164: string | null;
  dialled_e164: string | null;
  blocked: boolean;
  status: 'ringing' | 'answered' | 'ended' | 'wrapped_up' | 'abandoned';
  ringing_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  disposition: string | null;
  wrap_up_seconds: number | null;
  created_at: Date;
  updated_at: Date;
  /** The model's end cause (operator-model.ts END_CAUSES); null while live or before 0005. */
  end_cause: Generated<string | null>;
  direction: Generated<'inbound' | 'outbound'>;
  /** The rtpengine (ng host:port) anchoring the call, when known (0008, server/sip/media-nodes.ts). */
  media_node: Generated<string | null>;
  /** When the call entered a queue (0011), null for a call routed at once. */
  queued_at: Generated<Date | null>;
  /** Legal hold (0014): no retention purge touches this call's recordings. */
  legal_hold: Generated<boolean>;
  /** The latest quality the operator's phone measured (0026, shared/rules/call-quality.ts); null: none yet. */
  quality_mos: Generated<number | null>;
  quality_jitter_ms: Generated<number | null>;
  quality_loss_pct: Generated<number | null>;
  quality_rtt_ms: Generated<number | null>;
  quality_at: Generated<Date | null>;
}
/** One operator's model state (0005): written only by AgentRegistry.apply. */
export interface OperatorStatesTable {
  user_id: string;
  org_id: string;
  state: Json;
  version: number;
  next_deadline: Date | null;
  /** The state's `since` (ms) while the model says offerable, else null (migration 0013; routing's claim orders by it). */
  offerable_since: number | string | null;
  updated_at: Date;
}
export interface OperatorTransitionsTable {
  id: Generated<string>;
  org_id: string;
  user_id: string;
  sip_call_id: string | null;
  subject: 'agent' | 'call';
  from_state: string;
  to_state: string;
  event: string;
  cause: string | null;
  at: Date;
}
export interface NotesTable {
  id: string;
  org_id: string;
  campaign_id: string;
  customer_id: string | null;
  call_id: string | null;
  author_id: string;
  client_note_id: string;
  body: string;
  open: boolean;
  /** 0028: 1 as written, one more with each edit of the text (the edit's precondition). */
  version: Generated<number>;
  /** 0028: the last edit of the text; null: as written. */
  edited_at: Generated<Date | null>;
  created_at: Date;
  updated_at: Date;
}
/** 0028: the text a note had before each edit (its author's corrections; docs/gateway.md "Editing a note"). */
export interface NoteEditsTable {
  id: string;
  org_id: string;
  note_id: string;
  /** The note's version this text was; the edit made it version + 1. */
  version: number;
  /** The replaced text (redacted like every note body). */
  body: string;
  editor_id: string;
  edited_at: Date;
}

/** A supervision session and its rtpengine legs (0009): server/supervision/store.ts. */
export interface SupervisionSessionsTable {
  id: string;
  org_id: string;
  lead_id: string;
  lead_username: string;
  operator_id: string;
  operator_username: string;
  call_id: string;
  mode: 'monitor' | 'whisper' | 'barge';
  /** The rtpengine (ng host:port) that holds the legs. */
  rtpengine: string;
  listen_to_tag: string;
  publish_tag: string | null;
  operator_leg_id: string | null;
  operator_to_tag: string | null;
  operator_offer: string | null;
  operator_connected: Generated<boolean>;
  started_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
}
export interface SipRegistrationsTable {
  user_id: string;
  state: RegistrationState;
  instance: string;
  updated_at: Date;
}
export interface SipAccessCutsTable {
  user_id: string;
  cut_at: Date;
  reason: string;
}
export interface ThrottleBucketsTable {
  key: string;
  tokens: number;
  at: Date;
  granted: boolean;
}
export interface GatewayInstancesTable {
  id: string;
  started_at: Date;
  seen_at: Date;
}
/** The operator connections an instance holds (the model's `connections`, per owner). */
export interface OperatorConnectionsTable {
  instance: string;
  user_id: string;
  n: number;
}
export interface ThrottleCountersTable {
  key: string;
  window_start: Date;
  count: number;
}
