import { SHORTCUT_ACTIONS } from '../rules/shortcuts';
import { z } from 'zod';
import { ClientPolicy, Theme } from '../policy';
import { userText } from '../rules/text';
import { RECOVERY_CODE_TYPED } from '../rules/recovery-code';
import { AvailabilitySchema, OperatorCardMessage, OperatorHangUpMessage, OperatorIntent, OperatorNoticeMessage, OperatorViewSchema } from '../gateway/operator';
import { LockReason } from '../gateway/primitives';
import {
  BoardOperator, RegistrationMessage, SupervisionAnswerMessage, SupervisionEndedMessage, SupervisionModeMessage, SupervisionOfferMessage,
  SupervisionStopMessage,
} from '../gateway/supervision';
import { REFUSALS } from '../rules/operator-model';
import { QueueStats } from '../gateway/queue-stats';
import { CallPatchRequest, NoteBody } from '../gateway/crm';
import { Id, Iso, SipCallId } from '../gateway/primitives';
import { AlertView } from '../gateway/admin-alerts';

/**
 * The one IPC contract. Each channel is declared once, here: its name (`<namespace>:<method>`),
 * the schema of its single argument and the schema of its result. Main's handler table, the
 * preload API (`window.koe`) and the renderer's types are all derived from this object.
 */
/**
 * `whileLocked: 'refuse'` marks channels that carry customer data or tokens: main's guard
 * refuses them while the screen is locked, whatever the renderer does.
 */
type ChannelOptions = { whileLocked: 'allow' | 'refuse' };
const channel = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O, options: ChannelOptions = { whileLocked: 'allow' }) => ({
  input,
  output,
  ...options,
});
const NoInput = z.object({}).strict();

export const Language = z.enum(['ja', 'en']);
export type Language = z.infer<typeof Language>;

export const LockState = z
  .object({
    locked: z.boolean(),
    reason: LockReason.nullable(),
    since: z.number().int().nullable(),
  })
  .strict();
export type LockState = z.infer<typeof LockState>;

export const AppInfo = z
  .object({
    name: z.string(),
    version: z.string(),
    platform: z.string(),
    host: z.enum(['electron', 'devhost']),
    locale: z.string(),
  })
  .strict();
export type AppInfo = z.infer<typeof AppInfo>;

export const GatewayHealth = z
  .object({
    url: z.string(),
    reachable: z.boolean(),
    version: z.string().nullable(),
    checkedAt: z.number().int(),
  })
  .strict();
export type GatewayHealth = z.infer<typeof GatewayHealth>;

export const EffectivePolicy = z
  .object({
    policy: ClientPolicy,
    /** Keys set by the machine-wide managed policy file: the user cannot change these. */
    managedKeys: z.array(z.string()),
  })
  .strict();
export type EffectivePolicy = z.infer<typeof EffectivePolicy>;

export const SessionUser = z
  .object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    role: z.string(),
    permissions: z.array(z.string()),
  })
  .strict();

export const SessionState = z.discriminatedUnion('status', [
  z
    .object({
      status: z.literal('signed-out'),
      reason: z.enum(['signed-out', 'expired', 'revoked']).nullable(),
    })
    .strict(),
  z
    .object({
      status: z.literal('signed-in'),
      user: SessionUser,
      device: z.object({ name: z.string(), enrolledNow: z.boolean() }).strict().nullable(),
      totpEnrolmentRequired: z.boolean(),
      /** An admin reset the password (temporary): the session can only change it; the workspace stays stopped. */
      passwordChangeRequired: z.boolean(),
      absoluteExpiresAt: z.string(),
      /** PCs enrolled for this user since they were last told, as the gateway said at sign-in (absent: none). */
      newDevices: z.array(z.object({ id: z.string(), name: z.string(), enrolledAt: z.string(), sourceIp: z.string().nullable() }).strict()).optional(),
    })
    .strict(),
]);
export type SessionState = z.infer<typeof SessionState>;

export const SignInInput = z
  .object({
    username: z.string().trim().min(1).max(64),
    password: z.string().min(1).max(1024),
    totp: z.string().regex(/^\d{6}$/).optional(),
    recoveryCode: z.string().regex(RECOVERY_CODE_TYPED).optional(),
  })
  .strict();
export type SignInInput = z.infer<typeof SignInInput>;

export const SignInRefusal = z
  .object({
    outcome: z.literal('refused'),
    code: z.enum([
      'invalid_credentials',
      'account_locked',
      'account_disabled',
      'ip_not_allowed',
      'device_mismatch',
      'device_revoked',
      'totp_required',
      'totp_invalid',
      'password_policy',
      'rate_limited',
      'unreachable',
      'keychain_unavailable',
      'unexpected',
    ]),
    lockedUntil: z.string().optional(),
    retryAfterSeconds: z.number().optional(),
    violations: z.array(z.string()).optional(),
  })
  .strict();
export type SignInRefusal = z.infer<typeof SignInRefusal>;
export const SignInOutcome = z.union([
  z.object({ outcome: z.literal('signed-in'), session: SessionState }).strict(),
  SignInRefusal,
]);
export type SignInOutcome = z.infer<typeof SignInOutcome>;

export const AccessToken = z.object({ token: z.string(), expiresAt: z.number().int() }).strict().nullable();

export const UnlockInput = z
  .object({ password: z.string().min(1).max(1024), totp: z.string().regex(/^\d{6}$/).optional() })
  .strict();
export const UnlockOutcome = z.union([
  z.object({ outcome: z.literal('unlocked'), lock: LockState }).strict(),
  z.object({ outcome: z.literal('refused'), code: SignInRefusal.shape.code }).strict(),
]);
export type UnlockOutcome = z.infer<typeof UnlockOutcome>;

/**
 * Time-limited SIP credentials (Kamailio auth_ephemeral) main obtained from the gateway.
 * Memory only on both sides: never persisted, never logged. Allowed while locked, since
 * calls continue while the screen is locked.
 */
export const SipCredentials = z
  .object({
    authorizationUsername: z.string().min(1).max(256),
    authorizationPassword: z.string().min(1).max(256),
    aor: z.string().regex(/^sips?:[^@\s]+@[^\s]+$/),
    wsServers: z.array(z.string().regex(/^wss?:\/\//)).min(1).max(8),
    expiresAt: z.number().int(),
    iceServers: ClientPolicy.shape.iceServers,
  })
  .strict();
export type SipCredentials = z.infer<typeof SipCredentials>;

/**
 * The operator's state as main holds it (main/telephony/agent-state.ts): the newest view the
 * gateway pushed (null until the first push of this session), the gateway link as main sees it,
 * and the intents sent and not yet answered. The client never invents a state: it renders this.
 */
export const AgentLinkState = z.enum(['offline', 'connecting', 'connected', 'unreachable']);
export type AgentLinkState = z.infer<typeof AgentLinkState>;
export const PendingIntent = z
  .object({
    id: z.string(),
    kind: z.string(),
    /** setAvailability / finishWrapUp: where the operator asked to go. */
    state: AvailabilitySchema.nullable(),
    callId: z.string().nullable(),
  })
  .strict();
export type PendingIntent = z.infer<typeof PendingIntent>;
export const AgentSnapshot = z
  .object({ view: OperatorViewSchema.nullable(), link: AgentLinkState, pending: z.array(PendingIntent) })
  .strict();
export type AgentSnapshot = z.infer<typeof AgentSnapshot>;
/** The renderer's intents and the phone's facts; `locked` is main's own (the lock is decided in main). */
export const AgentIntentInput = OperatorIntent.refine((i) => i.kind !== 'locked', { message: 'the lock is reported by main' });
export type AgentIntentInput = Exclude<OperatorIntent, { kind: 'locked' }>;
/**
 * Why an intent did not take effect: the model's refusal, or the client's: `unreachable` (the
 * gateway link is down: nothing was sent), `no_answer` (sent, no answer in time),
 * `signed_out` (the session ended first).
 */
export const IntentRefusal = z.enum([...REFUSALS, 'unreachable', 'no_answer', 'signed_out']);
export type IntentRefusal = z.infer<typeof IntentRefusal>;
export const IntentOutcome = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('accepted'), view: OperatorViewSchema }).strict(),
  /** A fact kept while the link is down and sent after it is back (the gateway ignores stale ones). */
  z.object({ outcome: z.literal('queued') }).strict(),
  z.object({ outcome: z.literal('refused'), refusal: IntentRefusal }).strict(),
]);
export type IntentOutcome = z.infer<typeof IntentOutcome>;
/** Something to tell the operator: the gateway's operatorNotice without its `type`. */
export const AgentNotice = OperatorNoticeMessage.omit({ type: true });
export type AgentNotice = z.infer<typeof AgentNotice>;
/** The gateway ended this call (no answer in time, sign-out, client lost): the phone ends its SIP session. */
export const AgentHangUp = OperatorHangUpMessage.omit({ type: true });
export type AgentHangUp = z.infer<typeof AgentHangUp>;
/** The card with the ring (the call's screen pop, pushed by the gateway as it routes the call here). */
export const AgentCard = OperatorCardMessage.omit({ type: true });
export type AgentCard = z.infer<typeof AgentCard>;

/**
 * The operator's chosen audio devices (a preference; null = the system default). The ringer is
 * where the ringtone plays (a speaker while the headset is idle); null or absent (settings kept
 * before it existed) = the call's speaker.
 */
export const AudioDevices = z
  .object({
    inputDeviceId: z.string().max(256).nullable(),
    outputDeviceId: z.string().max(256).nullable(),
    ringerDeviceId: z.string().max(256).nullable().optional(),
  })
  .strict();
export type AudioDevices = z.infer<typeof AudioDevices>;

/**
 * The renderer's phone: a call rings (or stopped ringing). Main alerts the operator through the
 * OS when the window is not in front (main/services/ring-alert.ts). `caller`: the name or number
 * as the ringing panel shows it, null when withheld; shown only if the org's policy allows.
 */
export const RingingReport = z.strictObject({ callId: SipCallId, ringing: z.boolean(), caller: z.string().max(100).nullable() });
export type RingingReport = z.infer<typeof RingingReport>;

/**
 * Supervision (team leads). Operator side: the set-up of the second, non-SIP connection that
 * carries a team lead's voice (whisper/barge). Main emits it only from the gateway link (the
 * gateway's authenticated WebSocket): nothing else can open such a connection.
 */
export const SupervisionSignal = z.discriminatedUnion('kind', [
  SupervisionOfferMessage.omit({ type: true }).extend({ kind: z.literal('offer') }),
  SupervisionModeMessage.omit({ type: true }).extend({ kind: z.literal('mode') }),
  SupervisionStopMessage.omit({ type: true }).extend({ kind: z.literal('stop') }),
]);
export type SupervisionSignal = z.infer<typeof SupervisionSignal>;
/** Lead side: a supervision the gateway ended (call over, or stopped elsewhere). */
export const SupervisionEnded = SupervisionEndedMessage.omit({ type: true });
/** Operator side: the answer of the whisper connection, as the gateway takes it. */
export const SupervisionAnswer = SupervisionAnswerMessage.omit({ type: true });
/** The lead's live board, as main keeps it from the gateway's snapshot and updates. */
export const BoardState = z.strictObject({ operators: z.array(BoardOperator), updatedAt: z.number().int().nullable(), stats: QueueStats.nullable().optional() });
export type BoardState = z.infer<typeof BoardState>;
/**
 * Main's gateway link as the status bar shows it: `connecting` (first connect of a session),
 * `connected`, `reconnecting` (lost; `attempt` n, the next try in `retryInMs`), `back`
 * (connected again after an interruption), `offline` (signed out).
 */
export const LinkStatus = z
  .object({
    phase: z.enum(['offline', 'connecting', 'connected', 'reconnecting', 'back']),
    attempt: z.number().int().min(0),
    retryInMs: z.number().int().min(0).nullable(),
  })
  .strict();
export type LinkStatus = z.infer<typeof LinkStatus>;

/**
 * What main is doing after the PC woke up (main/session/resume.ts), in order: `session`
 * (re-checked with the gateway), `phone` (the renderer re-registers; it answers
 * `resume:phoneDone` with this `run`), `link` (the gateway link reconnects), `outbox` (what waited
 * is sent), then `done`; `signed-out` when the session did not survive the sleep; `idle` before
 * any resume. `at`: when the phase began (ms since the epoch).
 */
export const ResumeStatus = z
  .object({
    phase: z.enum(['idle', 'session', 'phone', 'link', 'outbox', 'done', 'signed-out']),
    run: z.number().int().min(0),
    at: z.number().int().nullable(),
  })
  .strict();
export type ResumeStatus = z.infer<typeof ResumeStatus>;

/**
 * A renderer failure for main's log (renderer/src/log.ts): what failed, in the code's own
 * words, and the error's name. Bounded here; main scrubs and rate-limits it
 * (main/services/renderer-log.ts) so a renderer can neither flood the log nor write a secret.
 */
export const RendererFailure = z
  .object({
    what: z.string().min(1).max(200),
    errorName: z.string().min(1).max(64),
  })
  .strict();
export type RendererFailure = z.infer<typeof RendererFailure>;

/** The phone's SIP registration, reported on the gateway link (the gateway's registration message without its `type`). */
export const RegistrationReport = RegistrationMessage.omit({ type: true });

/**
 * The outbox (main/outbox/outbox.ts): what the operator wrote that the gateway has not
 * confirmed, kept by main in a file sealed with the user's key (OS keychain) and sent in order.
 * A note is the text as typed (redacted again by main); a call patch is the call record's update
 * (times, disposition, wrap-up). `id` is the client's: the note's clientNoteId, or the patch's.
 */
export const OutboxCallPatch = CallPatchRequest.omit({ customerId: true });
export const OutboxEnqueue = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('note'), id: Id, sipCallId: SipCallId, customerId: Id.nullable(), body: NoteBody }),
  z.strictObject({ kind: z.literal('callPatch'), id: Id, sipCallId: SipCallId, patch: OutboxCallPatch }),
]);
export type OutboxEnqueue = z.infer<typeof OutboxEnqueue>;
/** An unsent item as listed (with the note's text: the list is refused while locked). */
export const OutboxEntry = z.strictObject({
  id: Id,
  kind: z.enum(['note', 'callPatch']),
  sipCallId: SipCallId,
  /** The note's text (redacted); null for a call patch. */
  body: z.string().nullable(),
  /** The disposition a call patch carries (null: none). */
  disposition: z.string().nullable(),
  queuedAt: z.number().int(),
  attempts: z.number().int().min(0),
});
export type OutboxEntry = z.infer<typeof OutboxEntry>;
/** What the event says (no text: events also reach a locked window). */
export const OutboxPending = OutboxEntry.omit({ body: true, disposition: true });
export const OutboxState = z.strictObject({
  /** An outbox is open (signed in); false when signed out (the items stay in the user's file). */
  open: z.boolean(),
  pending: z.array(OutboxPending),
  /** Records of the file that could not be read when it was opened (cut short by a crash, altered). */
  unreadable: z.number().int().min(0),
});
export type OutboxState = z.infer<typeof OutboxState>;
/**
 * A saved note as the gateway stored it, without its text: the notes panel needs its id, version,
 * state and creation time to offer "Edit" within the org's policy (PUT /notes/:id/body).
 */
export const OutboxSavedNote = z.strictObject({ id: Id, authorId: Id, version: z.number().int().min(1), open: z.boolean(), createdAt: Iso });
export type OutboxSavedNote = z.infer<typeof OutboxSavedNote>;
/**
 * An item the gateway answered: saved (confirmed), or refused for good (dropped, the operator is
 * told). `note`: a saved note as stored (absent when the gateway's answer could not be read).
 */
export const OutboxSettled = z.strictObject({
  id: Id,
  kind: z.enum(['note', 'callPatch']),
  outcome: z.enum(['saved', 'refused']),
  note: OutboxSavedNote.optional(),
});
export type OutboxSettled = z.infer<typeof OutboxSettled>;

/** Why an update was refused (main/updates/verify.ts; docs/updates.md lists each). */
export const UPDATE_REFUSAL_CODES = [
  'no_trust_root', 'fetch_failed', 'metadata_too_large', 'metadata_invalid',
  'root_threshold', 'root_version', 'root_expired', 'root_rollback',
  'timestamp_threshold', 'timestamp_expired', 'timestamp_rollback',
  'release_hash_mismatch', 'release_threshold', 'release_version_mismatch', 'release_expired', 'release_rollback',
  'no_target', 'pinned_not_found', 'pinned_below_minimum', 'downgrade',
  'artifact_too_large', 'artifact_size_mismatch', 'artifact_hash_mismatch',
  'download_stalled', 'download_timeout', 'download_failed',
] as const;
const At = z.number();
/** The updater's state (main/services/updates.ts); no URL, path or key in it. */
export const UpdateStatus = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('idle') }),
  z.strictObject({ state: z.literal('disabled') }),
  z.strictObject({ state: z.literal('unconfigured'), missing: z.enum(['updateUrl', 'trustRoot', 'fetch']) }),
  z.strictObject({ state: z.literal('up_to_date'), checkedAt: At }),
  z.strictObject({ state: z.literal('not_in_rollout'), version: z.string().max(64), checkedAt: At }),
  z.strictObject({ state: z.literal('ready'), version: z.string().max(64), required: z.boolean(), checkedAt: At }),
  z.strictObject({ state: z.literal('handed_over'), version: z.string().max(64), checkedAt: At }),
  z.strictObject({ state: z.literal('refused'), code: z.enum([...UPDATE_REFUSAL_CODES, 'internal']), checkedAt: At }),
]);
export type UpdateStatus = z.infer<typeof UpdateStatus>;

export const contract = {
  invoke: {
    app: {
      info: channel(NoInput, AppInfo),
    },
    policy: {
      get: channel(NoInput, EffectivePolicy),
    },
    updates: {
      /** The updater's state now (then `updates:changed` events). */
      status: channel(NoInput, UpdateStatus),
    },
    settings: {
      setLanguage: channel(z.object({ language: Language }).strict(), z.object({ language: Language }).strict()),
      setTheme: channel(z.object({ theme: Theme }).strict(), z.object({ theme: Theme }).strict()),
      audioDevices: channel(NoInput, AudioDevices),
      setAudioDevices: channel(AudioDevices, AudioDevices),
    },
    gateway: {
      health: channel(NoInput, GatewayHealth),
      /** The gateway link's status now (then `link:status` events). */
      link: channel(NoInput, LinkStatus),
    },
    log: {
      /** A renderer failure for main's log; `logged: false` when dropped by the rate limit. */
      failure: channel(RendererFailure, z.object({ logged: z.boolean() }).strict()),
    },
    lock: {
      state: channel(NoInput, LockState),
      lockNow: channel(NoInput, LockState),
      unlock: channel(UnlockInput, UnlockOutcome),
    },
    session: {
      state: channel(NoInput, SessionState),
      signIn: channel(SignInInput, SignInOutcome),
      signOut: channel(NoInput, SessionState),
      /** Re-reads the signed-in user from the gateway (after TOTP enrolment the session is a full one). */
      reload: channel(NoInput, SessionState),
      accessToken: channel(NoInput, AccessToken, { whileLocked: 'refuse' }),
    },
    phone: {
      /** A call rings or stopped ringing; `alerted`: main showed the OS notification (the renderer then shows none of its own). */
      ringing: channel(RingingReport, z.strictObject({ alerted: z.boolean() })),
    },
    sip: {
      /**
       * Null when signed out or the gateway refused; the same credentials until main renews them.
       * `renew`: Kamailio refused the ones held (403: an access cut after a password change or
       * another session's revoke), so main fetches fresh ones now.
       */
      credentials: channel(z.object({ renew: z.boolean().optional() }).strict(), SipCredentials.nullable()),
    },
    agent: {
      state: channel(NoInput, AgentSnapshot),
      /** Sends an intent or a phone fact to the gateway; resolves with its answer (or why there is none). */
      intent: channel(AgentIntentInput, IntentOutcome),
    },
    supervision: {
      /** Operator: the answer of the whisper connection, sent back on the gateway link. */
      answer: channel(SupervisionAnswer, z.object({ sent: z.boolean() }).strict()),
      /** Operator: the SIP registration as the phone sees it (the lead's board shows it). */
      reportRegistration: channel(RegistrationReport, z.object({ sent: z.boolean() }).strict()),
      /** Lead: start receiving the board (snapshot, then updates: board:changed). */
      watchBoard: channel(NoInput, BoardState),
    },
    resume: {
      /** What main is doing after a resume from sleep now (then `resume:status` events). */
      state: channel(NoInput, ResumeStatus),
      /** The renderer's phone has re-registered (or tried) for resume run `run`: main goes on with the link. */
      phoneDone: channel(z.strictObject({ run: z.number().int().min(1) }), z.strictObject({ ok: z.literal(true) })),
    },
    outbox: {
      /** Keeps an item (written to the sealed file before this answers) and sends it when it can. Allowed while locked: a call can end then. */
      enqueue: channel(OutboxEnqueue, z.strictObject({ id: Id, status: z.literal('queued') })),
      /** The unsent items with their text (customer data: refused while locked). */
      list: channel(NoInput, z.strictObject({ items: z.array(OutboxEntry) }), { whileLocked: 'refuse' }),
      /** The outbox's state without text (then `outbox:changed` events). */
      state: channel(NoInput, OutboxState),
    },
    shell: {
      openExternal: channel(
        z.object({ url: z.string().max(2048) }).strict(),
        z.object({ opened: z.boolean() }).strict(),
      ),
    },
  },
  /** Events main -> renderer. The payload is validated in main before it is sent. */
  events: {
    'lock:changed': LockState,
    'policy:changed': EffectivePolicy,
    'updates:changed': UpdateStatus,
    'session:changed': SessionState,
    'agent:changed': AgentSnapshot,
    'agent:notice': AgentNotice,
    'agent:hangUp': AgentHangUp,
    'agent:card': AgentCard,
    'supervision:signal': SupervisionSignal,
    'supervision:ended': SupervisionEnded,
    'board:changed': BoardState,
    'link:status': LinkStatus,
    'outbox:changed': OutboxState,
    'resume:status': ResumeStatus,
    'outbox:settled': OutboxSettled,
    /** A security alert of the org, pushed live (the gateway sends it only to holders of alerts:read). */
    'alerts:new': AlertView,
    /** A global shortcut the OS delivered to main while Koe was not in front (answer, hang up): the renderer presses the same control as the window's key. */
    'shortcut:pressed': z.strictObject({ action: z.enum(SHORTCUT_ACTIONS) }),
  },
} as const;

export type Contract = typeof contract;
type Invoke = Contract['invoke'];
export type Namespace = keyof Invoke;
export type MethodOf<N extends Namespace> = keyof Invoke[N] & string;
export type ChannelName = { [N in Namespace]: `${N & string}:${MethodOf<N>}` }[Namespace];
export type EventName = keyof Contract['events'];

type ChannelDef = { input: z.ZodType; output: z.ZodType; whileLocked: 'allow' | 'refuse' };
export type InputOf<N extends Namespace, M extends MethodOf<N>> = Invoke[N][M] extends ChannelDef
  ? z.input<Invoke[N][M]['input']>
  : never;
export type OutputOf<N extends Namespace, M extends MethodOf<N>> = Invoke[N][M] extends ChannelDef
  ? z.output<Invoke[N][M]['output']>
  : never;
/** The argument after main has parsed it (defaults applied). */
export type ParsedInputOf<N extends Namespace, M extends MethodOf<N>> = Invoke[N][M] extends ChannelDef
  ? z.output<Invoke[N][M]['input']>
  : never;
export type EventPayload<E extends EventName> = z.output<Contract['events'][E]>;

/** Flat list of every invoke channel, for registration and lookup. */
export const channelTable: ReadonlyMap<string, ChannelDef> = new Map(
  Object.entries(contract.invoke).flatMap(([ns, methods]) =>
    Object.entries(methods as Record<string, ChannelDef>).map(([m, def]) => [`${ns}:${m}`, def] as const),
  ),
);
export const eventNames = Object.keys(contract.events) as EventName[];
