// Org policy: stored as JSON per org, validated here, every field with a default.
import { z } from 'zod';
import { DEFAULT_PASSWORD_POLICY } from '../rules/password-policy';
import { userText } from '../rules/text';
import { isTimeZone } from '../rules/business-hours';
import { Cidr } from './cidr';
import { SYSTEM_REASONS } from '../rules/operator-model';

const RoleKey = z.string().regex(/^[a-z][a-z0-9_]{1,39}$/);
const OrgTimeZone = z.string().max(64).refine(isTimeZone, 'unknown IANA time zone');

export const PasswordPolicySchema = z.strictObject({
  minLength: z.number().int().min(8).max(128).default(DEFAULT_PASSWORD_POLICY.minLength),
  maxLength: z.number().int().min(16).max(1024).default(DEFAULT_PASSWORD_POLICY.maxLength),
  requireUpper: z.boolean().default(true),
  requireLower: z.boolean().default(true),
  requireDigit: z.boolean().default(true),
  requireSymbol: z.boolean().default(true),
  blocklist: z.array(userText({ max: 128 })).max(1000).default([]),
  historyCount: z.number().int().min(0).max(24).default(DEFAULT_PASSWORD_POLICY.historyCount),
});

export const LockoutPolicySchema = z.strictObject({
  maxFailures: z.number().int().min(1).max(100).default(5),
  windowMinutes: z.number().int().min(1).max(1440).default(15),
  lockMinutes: z.number().int().min(1).max(10080).default(30),
});

export const SessionPolicySchema = z.strictObject({
  accessTokenMinutes: z.number().int().min(1).max(60).default(10),
  idleMinutes: z.number().int().min(1).max(1440).default(30),
  absoluteHours: z.number().int().min(1).max(168).default(12),
});

/**
 * What the org asks of every Koe client. The client combines it with the PC's managed policy
 * file and the stricter value wins (shorter idle timeout; protection on if either says so).
 */
export const ClientPolicySchema = z.strictObject({
  idleTimeoutSeconds: z.number().int().min(30).max(86_400).default(300),
  contentProtection: z.boolean().default(true),
  blurOnFocusLoss: z.boolean().default(false),
});
export type OrgClientPolicy = z.infer<typeof ClientPolicySchema>;

/** A not-ready reason the org offers its operators: a stable code (stored, audited, sent) and its label in each UI language. */
export const NotReadyReasonCode = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'a code: lower-case letters, digits and _ (at most 32)');
export const NotReadyReasonSchema = z.strictObject({
  code: NotReadyReasonCode,
  ja: userText({ max: 40 }),
  en: userText({ max: 40 }),
});
export type NotReadyReason = z.infer<typeof NotReadyReasonSchema>;
export const MAX_NOT_READY_REASONS = 20;
/** A Japanese call centre's usual list (the codes of the first version's fixed list are kept: stored states name them). */
export const DEFAULT_NOT_READY_REASONS: NotReadyReason[] = [
  { code: 'lunch', ja: '昼休憩', en: 'Lunch' },
  { code: 'meeting', ja: 'ミーティング', en: 'Meeting' },
  { code: 'training', ja: '研修', en: 'Training' },
  { code: 'follow_up', ja: '後処理の続き', en: 'Follow-up work' },
  { code: 'callback', ja: '折り返し対応', en: 'Callback' },
  { code: 'other', ja: 'その他', en: 'Other' },
];
export const NotReadyReasonsSchema = z
  .array(NotReadyReasonSchema)
  .min(1)
  .max(MAX_NOT_READY_REASONS)
  .check((ctx) => {
    const seen = new Set<string>();
    ctx.value.forEach((r, i) => {
      if (seen.has(r.code)) ctx.issues.push({ code: 'custom', message: `the code ${r.code} is listed twice`, input: r.code, path: [i, 'code'] });
      // the board shows a system reason by its code in the same place: an org code must not look like one
      else if ((SYSTEM_REASONS as readonly string[]).includes(r.code)) ctx.issues.push({ code: 'custom', message: `the code ${r.code} is reserved`, input: r.code, path: [i, 'code'] });
      seen.add(r.code);
    });
  });

/** The label of a not-ready reason code in a language; null when the org's list does not name it (an older code, or free text). */
export function notReadyReasonLabel(reasons: readonly NotReadyReason[], code: string, language: 'ja' | 'en'): string | null {
  const r = reasons.find((x) => x.code === code);
  return r ? r[language] : null;
}

/** Agent states (docs/telephony.md): after wrap-up the gateway returns the agent to ready. */
export const AgentPolicySchema = z.strictObject({
  wrapUpSeconds: z.number().int().min(0).max(3600).default(30),
  /** What one press of "extend" adds to a running wrap-up; 0: operators cannot extend it. */
  wrapUpExtendSeconds: z.number().int().min(0).max(600).default(0),
  /** How many times one wrap-up may be extended (with wrapUpExtendSeconds above 0). */
  wrapUpMaxExtensions: z.number().int().min(0).max(10).default(1),
  /** The reasons an operator may give for "not ready" (the gateway refuses any other code). */
  notReadyReasons: NotReadyReasonsSchema.default(() => DEFAULT_NOT_READY_REASONS.map((r) => ({ ...r }))),
  /** An offered call nobody answers ends "no_answer" after this (below Kamailio's INVITE timer, fr_inv_timer 60 s). */
  ringSeconds: z.number().int().min(5).max(55).default(30),
  /** A client whose last socket closed is not offered calls at once, and offline after this. */
  clientGraceSeconds: z.number().int().min(0).max(600).default(20),
});

/**
 * Supervision (team leads). `announce`: the org requires an announcement before a team lead's
 * voice reaches a customer. Default off: customers hear the recording/monitoring notice from
 * the IVR/PBX before they are routed, and monitoring of employees is covered by their
 * employment agreements. When on, the gateway refuses barge (Koe plays no announcement
 * itself); monitor and whisper never reach the customer and stay allowed.
 */
export const SupervisionPolicySchema = z.strictObject({
  announce: z.boolean().default(false),
});

/**
 * The lead's board (issue 18 item 9): a row is highlighted when its operator has been on one
 * answered call, in wrap-up, or not ready (or on a break) for at least this long.
 */
export const BoardPolicySchema = z.strictObject({
  longCallSeconds: z.number().int().min(60).max(14_400).default(600),
  longWrapUpSeconds: z.number().int().min(10).max(3600).default(120),
  longNotReadySeconds: z.number().int().min(60).max(14_400).default(900),
});
export type BoardPolicy = z.infer<typeof BoardPolicySchema>;

/**
 * Announcements the caller hears (server/sip/queue.ts): their language, and whether the
 * recording / monitoring notice plays before routing (then every inbound call is held for it).
 */
export const AnnouncementPolicySchema = z.strictObject({
  language: z.enum(['ja', 'en']).default('ja'),
  recordingNotice: z.boolean().default(false),
});

/** Recordings (docs/telephony.md "Recordings"): whether operators with recordings:play may hear their own calls. */
export const RecordingsPolicySchema = z.strictObject({
  operatorsHearOwnCalls: z.boolean().default(false),
});

/**
 * Correcting a saved note (docs/gateway.md "Editing a note"): only its author, for
 * `editWindowMinutes` after it was created (0: a note cannot be edited once saved; the window
 * runs from creation, an edit does not restart it), and a closed note only if
 * `closedNotesEditable`. Every edit keeps the text it replaced (note_edits).
 */
export const NOTE_EDIT_WINDOW_MAX_MINUTES = 1440;
export const NotesPolicySchema = z.strictObject({
  editWindowMinutes: z.number().int().min(0).max(NOTE_EDIT_WINDOW_MAX_MINUTES).default(30),
  closedNotesEditable: z.boolean().default(false),
});
export type NotesPolicy = z.infer<typeof NotesPolicySchema>;

export const OrgPolicySchema = z.strictObject({
  password: PasswordPolicySchema.default(PasswordPolicySchema.parse({})),
  lockout: LockoutPolicySchema.default(LockoutPolicySchema.parse({})),
  sessions: SessionPolicySchema.default(SessionPolicySchema.parse({})),
  client: ClientPolicySchema.default(ClientPolicySchema.parse({})),
  agents: AgentPolicySchema.default(() => AgentPolicySchema.parse({})),
  supervision: SupervisionPolicySchema.default(SupervisionPolicySchema.parse({})),
  board: BoardPolicySchema.default(() => BoardPolicySchema.parse({})),
  announcements: AnnouncementPolicySchema.default(AnnouncementPolicySchema.parse({})),
  recordings: RecordingsPolicySchema.default(RecordingsPolicySchema.parse({})),
  notes: NotesPolicySchema.default(() => NotesPolicySchema.parse({})),
  /** The org's IANA zone: "today" for operators' figures on the board (campaigns have their own zone). */
  timeZone: OrgTimeZone.default('Asia/Tokyo'),
  /** Roles that must use TOTP; members without it can only enrol until they do. */
  totpRequiredRoles: z.array(RoleKey).default(['admin']),
  /** Roles whose sign-ins are bound to one enrolled Ed25519 device key. */
  deviceBindingRoles: z.array(RoleKey).default(['operator', 'team_lead', 'admin']),
  /** Empty list = any address. A sign-in must pass the org list and its role's list. */
  ipAllowlist: z
    .strictObject({
      org: z.array(Cidr).max(500).default([]),
      roles: z.record(RoleKey, z.array(Cidr).max(500)).default({}),
    })
    .default({ org: [], roles: {} }),
});
export type OrgPolicy = z.infer<typeof OrgPolicySchema>;

export const DEFAULT_ORG_POLICY: OrgPolicy = OrgPolicySchema.parse({});

/**
 * A section's PATCH schema: every field optional and WITHOUT its default. (`.partial()` keeps
 * zod's defaults, so a PATCH of one field came out of the parse with every other field of its
 * section at its default, and the merge reset what the admin had set before.)
 */
function sectionPatch<T extends z.ZodObject>(section: T): z.ZodType<Partial<z.output<T>>> {
  const shape = Object.fromEntries(Object.entries(section.shape).map(([key, field]) => [key, (field instanceof z.ZodDefault ? field.unwrap() : field).optional()]));
  return z.strictObject(shape) as unknown as z.ZodType<Partial<z.output<T>>>;
}

/** PATCH body for the policy: any subset of sections; each given section is replaced field-wise. */
export const OrgPolicyPatchSchema = z.strictObject({
  password: sectionPatch(PasswordPolicySchema).optional(),
  lockout: sectionPatch(LockoutPolicySchema).optional(),
  sessions: sectionPatch(SessionPolicySchema).optional(),
  client: sectionPatch(ClientPolicySchema).optional(),
  agents: sectionPatch(AgentPolicySchema).optional(),
  supervision: sectionPatch(SupervisionPolicySchema).optional(),
  board: sectionPatch(BoardPolicySchema).optional(),
  announcements: sectionPatch(AnnouncementPolicySchema).optional(),
  recordings: sectionPatch(RecordingsPolicySchema).optional(),
  notes: sectionPatch(NotesPolicySchema).optional(),
  timeZone: OrgTimeZone.optional(),
  totpRequiredRoles: z.array(RoleKey).optional(),
  deviceBindingRoles: z.array(RoleKey).optional(),
  ipAllowlist: z
    .strictObject({ org: z.array(Cidr).max(500).optional(), roles: z.record(RoleKey, z.array(Cidr).max(500)).optional() })
    .optional(),
});
export type OrgPolicyPatch = z.infer<typeof OrgPolicyPatchSchema>;
