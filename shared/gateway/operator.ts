// The operator model on the wire (/ws): the client sends intents and the phone's facts; the
// gateway, which owns the state (shared/rules/operator-model.ts), answers every accepted step
// with the whole view (operatorState, versioned: a client keeps the newest), a refusal with its
// reason (operatorRefused), things to tell the operator (operatorNotice) and calls the phone
// must end (operatorHangUp). The client never invents a state: it renders operatorState.
import { z } from 'zod';
import { AGENT_STATES, AVAILABILITY, CALL_STATES, END_CAUSES, NOTICE_CODES, REFUSALS, SYSTEM_REASONS } from '../rules/operator-model';
import { userText } from '../rules/text';
import { ScreenPopResponse } from './crm';
import { Id, SipCallId } from './primitives';

/** The operator model's agent state (with `ringing`); the board and listAgents show the legacy one (sip.ts LegacyAgentState). */
export const AgentStateSchema = z.enum(AGENT_STATES);
/** Where an operator may go of their own accord (setAvailability, finishWrapUp's next). */
export const AvailabilitySchema = z.enum(AVAILABILITY);
/**
 * Why an agent is not ready: one of the org's reason codes (policy agents.notReadyReasons; the
 * gateway refuses any other with `unknown_reason`). Kept as bounded user text on the wire, card
 * numbers masked, so an older client's free text is refused by the check, not by the parser.
 */
export const AgentReason = userText({ max: 100, redactCards: true });
/** A client's id for its message, echoed in a refusal. */
const RequestId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const CLIENT_END_CAUSES = ['completed', 'declined', 'busy', 'failed', 'no_answer'] as const satisfies readonly (typeof END_CAUSES)[number][];

export const OperatorIntent = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('setAvailability'), state: AvailabilitySchema, reason: AgentReason.optional() }),
  z.strictObject({ kind: z.literal('finishWrapUp'), callId: SipCallId, next: AvailabilitySchema.optional(), reason: AgentReason.optional() }),
  /** More time for the wrap-up of this call: accepted only as the org's policy allows (wrapUpExtendSeconds, wrapUpMaxExtensions). */
  z.strictObject({ kind: z.literal('extendWrapUp'), callId: SipCallId }),
  /** The operator dials: `number` is what was dialled (E.164 or a colleague's SIP user), for the call record and the card. */
  /** `campaignId`: the campaign the call is for (one of the operator's; its caller ID is presented). */
  z.strictObject({ kind: z.literal('dial'), callId: SipCallId, number: z.string().min(1).max(64).regex(/^[\x21-\x7e]+$/), consultFor: SipCallId.optional(), campaignId: Id.optional() }),
  z.strictObject({ kind: z.literal('microphone'), available: z.boolean() }),
  z.strictObject({ kind: z.literal('locked'), locked: z.boolean() }),
  /** The operator raises (asks a team lead for help) or lowers their hand (issue 18 item 9); any state but offline. */
  z.strictObject({ kind: z.literal('hand'), raised: z.boolean() }),
  // the phone's facts about a call the gateway knows
  z.strictObject({ kind: z.literal('ringing'), callId: SipCallId }),
  z.strictObject({ kind: z.literal('answered'), callId: SipCallId }),
  z.strictObject({ kind: z.literal('held'), callId: SipCallId, held: z.boolean() }),
  z.strictObject({ kind: z.literal('transfer'), callId: SipCallId, phase: z.enum(['started', 'failed', 'completed']) }),
  /** What the phone saw; the gateway's own causes (repair, client_lost, signed_out, transferred) are not the client's to report. */
  z.strictObject({ kind: z.literal('ended'), callId: SipCallId, cause: z.enum(CLIENT_END_CAUSES) }),
  /**
   * The call's quality as the phone measures it (shared/rules/call-quality.ts), at most every 5 s
   * during an answered call: kept in the call's row for the lead's board. Not an operator-model
   * event, and never queued while the link is down (a stale figure is worth nothing).
   */
  z.strictObject({
    kind: z.literal('quality'),
    callId: SipCallId,
    mos: z.number().min(1).max(4.5),
    jitterMs: z.number().min(0).max(10_000),
    lossPct: z.number().min(0).max(100),
    rttMs: z.number().min(0).max(60_000).nullable(),
  }),
]);
export type OperatorIntent = z.infer<typeof OperatorIntent>;

export const OperatorViewSchema = z.strictObject({
  version: z.number().int().nonnegative(),
  agent: AgentStateSchema,
  reason: z.string().nullable(),
  reasonCode: z.enum(SYSTEM_REASONS).nullable(),
  since: z.number(),
  locked: z.boolean(),
  microphone: z.boolean().nullable(),
  offerable: z.boolean(),
  calls: z.array(
    z.strictObject({
      callId: z.string(),
      direction: z.enum(['inbound', 'outbound']),
      state: z.enum(CALL_STATES),
      cause: z.enum(END_CAUSES).nullable(),
      consultFor: z.string().nullable(),
      wrapUp: z.enum(['saved', 'timed_out']).nullable(),
    }),
  ),
  wrapUp: z.strictObject({ callId: z.string(), until: z.number(), extensions: z.number().int().nonnegative().optional() }).nullable(),
  /** The raised hand: when (ms), and which lead acknowledged it when (their display name); absent from a gateway before the hand. */
  hand: z.strictObject({ raisedAt: z.number(), acknowledgedAt: z.number().nullable(), acknowledgedBy: z.string().nullable() }).nullable().optional(),
});

export const OPERATOR_NOTICES = NOTICE_CODES;

export const OperatorClientMessages = [
  z.strictObject({ type: z.literal('operator'), id: RequestId.optional(), intent: OperatorIntent }),
] as const;
/** `id`: the client message this view answers (every message with an id gets a refusal or a view). */
export const OperatorStateMessage = z.strictObject({ type: z.literal('operatorState'), view: OperatorViewSchema, id: z.string().nullable().optional() });
export const OperatorRefusedMessage = z.strictObject({ type: z.literal('operatorRefused'), id: z.string().nullable(), kind: z.string(), refusal: z.enum(REFUSALS) });
export const OperatorNoticeMessage = z.strictObject({ type: z.literal('operatorNotice'), code: z.enum(OPERATOR_NOTICES), callId: z.string().nullable() });
export const OperatorHangUpMessage = z.strictObject({ type: z.literal('operatorHangUp'), callId: z.string(), cause: z.enum(END_CAUSES) });
/** The card with the ring: the call's screen pop, pushed as the gateway routes the call to this operator (before the INVITE). */
export const OperatorCardMessage = z.strictObject({ type: z.literal('callCard'), callId: SipCallId, card: ScreenPopResponse });
export const OperatorServerMessages = [OperatorStateMessage, OperatorRefusedMessage, OperatorNoticeMessage, OperatorHangUpMessage, OperatorCardMessage] as const;
