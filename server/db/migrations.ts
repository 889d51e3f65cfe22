// Migrations live in code (an ordered record), so the same list runs on PGlite and
// PostgreSQL and ships inside the gateway. Never edit a released migration: add one.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { offerable, type OperatorState } from '../../shared/rules/operator-model';

// One statement per string: PGlite's extended protocol runs a single statement per query.
const M0001_STATEMENTS: string[] = [
  `create table orgs (
    id uuid primary key, name text not null, policy jsonb not null, created_at timestamptz not null)`,
  `create table roles (
    id uuid primary key, org_id uuid not null references orgs(id), key text not null, name text not null,
    permissions jsonb not null, builtin boolean not null default false, unique (org_id, key))`,
  `create table users (
    id uuid primary key, org_id uuid not null references orgs(id), username text not null unique,
    display_name text not null, role_id uuid not null references roles(id), password_hash text not null,
    password_changed_at timestamptz not null, disabled boolean not null default false,
    totp_secret text, totp_enabled boolean not null default false, totp_last_counter bigint,
    created_at timestamptz not null)`,
  `create table password_history (
    id uuid primary key, user_id uuid not null references users(id), password_hash text not null,
    created_at timestamptz not null)`,
  `create index password_history_user on password_history (user_id, created_at desc)`,
  `create table recovery_codes (
    id uuid primary key, user_id uuid not null references users(id), code_hash text not null,
    used_at timestamptz)`,
  `create index recovery_codes_user on recovery_codes (user_id)`,
  `create table teams (id uuid primary key, org_id uuid not null references orgs(id), name text not null,
    unique (org_id, name))`,
  `create table team_members (
    team_id uuid not null references teams(id), user_id uuid not null references users(id),
    member_role text not null check (member_role in ('lead', 'operator')), primary key (team_id, user_id))`,
  `create table login_failures (
    id bigserial primary key, username text not null, source_ip text, at timestamptz not null)`,
  `create index login_failures_user_at on login_failures (username, at)`,
  `create table account_locks (
    username text primary key, locked_at timestamptz not null, locked_until timestamptz not null)`,
  `create table devices (
    id uuid primary key, user_id uuid not null references users(id), org_id uuid not null references orgs(id),
    name text not null, public_key text not null,
    status text not null check (status in ('active', 'revoked', 'reset')),
    created_at timestamptz not null, last_seen_at timestamptz, revoked_at timestamptz)`,
  `create unique index devices_one_active on devices (user_id) where status = 'active'`,
  `create table device_alerts (
    id uuid primary key, org_id uuid not null references orgs(id), user_id uuid not null references users(id),
    device_id uuid not null references devices(id), source_ip text, created_at timestamptz not null,
    acknowledged_at timestamptz, acknowledged_by uuid)`,
  `create table challenges (
    challenge text primary key, username text not null, purpose text not null,
    expires_at timestamptz not null, used_at timestamptz)`,
  `create index challenges_expiry on challenges (expires_at)`,
  `create table sessions (
    id uuid primary key, user_id uuid not null references users(id), org_id uuid not null references orgs(id),
    device_id uuid references devices(id), created_at timestamptz not null, last_seen_at timestamptz not null,
    absolute_expires_at timestamptz not null, revoked_at timestamptz, revoke_reason text, source_ip text,
    totp_enrolment_only boolean not null default false)`,
  `create index sessions_user on sessions (user_id)`,
  `create table refresh_tokens (
    token_hash text primary key, session_id uuid not null references sessions(id),
    created_at timestamptz not null, used_at timestamptz)`,
  `create index refresh_tokens_session on refresh_tokens (session_id)`,
  `create table audit_log (
    seq bigint primary key, at timestamptz not null, org_id uuid, actor_user_id uuid, actor_username text,
    action text not null, target_type text, target_id text, source_ip text, device_id uuid,
    detail jsonb not null, prev_hash text not null, hash text not null)`,
  `create index audit_log_org_action on audit_log (org_id, action, seq)`,
  `create table audit_head (id integer primary key check (id = 1), seq bigint not null, hash text not null)`,
  `insert into audit_head (id, seq, hash) values (1, 0, '${'0'.repeat(64)}')`,
  `create table gateway_keys (name text primary key, value text not null, created_at timestamptz not null)`,
  // Append-only: the application can insert audit rows but not change them. A database
  // superuser can still disable these triggers; the hash chain is what catches that.
  `create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only';
    end $$`,
  `create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only()`,
  `create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only()`,
];

// 0002: the CRM side: campaigns (DIDs, hours, dispositions, block list), assignments,
// customers with their phone numbers in E.164, calls and notes. Every row carries org_id;
// campaign scope is applied in SQL on campaign_id (server/crm/scope.ts).
const CRM_PERMISSIONS: Record<string, string[]> = {
  admin: ['campaigns:manage', 'campaigns:all', 'customers:write', 'notes:write', 'export:read'],
  team_lead: ['customers:write', 'notes:write'],
  operator: ['customers:write', 'notes:write'],
};
const M0002_STATEMENTS: string[] = [
  `create table campaigns (
    id uuid primary key, org_id uuid not null references orgs(id), name text not null,
    time_zone text not null, weekly_hours jsonb not null, closed_dates jsonb not null,
    dispositions jsonb not null, blocked_numbers jsonb not null,
    created_at timestamptz not null, updated_at timestamptz not null, unique (org_id, name))`,
  `create table campaign_dids (
    org_id uuid not null references orgs(id), e164 text not null, campaign_id uuid not null references campaigns(id),
    primary key (org_id, e164))`,
  `create index campaign_dids_campaign on campaign_dids (campaign_id)`,
  `create table campaign_assignments (
    user_id uuid not null references users(id), campaign_id uuid not null references campaigns(id),
    org_id uuid not null references orgs(id), primary key (user_id, campaign_id))`,
  `create index campaign_assignments_campaign on campaign_assignments (campaign_id)`,
  `create table customers (
    id uuid primary key, org_id uuid not null references orgs(id), campaign_id uuid not null references campaigns(id),
    name_kanji text not null, name_kana text not null, name_kanji_key text not null, name_kana_key text not null,
    email text, fields jsonb not null, created_at timestamptz not null, updated_at timestamptz not null)`,
  // name search is a prefix search on normalised keys within the caller's campaigns
  `create index customers_campaign_kana on customers (campaign_id, name_kana_key text_pattern_ops)`,
  `create index customers_campaign_kanji on customers (campaign_id, name_kanji_key text_pattern_ops)`,
  `create index customers_export on customers (org_id, updated_at, id)`,
  `create table customer_phones (
    customer_id uuid not null references customers(id) on delete cascade, e164 text not null,
    campaign_id uuid not null references campaigns(id), org_id uuid not null references orgs(id),
    primary key (customer_id, e164))`,
  // the screen-pop lookup: caller number, then the campaign
  `create index customer_phones_lookup on customer_phones (e164, campaign_id)`,
  `create table calls (
    id uuid primary key, org_id uuid not null references orgs(id), sip_call_id text not null,
    operator_id uuid not null references users(id), campaign_id uuid references campaigns(id),
    customer_id uuid references customers(id), caller_e164 text, dialled_e164 text, blocked boolean not null default false,
    status text not null check (status in ('ringing', 'answered', 'ended')),
    ringing_at timestamptz not null, answered_at timestamptz, ended_at timestamptz,
    disposition text, wrap_up_seconds integer, created_at timestamptz not null, updated_at timestamptz not null,
    unique (org_id, sip_call_id, operator_id))`,
  `create index calls_customer on calls (customer_id, ringing_at desc)`,
  `create index calls_export on calls (org_id, updated_at, id)`,
  `create table notes (
    id uuid primary key, org_id uuid not null references orgs(id), campaign_id uuid not null references campaigns(id),
    customer_id uuid references customers(id), call_id uuid references calls(id), author_id uuid not null references users(id),
    client_note_id uuid not null, body text not null, open boolean not null default true,
    created_at timestamptz not null, updated_at timestamptz not null, unique (author_id, client_note_id))`,
  `create index notes_customer on notes (customer_id, created_at desc)`,
  `create index notes_call on notes (call_id)`,
  `create index notes_export on notes (org_id, updated_at, id)`,
  // built-in roles of existing orgs get the new permissions (new orgs get them from BUILTIN_ROLES)
  ...Object.entries(CRM_PERMISSIONS).map(
    ([key, perms]) => `update roles set permissions = permissions || coalesce((
      select jsonb_agg(p) from jsonb_array_elements_text('${JSON.stringify(perms)}'::jsonb) p where not (permissions ? p)), '[]'::jsonb)
      where builtin and key = '${key}'`,
  ),
];

// 0003: name search for whole-org scopes (admins): an ordered prefix scan over the org
// instead of one scan per campaign plus a sort (measured by `npm run bench`).
const M0003_STATEMENTS: string[] = [
  `create index customers_org_kana on customers (org_id, name_kana_key text_pattern_ops)`,
  `create index customers_org_kanji on customers (org_id, name_kanji_key text_pattern_ops)`,
];

// 0004: tenant isolation. A DID belongs to one campaign of one org: before, the primary key
// (org_id, e164) let a second org map a number another org uses, and inbound routing then
// refused both (server/sip/routing.ts). An install that already has such a number stops here
// with the numbers named (an operator decides which org keeps each; nothing is deleted
// silently). And /admin/audit reads one org's entries in seq order: (org_id, seq).
const M0004_STATEMENTS: string[] = [
  `do $$
    declare dup text;
    begin
      select string_agg(e164, ', ' order by e164) into dup
        from (select e164 from campaign_dids group by e164 having count(*) > 1) d;
      if dup is not null then
        raise exception 'these DIDs are mapped by more than one org: %. Remove each from all but one campaign, then migrate again.', dup;
      end if;
    end $$`,
  `create unique index campaign_dids_e164 on campaign_dids (e164)`,
  `create index audit_log_org_seq on audit_log (org_id, seq)`,
];

// 0005: the operator model (shared/rules/operator-model.ts) owned by the gateway: each
// operator's current state (with its version, the optimistic check between gateway processes,
// and its next deadline, which the sweeper polls) and every transition ever made (reporting,
// and the record of what happened). Calls follow the model: wrapped_up, an end cause, a direction.
const M0005_STATEMENTS: string[] = [
  `create table operator_states (
    user_id uuid primary key references users(id), org_id uuid not null references orgs(id),
    state jsonb not null, version integer not null, next_deadline timestamptz, updated_at timestamptz not null)`,
  `create index operator_states_deadline on operator_states (next_deadline) where next_deadline is not null`,
  `create table operator_transitions (
    id bigserial primary key, org_id uuid not null references orgs(id), user_id uuid not null references users(id),
    sip_call_id text, subject text not null check (subject in ('agent', 'call')), from_state text not null,
    to_state text not null, event text not null, cause text, at timestamptz not null)`,
  `create index operator_transitions_user on operator_transitions (user_id, at)`,
  `create index operator_transitions_call on operator_transitions (sip_call_id) where sip_call_id is not null`,
  `alter table calls drop constraint calls_status_check`,
  `alter table calls add constraint calls_status_check check (status in ('ringing', 'answered', 'ended', 'wrapped_up'))`,
  `alter table calls add column end_cause text`,
  `alter table calls add column direction text not null default 'inbound' check (direction in ('inbound', 'outbound'))`,
];

// The session-event bus between gateway instances (server/bus/durable-session-events.ts).
const M0006_STATEMENTS: string[] = [
  `create table bus_events (
    seq bigint generated always as identity primary key, origin uuid not null, kind text not null,
    payload jsonb not null, at timestamptz not null default clock_timestamp())`,
  `create index bus_events_at on bus_events (at)`,
];

// Calls Kamailio reported ended (BYE, CANCEL, a refused INVITE, the routing fallback): a
// routing answer that comes after the end never offers the dead call (server/sip/ended-calls.ts).
const M0007_STATEMENTS: string[] = [
  `create table ended_calls (sip_call_id text primary key, ended_at timestamptz not null)`,
  `create index ended_calls_at on ended_calls (ended_at)`,
];

// 0008: which rtpengine holds each call (several Kamailio nodes, each with its own rtpengine):
// reported by Kamailio in the routing lookup, else found by ng `query` (server/sip/media-nodes.ts).
const M0008_STATEMENTS: string[] = [`alter table calls add column media_node text`];

// Live state that must outlive a process and be shared by every gateway instance (issue 14):
// supervision sessions with their rtpengine legs (any instance lists, stops and tears them
// down), the registration health operators report, the SIP cut list (server/sip/access.ts),
// the sign-in throttles (server/auth/rate-limit.ts), and which instance holds each operator
// connection the model counts (gateway_instances heartbeats; server/sip/agent-loops.ts).
const M0009_STATEMENTS: string[] = [
  `create table supervision_sessions (
    id uuid primary key, org_id uuid not null references orgs(id),
    lead_id uuid not null references users(id), lead_username text not null,
    operator_id uuid not null references users(id), operator_username text not null,
    call_id text not null, mode text not null check (mode in ('monitor', 'whisper', 'barge')),
    rtpengine text not null, listen_to_tag text not null, publish_tag text,
    operator_leg_id uuid unique, operator_to_tag text, operator_offer text, operator_connected boolean not null default false,
    started_at timestamptz not null, ended_at timestamptz, end_reason text)`,
  `create index supervision_sessions_live on supervision_sessions (call_id) where ended_at is null`,
  `create index supervision_sessions_lead on supervision_sessions (lead_id) where ended_at is null`,
  `create table sip_registrations (
    user_id uuid primary key references users(id), state text not null, instance uuid not null, updated_at timestamptz not null)`,
  `create table sip_access_cuts (user_id uuid primary key, cut_at timestamptz not null, reason text not null)`,
  `create table throttle_buckets (key text primary key, tokens float8 not null, at timestamptz not null, granted boolean not null)`,
  `create table throttle_counters (key text not null, window_start timestamptz not null, count integer not null, primary key (key, window_start))`,
  `create table gateway_instances (id uuid primary key, started_at timestamptz not null, seen_at timestamptz not null)`,
  `create table operator_connections (
    instance uuid not null, user_id uuid not null references users(id), n integer not null check (n >= 0), primary key (instance, user_id))`,
];

// 0010: routing policy per campaign (issue 15, server/sip/routing.ts): whether routing enforces the
// campaign's hours (existing campaigns: no, their hours were informational until now), special
// hours for dates (a shortened day: that day's intervals instead of the weekday's), what a
// blocked caller gets (603, or an announcement), and the ring timeout of an offer (null: the
// org's agents.ringSeconds).
const M0010_STATEMENTS: string[] = [
  `alter table campaigns add column enforce_hours boolean not null default false`,
  `alter table campaigns add column block_policy text not null default 'reject' check (block_policy in ('reject', 'message'))`,
  `alter table campaigns add column ring_seconds integer check (ring_seconds between 5 and 120)`,
  `alter table campaigns add column special_hours jsonb not null default '{}'::jsonb`,
];
// Routing at scale (issue 14, server/sip/agent-rows.ts): routing claims the longest-offerable
// operator in SQL. `offerable_since` is the state's `since` while the operator model says
// offerable (shared/rules/operator-model.ts `offerable`), else null; AgentRegistry writes it with
// every state. The partial index holds only the offerable rows. The backfill computes it with
// the model's own rule (no second copy of the rule in SQL).
const M0013: Migration = {
  async up(db: Kysely<any>) {
    await sql.raw('alter table operator_states add column offerable_since bigint').execute(db);
    await sql.raw('create index operator_states_offerable on operator_states (offerable_since, user_id) where offerable_since is not null').execute(db);
    const rows = await sql<{ user_id: string; state: unknown }>`select user_id, state from operator_states`.execute(db);
    for (const r of rows.rows) {
      const s = (typeof r.state === 'string' ? JSON.parse(r.state) : r.state) as OperatorState;
      if (offerable(s)) await sql`update operator_states set offerable_since = ${s.since} where user_id = ${r.user_id}`.execute(db);
    }
  },
};
// 0011: queues per campaign and announcements (issue 15; server/sip/queue.ts, server/sip/announcements.ts).
// A queue entry per waiting call (persistent: any gateway instance serves it; the Kamailio node
// holding the suspended INVITE and its tm transaction id), each campaign's queue limits and
// overflow, an org's own announcement files, and calls a queue ended without an operator
// (abandoned, queue full, waited too long): a calls row with no operator.
const M0011_STATEMENTS: string[] = [
  `alter table campaigns add column queue_max_wait_seconds integer not null default 120 check (queue_max_wait_seconds between 5 and 3600)`,
  `alter table campaigns add column queue_max_size integer not null default 20 check (queue_max_size between 0 and 1000)`,
  `alter table campaigns add column queue_overflow_campaign_id uuid references campaigns(id)`,
  `create table call_queue (
    sip_call_id text primary key, org_id uuid not null references orgs(id), campaign_id uuid not null references campaigns(id),
    first_campaign_id uuid not null references campaigns(id), query jsonb not null, caller_e164 text, dialled_e164 text not null,
    state text not null check (state in ('pending', 'waiting', 'dispatching', 'ending', 'connected', 'abandoned', 'overflowed', 'expired', 'failed')),
    enqueued_at timestamptz not null, deadline timestamptz not null, held_at timestamptz,
    control text, t_index bigint, t_label bigint, media_node text, from_tag text,
    next_play text, next_play_at timestamptz, dispatch_after timestamptz, claimed_by uuid, claimed_at timestamptz, end_announcement text, end_at timestamptz,
    ended_at timestamptz, end_reason text)`,
  `create index call_queue_live on call_queue (campaign_id, enqueued_at) where ended_at is null`,
  `create index call_queue_ended on call_queue (ended_at) where ended_at is not null`,
  `create table org_announcements (
    org_id uuid not null references orgs(id), name text not null, lang text not null check (lang in ('ja', 'en')),
    sha256 text not null, data bytea not null, duration_ms integer not null, uploaded_by uuid references users(id), uploaded_at timestamptz not null,
    primary key (org_id, name, lang))`,
  `alter table calls alter column operator_id drop not null`,
  `alter table calls add column queued_at timestamptz`,
  `alter table calls drop constraint calls_status_check`,
  `alter table calls add constraint calls_status_check check (status in ('ringing', 'answered', 'ended', 'wrapped_up', 'abandoned'))`,
];
// 0014: recordings (server/recordings, docs/telephony.md "Recordings"): per campaign a
// recording mode and a retention; legal holds on calls and customers; the index row of every
// encrypted recording (the data key wrapped with a KEK of the configuration, null once purged)
// and every playback capability issued. Team leads get recordings:play.
const M0014_STATEMENTS: string[] = [
  `alter table campaigns add column recording_mode text not null default 'never' check (recording_mode in ('never', 'all', 'on_demand'))`,
  `alter table campaigns add column recording_retention_days integer check (recording_retention_days between 1 and 36500)`,
  `alter table calls add column legal_hold boolean not null default false`,
  `alter table customers add column legal_hold boolean not null default false`,
  `create table recordings (
    id uuid primary key, org_id uuid not null references orgs(id), call_id uuid not null references calls(id),
    sip_call_id text not null, campaign_id uuid references campaigns(id), operator_id uuid not null references users(id),
    status text not null check (status in ('recording', 'complete', 'incomplete', 'purged')),
    file_name text not null unique, kek_id text not null, wrapped_key text, chunk_bytes integer not null,
    channels smallint not null, sample_rate integer not null, plain_bytes bigint, size_bytes bigint, sha256 text,
    duration_ms integer, gaps jsonb not null default '[]', started_at timestamptz not null, ended_at timestamptz,
    purged_at timestamptz, purge_reason text, file_deleted boolean not null default false,
    check ((status = 'purged') = (wrapped_key is null)))`,
  `create index recordings_call on recordings (call_id)`,
  `create unique index recordings_live on recordings (call_id) where status = 'recording'`,
  `create index recordings_due on recordings (ended_at) where status in ('complete', 'incomplete')`,
  `create index recordings_unshredded on recordings (purged_at) where status = 'purged' and not file_deleted`,
  `create table recording_playbacks (
    id uuid primary key, org_id uuid not null references orgs(id), recording_id uuid not null references recordings(id),
    user_id uuid not null references users(id), device_id text, session_id text not null, source_ip text not null,
    issued_at timestamptz not null, expires_at timestamptz not null, requests integer not null default 0,
    bytes_served bigint not null default 0, listened_ms integer not null default 0, last_at timestamptz)`,
  `create index recording_playbacks_recording on recording_playbacks (recording_id, issued_at)`,
  `update roles set permissions = permissions || '["recordings:play"]'::jsonb where builtin and key = 'team_lead' and not (permissions ? 'recordings:play')`,
  `update roles set permissions = permissions || coalesce((
    select jsonb_agg(p) from jsonb_array_elements_text('["recordings:play", "recordings:manage"]'::jsonb) p where not (permissions ? p)), '[]'::jsonb)
    where builtin and key = 'admin'`,
];
// 0015: retention of calls, notes and customers per campaign (null: kept), purged like
// recordings (server/recordings/data-retention.ts); a call's deletion leaves its recordings'
// tombstones (call_id null; the receipts are in the audit chain). Each live recording names the
// gateway instance capturing it, so a crashed instance's rows are finalised by another
// (server/recordings/recover.ts); whether its secure capture is pressed (any instance answers it).
const M0015_STATEMENTS: string[] = [
  `alter table campaigns add column call_retention_days integer check (call_retention_days between 1 and 36500)`,
  `alter table campaigns add column note_retention_days integer check (note_retention_days between 1 and 36500)`,
  `alter table campaigns add column customer_retention_days integer check (customer_retention_days between 1 and 36500)`,
  `alter table recordings add column instance text`,
  `alter table recordings add column secure_paused boolean not null default false`,
  `create index recordings_capturing on recordings (instance) where status = 'recording'`,
  `alter table recordings alter column call_id drop not null`,
  `alter table recordings drop constraint recordings_call_id_fkey`,
  `alter table recordings add constraint recordings_call_id_fkey foreign key (call_id) references calls(id) on delete set null`,
  `create index calls_retention on calls (campaign_id, ended_at)`,
  `create index notes_retention on notes (campaign_id, updated_at)`,
];
// 0012 (issue 15): the board's queue statistics (server/supervision/queue-stats.ts): each
// campaign's service-level target (answered within N seconds, default 20), and the index that
// reads a day's calls of an org.
const M0012_STATEMENTS: string[] = [
  `alter table campaigns add column service_level_seconds integer not null default 20 check (service_level_seconds between 1 and 3600)`,
  `create index calls_org_ringing on calls (org_id, ringing_at)`,
];

// 0016 (issue 14, the audit chain at scale): an audited write no longer holds the chain's head
// row from its append to its commit. appendAudit (server/audit/audit.ts) inserts the entry
// into audit_pending (no lock); a DEFERRED constraint trigger runs at the transaction's commit,
// locks the head once, chains every pending entry of that transaction in insertion order (the
// hash over the same bytes entryHash hashes: the canonical JSON the gateway built around the
// sequence number), inserts them into audit_log, moves the head and deletes the pending rows,
// all inside the commit: the head is held for the commit itself, never for a network round
// trip or the gateway's event loop. A failing trigger fails the COMMIT, so the audited change
// and its entries still commit or vanish together; a rolled-back transaction leaves nothing.
const M0016_STATEMENTS: string[] = [
  `create table audit_pending (
    id bigserial primary key, pre text not null, post text not null,
    at timestamptz not null, org_id uuid, actor_user_id uuid, actor_username text,
    action text not null, target_type text, target_id text, source_ip text, device_id uuid, detail jsonb not null)`,
  `create function audit_chain_pending() returns trigger language plpgsql as $$
    declare
      h_seq bigint;
      h_hash text;
      n_hash text;
      p record;
    begin
      -- the first firing of a transaction chains all its pending entries; the others find none
      perform 1 from audit_pending limit 1;
      if not found then return null; end if;
      select seq, hash into h_seq, h_hash from audit_head where id = 1 for update;
      if not found then raise exception 'audit: the chain head row is missing'; end if;
      for p in select * from audit_pending order by id loop
        h_seq := h_seq + 1;
        n_hash := encode(sha256(convert_to(h_hash || chr(10) || p.pre || h_seq::text || p.post, 'UTF8')), 'hex');
        insert into audit_log (seq, at, org_id, actor_user_id, actor_username, action, target_type, target_id, source_ip, device_id, detail, prev_hash, hash)
          values (h_seq, p.at, p.org_id, p.actor_user_id, p.actor_username, p.action, p.target_type, p.target_id, p.source_ip, p.device_id, p.detail, h_hash, n_hash);
        h_hash := n_hash;
        delete from audit_pending where id = p.id;
      end loop;
      update audit_head set seq = h_seq, hash = h_hash where id = 1;
      return null;
    end $$`,
  `create constraint trigger audit_pending_chain after insert on audit_pending
    deferrable initially deferred for each row execute function audit_chain_pending()`,
];
// 0017: the owner's new-PC notice (server/auth/new-devices.ts): when the user was told about a
// device enrolled for them. Devices from before are taken as told (no notice storm on upgrade).
const M0017_STATEMENTS: string[] = [
  `alter table devices add column owner_notified_at timestamptz`,
  `update devices set owner_notified_at = created_at`,
  `create index devices_owner_unnotified on devices (user_id) where owner_notified_at is null`,
];

// 0018 (also the user list's paging index, below): a password an admin set is temporary (server/admin/users.ts resetPassword): the user's
// sessions are limited to changing it (server/auth/principal-type.ts sessionLimit) until they do.
const M0018_STATEMENTS: string[] = [
  `alter table users add column must_change_password boolean not null default false`,
  // the admin user list pages by username within the org (server/admin/user-views.ts userPage)
  `create index users_org_username on users (org_id, username)`,
];

// Issue 17: one alert mechanism (server/alerts/raise.ts) for new devices, lockouts and IP
// refusals (device_alerts keeps its name: every kind lives there now), and signed webhooks
// with a durable delivery queue (server/alerts/webhooks.ts).
const M0019_STATEMENTS: string[] = [
  `alter table device_alerts alter column device_id drop not null`,
  `alter table device_alerts alter column user_id drop not null`,
  `alter table device_alerts add column kind text not null default 'new_device'`,
  `alter table device_alerts add column detail jsonb not null default '{}'::jsonb`,
  // repeats of one event (same org, kind, address, window) fold into one alert: count, last_at
  `alter table device_alerts add column fold_key text`,
  `alter table device_alerts add column occurrences integer not null default 1`,
  `alter table device_alerts add column last_at timestamptz`,
  `create unique index device_alerts_fold on device_alerts (org_id, fold_key) where fold_key is not null`,
  `create index device_alerts_org_created on device_alerts (org_id, created_at desc)`,
  `create table webhooks (
    id uuid primary key,
    org_id uuid not null references orgs(id),
    url text not null,
    secret_enc text not null,
    enabled boolean not null default true,
    created_at timestamptz not null,
    created_by uuid,
    rotated_at timestamptz
  )`,
  `create index webhooks_org on webhooks (org_id)`,
  `create table webhook_deliveries (
    id uuid primary key,
    org_id uuid not null references orgs(id),
    webhook_id uuid not null references webhooks(id) on delete cascade,
    alert_id uuid references device_alerts(id) on delete set null,
    event text not null,
    body text not null,
    status text not null default 'pending',
    attempts integer not null default 0,
    next_attempt_at timestamptz not null,
    last_error text,
    last_status integer,
    created_at timestamptz not null,
    delivered_at timestamptz
  )`,
  `create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`,
  `create index webhook_deliveries_hook on webhook_deliveries (webhook_id, created_at desc)`,
  `create table webhook_attempts (
    id uuid primary key,
    delivery_id uuid not null references webhook_deliveries(id) on delete cascade,
    attempt integer not null,
    at timestamptz not null,
    status integer,
    error text,
    duration_ms integer not null,
    worker text not null
  )`,
  `create index webhook_attempts_delivery on webhook_attempts (delivery_id, attempt)`,
];
// 0020: deleting a user keeps the row as a tombstone (server/admin/users.ts deleteUser: personal
// fields erased, history keeps the id); the org-wide session list and the device list page by
// (created_at desc, id desc) within the org (server/admin/sessions.ts, devices.ts).
const M0020_STATEMENTS: string[] = [
  `alter table users add column deleted_at timestamptz`,
  `create index sessions_org_live on sessions (org_id, created_at desc, id desc) where revoked_at is null`,
  `create index devices_org_created on devices (org_id, created_at desc, id desc)`,
];
// 0021 (issue 17, the admin console): a campaign disabled stops routing (server/sip/routing.ts:
// its DIDs answer like unknown numbers) and keeps its DIDs, calls, customers and settings.
const M0021_STATEMENTS: string[] = [`alter table campaigns add column disabled_at timestamptz`];
// 0022 (issue 17, the audit viewer and the chain's status): the viewer's filters each walk an
// index in seq order within the org (actor, target, source address; the action prefix on a
// C-collated copy of the action index so a LIKE prefix is a range on any database locale; a
// time range on (org_id, at)), so a page costs the same on the first and the thousandth. And
// the chain's verification checkpoint (server/audit/chain-status.ts): the frontier verified so
// far (seq + hash: the next check starts there), a rolling re-check from the start (catches an
// edit behind the frontier) and the first break found.
const M0022_STATEMENTS: string[] = [
  `create index audit_log_org_actor on audit_log (org_id, actor_user_id, seq)`,
  `create index audit_log_org_target on audit_log (org_id, target_id, seq)`,
  `create index audit_log_org_source_ip on audit_log (org_id, source_ip, seq)`,
  `create index audit_log_org_action_c on audit_log (org_id, action collate "C", seq)`,
  `create index audit_log_org_at on audit_log (org_id, at)`,
  `create table audit_checkpoint (
    id integer primary key check (id = 1),
    seq bigint not null, hash text not null, verified_at timestamptz,
    sweep_seq bigint not null, sweep_hash text not null, sweep_completed_at timestamptz,
    broken_seq bigint, broken_kind text, broken_at timestamptz)`,
  `insert into audit_checkpoint (id, seq, hash, sweep_seq, sweep_hash) values (1, 0, '${'0'.repeat(64)}', 0, '${'0'.repeat(64)}')`,
];

// 0023 (issue 14, routing at scale): a new caller's place in the queue in one statement.
// `koe_queue_enqueue` is what QueueEntries.enqueue (server/sip/queue-entries.ts) did in ~11 round
// trips under the org's queue lock (the same advisory keys: 'koe-queue:' || org, then the
// Call-ID, as every other queue and call path takes them). In a plpgsql function each statement
// reads a fresh snapshot (READ COMMITTED), so the counts after the lock see every enqueue that
// committed before it; the lock is held for the function and its commit, not for the gateway's
// round trips. The rules are queue-store.ts's: a campaign's queue while it has room, else its
// overflow campaign's (same org, not itself) while that has room, else "queue full"; the maximum
// wait from the first wait in the caller's own campaign (a re-route: its earlier entry or first
// ring), from now in an overflow's; Kamailio asking again gets the entry it has.
// outcome: 'known' (the existing entry, unchanged), 'gone' (ended otherwise, or the call already
// ended: no_ready_agent), 'queued' (written). The count of a campaign's waiting callers reads a
// partial index of exactly those (callers hearing the queue-full message, which pile up in a
// flood until their message has played, are not in it).
const M0023_STATEMENTS: string[] = [
  `create index call_queue_waiting on call_queue (campaign_id) where ended_at is null and end_announcement is null`,
  `create function koe_queue_enqueue(p_org uuid, p_campaign uuid, p_call text, p_query jsonb, p_caller text, p_did text,
      p_notice boolean, p_rerouted boolean, p_now timestamptz,
      out outcome text, out campaign_id uuid, out first_campaign_id uuid, out end_announcement text, out state text)
    language plpgsql as $$
    declare
      known call_queue%rowtype;
      c record;
      o record;
      target uuid;
      waiting bigint;
      since timestamptz := p_now;
      rang timestamptz;
      max_wait integer := 0;
      v_next_play text;
    begin
      perform pg_advisory_xact_lock(hashtext('koe-queue:' || p_org::text));
      select * into known from call_queue q where q.sip_call_id = p_call;
      if found and (known.ended_at is null or not p_rerouted) then
        outcome := 'known'; campaign_id := known.campaign_id; first_campaign_id := known.first_campaign_id;
        end_announcement := known.end_announcement; state := known.state;
        return;
      end if;
      if found and known.state <> 'connected' then outcome := 'gone'; return; end if;
      perform pg_advisory_xact_lock(hashtext(p_call));
      perform 1 from ended_calls e where e.sip_call_id = p_call;
      if found then outcome := 'gone'; return; end if;
      -- the campaign's queue, else its overflow's (queue-store.ts findOverflow and queueSettings)
      select x.org_id, x.queue_max_size, x.queue_max_wait_seconds, x.queue_overflow_campaign_id into c from campaigns x where x.id = p_campaign;
      if not found then raise exception 'koe_queue_enqueue: no campaign %', p_campaign; end if;
      select count(*) into waiting from call_queue q where q.campaign_id = p_campaign and q.ended_at is null and q.end_announcement is null;
      if waiting < c.queue_max_size then
        target := p_campaign;
      elsif c.queue_overflow_campaign_id is not null and c.queue_overflow_campaign_id <> p_campaign then
        select x.id, x.org_id, x.queue_max_size, x.queue_max_wait_seconds into o from campaigns x where x.id = c.queue_overflow_campaign_id;
        if found and o.org_id = c.org_id then
          select count(*) into waiting from call_queue q where q.campaign_id = o.id and q.ended_at is null and q.end_announcement is null;
          if waiting < o.queue_max_size then target := o.id; end if;
        end if;
      end if;
      if p_rerouted then
        select min(k.ringing_at) into rang from calls k where k.org_id = p_org and k.sip_call_id = p_call;
        since := least(p_now, known.enqueued_at, rang);
      end if;
      if target = p_campaign then max_wait := c.queue_max_wait_seconds;
      elsif target is not null then max_wait := o.queue_max_wait_seconds;
      end if;
      v_next_play := case when p_notice then 'notice' when known.held_at is not null then 'music' else 'greeting' end;
      campaign_id := coalesce(target, p_campaign); first_campaign_id := p_campaign; state := 'pending';
      end_announcement := case when target is null then 'overflow' end;
      if known.sip_call_id is not null then
        update call_queue q set org_id = p_org, campaign_id = koe_queue_enqueue.campaign_id, first_campaign_id = p_campaign, query = p_query,
            caller_e164 = p_caller, dialled_e164 = p_did, state = 'pending', enqueued_at = since,
            deadline = case when target = p_campaign then since else p_now end + make_interval(secs => max_wait), held_at = null,
            control = null, t_index = null, t_label = null, media_node = null, from_tag = null, next_play = v_next_play,
            next_play_at = null, dispatch_after = null, claimed_by = null, claimed_at = null,
            end_announcement = koe_queue_enqueue.end_announcement, end_at = null, ended_at = null,
            end_reason = case when target is null then 'queue_full' end
          where q.sip_call_id = p_call and q.state = 'connected';
      else
        insert into call_queue (sip_call_id, org_id, campaign_id, first_campaign_id, query, caller_e164, dialled_e164, state, enqueued_at, deadline,
            held_at, control, t_index, t_label, media_node, from_tag, next_play, next_play_at, dispatch_after, claimed_by, claimed_at,
            end_announcement, end_at, ended_at, end_reason)
          values (p_call, p_org, koe_queue_enqueue.campaign_id, p_campaign, p_query, p_caller, p_did, 'pending', since,
            case when target = p_campaign then since else p_now end + make_interval(secs => max_wait),
            null, null, null, null, null, null, v_next_play, null, null, null, null,
            koe_queue_enqueue.end_announcement, null, null, case when target is null then 'queue_full' end);
      end if;
      outcome := 'queued';
    end $$`,
];

// 0024 (issue 18 item 6): the number a campaign's outbound calls present (E.164; null: none).
// Kamailio asks for it per call (GET /sip/outbound) and sets it as the caller of the INVITE to the trunk.
const M0024_STATEMENTS: string[] = [`alter table campaigns add column outbound_caller_id text check (outbound_caller_id ~ '^[+][1-9][0-9]{6,14}$')`];

// 0025 (issue 18 item 6): the org's quick connects, entries of the transfer directory (server/sip/directory.ts).
const M0025_STATEMENTS: string[] = [
  `create table quick_connects (
    id uuid primary key, org_id uuid not null references orgs(id), name text not null,
    number text not null check (number ~ '^[+][1-9][0-9]{6,14}$'), created_at timestamptz not null)`,
  `create unique index quick_connects_org_name on quick_connects (org_id, name)`,
];

// 0026 (issue 18 item 7): the call's latest quality as the operator's phone measured it (MOS
// estimate, jitter, loss, round trip: shared/rules/call-quality.ts), for the lead's board.
const M0026_STATEMENTS: string[] = [
  `alter table calls add column quality_mos real check (quality_mos between 1 and 4.5)`,
  `alter table calls add column quality_jitter_ms real check (quality_jitter_ms >= 0)`,
  `alter table calls add column quality_loss_pct real check (quality_loss_pct between 0 and 100)`,
  `alter table calls add column quality_rtt_ms real check (quality_rtt_ms >= 0)`,
  `alter table calls add column quality_at timestamptz`,
];

// 0028 (issue 18 item 5): notes can be corrected by their author within the org's policy
// (notes.editWindowMinutes, notes.closedNotesEditable). `version` is the edit's precondition (a
// stale one is refused, never overwritten); note_edits keeps every replaced text with who
// replaced it and when (for disputes), and goes with its note (retention, erasure: cascade).
const M0028_STATEMENTS: string[] = [
  `alter table notes add column version integer not null default 1 check (version >= 1)`,
  `alter table notes add column edited_at timestamptz`,
  `create table note_edits (
    id uuid primary key, org_id uuid not null references orgs(id),
    note_id uuid not null references notes(id) on delete cascade, version integer not null,
    body text not null, editor_id uuid not null references users(id), edited_at timestamptz not null,
    unique (note_id, version))`,
];

function statements(list: string[]): Migration {
  return {
    async up(db: Kysely<any>) {
      for (const statement of list) await sql.raw(statement).execute(db);
    },
  };
}

export const MIGRATIONS: Record<string, Migration> = {
  '0001_identity_sessions_audit': statements(M0001_STATEMENTS),
  '0002_crm_campaigns_customers_calls_notes': statements(M0002_STATEMENTS),
  '0003_customer_name_search_org': statements(M0003_STATEMENTS),
  '0004_did_unique_audit_org_seq': statements(M0004_STATEMENTS),
  '0005_operator_model': statements(M0005_STATEMENTS),
  '0006_session_event_bus': statements(M0006_STATEMENTS),
  '0007_ended_calls': statements(M0007_STATEMENTS),
  '0008_call_media_node': statements(M0008_STATEMENTS),
  '0009_live_state': statements(M0009_STATEMENTS),
  '0010_campaign_route_policy': statements(M0010_STATEMENTS),
  '0011_queues_announcements': statements(M0011_STATEMENTS),
  '0012_queue_statistics': statements(M0012_STATEMENTS),
  '0013_offerable_since': M0013,
  '0014_recordings': statements(M0014_STATEMENTS),
  '0015_data_retention_recording_instance': statements(M0015_STATEMENTS),
  '0016_audit_deferred_chain': statements(M0016_STATEMENTS),
  '0017_device_owner_notice': statements(M0017_STATEMENTS),
  '0018_must_change_password': statements(M0018_STATEMENTS),
  '0019_alerts_webhooks': statements(M0019_STATEMENTS),
  '0020_user_tombstone_session_pages': statements(M0020_STATEMENTS),
  '0021_campaign_disabled': statements(M0021_STATEMENTS),
  '0022_audit_viewer_checkpoint': statements(M0022_STATEMENTS),
  '0023_queue_enqueue_statement': statements(M0023_STATEMENTS),
  '0024_campaign_outbound_caller_id': statements(M0024_STATEMENTS),
  '0025_quick_connects': statements(M0025_STATEMENTS),
  '0026_call_quality': statements(M0026_STATEMENTS),
  '0028_note_edits': statements(M0028_STATEMENTS),
};

class StaticProvider implements MigrationProvider {
  async getMigrations() {
    return MIGRATIONS;
  }
}

/** Applies pending migrations; returns the names applied. Throws on the first failure. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(), migrationTableName: 'koe_migrations', migrationLockTableName: 'koe_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
