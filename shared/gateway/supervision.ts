// Supervision (team leads): the live board, silent monitor, whisper and barge. HTTP routes for
// the lead's requests and SDP exchange; WebSocket messages for what the gateway pushes (board,
// legs ended) and for the operator's second, non-SIP connection (whisper/barge set-up).
// Spread into ROUTES (api.ts); the WS messages join WsClientMessage / WsServerMessage.
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { Id, Iso, SipCallId } from './primitives';
import { LegacyAgentState } from './sip';
import { BoardPolicySchema, NotReadyReasonCode } from './policy';

/**
 * An SDP body we act on: text lines only, starts with v=0, has an audio m-line, at most 16 KiB.
 * Checked on what leads and operators send and on what rtpengine answers.
 */
export const Sdp = z
  .string()
  .max(16 * 1024)
  .refine((s) => /^v=0\r?\n/.test(s) && /\r?\nm=audio \d+ /.test(s) && /^[\x20-\x7e\r\n\t]*$/.test(s), 'an SDP with an audio m-line');

export const SUPERVISION_MODES = ['monitor', 'whisper', 'barge'] as const;
export const SupervisionMode = z.enum(SUPERVISION_MODES);
export type SupervisionMode = z.infer<typeof SupervisionMode>;
/** The modes in which the lead's voice reaches the operator (the operator's second connection). */
export const VoiceMode = SupervisionMode.exclude(['monitor']);
/** Why a lead's supervision ended. */
export const SupervisionEndReason = z.enum(['call_ended', 'stopped', 'operator_left']);

/** The operator's SIP registration as their client last reported it (the board shows it). */
export const RegistrationState = z.enum(['registered', 'connecting', 'failed', 'offline']);
export type RegistrationState = z.infer<typeof RegistrationState>;

export const StartSupervisionRequest = z.strictObject({ callId: SipCallId });
export const SupervisionView = z.strictObject({
  supervisionId: Id,
  callId: z.string(),
  operatorId: Id,
  mode: SupervisionMode,
  /** rtpengine's offer for the lead's listening connection (both parties, two m-lines); answer it. */
  listenOffer: Sdp.optional(),
  /** rtpengine's answer to the lead's published (sendonly) offer, when switching to whisper/barge the first time. */
  publishAnswer: Sdp.optional(),
  /** The operator's page answered the whisper connection (whisper/barge). */
  operatorConnected: z.boolean(),
});
export type SupervisionView = z.infer<typeof SupervisionView>;
export const ListenAnswerRequest = z.strictObject({ sdp: Sdp });
export const SwitchModeRequest = z.strictObject({
  mode: SupervisionMode,
  /** The lead's sendonly offer (their microphone): needed the first time whisper/barge is chosen. */
  publishOffer: Sdp.optional(),
});
export const StopSupervisionResponse = z.strictObject({ supervisionId: Id, ended: z.boolean() });

/** A call's quality figures as the phone measured them (the OperatorIntent `quality`, as kept). */
export const CallQualitySchema = z.strictObject({
  mos: z.number().min(1).max(4.5),
  jitterMs: z.number().min(0),
  lossPct: z.number().min(0).max(100),
  rttMs: z.number().min(0).nullable(),
  at: Iso,
});
export type BoardCallQuality = z.infer<typeof CallQualitySchema>;

export const BoardCall = z.strictObject({
  callId: z.string(),
  campaignId: Id.nullable(),
  campaignName: z.string().nullable(),
  direction: z.enum(['inbound', 'outbound']),
  status: z.enum(['ringing', 'answered']),
  since: Iso,
  /** Only when the customer's campaign is in the lead's scope. */
  customerName: z.string().nullable(),
  /** The latest quality the operator's phone measured (shared/rules/call-quality.ts); null: none yet (absent from an older gateway). */
  quality: CallQualitySchema.nullable().optional(),
});
/** The operator's raised hand (a request for a lead's help, issue 18 item 9): when, and which lead acknowledged it when. */
export const BoardHand = z.strictObject({ raisedAt: Iso, acknowledgedAt: Iso.nullable(), acknowledgedBy: z.string().nullable() });
export type BoardHand = z.infer<typeof BoardHand>;
export const BoardOperator = z.strictObject({
  userId: Id,
  username: z.string(),
  displayName: z.string(),
  teamIds: z.array(Id),
  state: LegacyAgentState,
  reason: z.string().nullable(),
  since: Iso.nullable(),
  /** What the operator's client last reported over its gateway link; null: never reported / offline. */
  registration: RegistrationState.nullable(),
  call: BoardCall.nullable(),
  /** The raised hand; null: down (absent from an older gateway). */
  hand: BoardHand.nullable().optional(),
});
export type BoardOperator = z.infer<typeof BoardOperator>;
export const BoardResponse = z.strictObject({ operators: z.array(BoardOperator) });

/** A lead sets one of their operators not ready (issue 18 item 9) with one of the org's reasons. */
export const LeadSetNotReadyRequest = z.strictObject({ reason: NotReadyReasonCode });
export const LeadSetNotReadyResponse = z.strictObject({ userId: Id, state: LegacyAgentState, reason: z.string().nullable() });
/** A lead answers an operator's raised hand: acknowledge ("I'm coming": it stays up, marked) or lower it. */
export const LeadHandRequest = z.strictObject({ action: z.enum(['acknowledge', 'lower']) });
export const LeadHandResponse = z.strictObject({ userId: Id, hand: BoardHand.nullable() });

export const SUPERVISION_ROUTES = {
  board: { method: 'GET', path: '/supervision/board', summary: 'The live board: the lead\'s operators (admins: the org), states, calls, registration', auth: 'team:supervise', response: BoardResponse },
  boardPolicy: {
    method: 'GET', path: '/supervision/board-policy', summary: "The org's board thresholds (long call, long wrap-up, long not ready) the lead's board highlights by", auth: 'team:supervise',
    response: BoardPolicySchema,
  },
  leadSetNotReady: {
    method: 'POST', path: '/supervision/operators/:id/not-ready',
    summary: "A lead sets an operator of their teams not ready with one of the org's reasons (refused on a call or in wrap-up: 409); the operator is told; audited",
    auth: 'team:supervise', params: z.strictObject({ id: Id }), body: LeadSetNotReadyRequest, response: LeadSetNotReadyResponse,
  },
  leadHand: {
    method: 'POST', path: '/supervision/operators/:id/hand',
    summary: "A lead acknowledges (\"I'm coming\") or lowers the raised hand of an operator of their teams (no hand up: 409); the operator is told; audited",
    auth: 'team:supervise', params: z.strictObject({ id: Id }), body: LeadHandRequest, response: LeadHandResponse,
  },
  startSupervision: {
    method: 'POST', path: '/supervision', summary: 'Start supervising a live call (silent monitor first); audited', auth: 'team:supervise',
    body: StartSupervisionRequest, response: SupervisionView,
  },
  supervisionListenAnswer: {
    method: 'POST', path: '/supervision/:id/listen', summary: 'The lead\'s SDP answer for the listening connection', auth: 'team:supervise',
    params: z.strictObject({ id: Id }), body: ListenAnswerRequest, response: SupervisionView,
  },
  supervisionMode: {
    method: 'POST', path: '/supervision/:id/mode', summary: 'Switch monitor / whisper / barge without dropping the call; audited', auth: 'team:supervise',
    params: z.strictObject({ id: Id }), body: SwitchModeRequest, response: SupervisionView,
  },
  stopSupervision: {
    method: 'DELETE', path: '/supervision/:id', summary: 'Leave: every leg of this supervision is torn down; audited', auth: 'team:supervise',
    params: z.strictObject({ id: Id }), response: StopSupervisionResponse,
  },
  sipCallEnded: {
    method: 'GET', path: '/sip/call-ended', summary: 'Kamailio only (X-Koe-Route-Secret): a BYE, CANCEL or refused INVITE ended this call; the operator model ends it, supervision legs are torn down',
    auth: 'kamailio',
    /** status: the final response of a refused initial INVITE (486, 603, 408...); "200" for a BYE (the call was answered); "000" (or none) for a CANCEL or a call Kamailio gave up. */
    query: z.strictObject({ callId: SipCallId, status: z.string().regex(/^\d{3}$/).optional() }),
    response: z.strictObject({ closed: z.number().int() }),
  },
} as const satisfies Record<string, RouteSpec>;

// Client -> gateway over /ws.
/** The operator's page answers the whisper connection's offer (only the supervised operator's own socket). */
export const SupervisionAnswerMessage = z.strictObject({ type: z.literal('supervisionAnswer'), legId: Id, sdp: Sdp });
/** The operator's client reports its SIP registration (shown on the board). */
export const RegistrationMessage = z.strictObject({ type: z.literal('registration'), state: RegistrationState });
/** A lead asks for the board: a snapshot now, then an update per change. */
export const BoardSubscribeMessage = z.strictObject({ type: z.literal('boardSubscribe') });
export const SupervisionClientMessages = [SupervisionAnswerMessage, RegistrationMessage, BoardSubscribeMessage] as const;

// Gateway -> client over /ws.
/** To the operator: open a second, non-SIP connection with this offer (the lead's voice). */
export const SupervisionOfferMessage = z.strictObject({ type: z.literal('supervisionOffer'), legId: Id, sdp: Sdp, mode: VoiceMode });
/** To the operator: whisper (lead heard by the operator only) or barge (mixed toward the customer). */
export const SupervisionModeMessage = z.strictObject({ type: z.literal('supervisionMode'), legId: Id, mode: VoiceMode });
/** To the operator: close that connection. */
export const SupervisionStopMessage = z.strictObject({ type: z.literal('supervisionStop'), legId: Id });
/** To the lead: the supervision ended (call over, or stopped elsewhere). */
export const SupervisionEndedMessage = z.strictObject({ type: z.literal('supervisionEnded'), supervisionId: Id, reason: SupervisionEndReason });
export const BoardMessage = z.strictObject({ type: z.literal('board'), operators: z.array(BoardOperator) });
export const BoardUpdateMessage = z.strictObject({ type: z.literal('boardUpdate'), operator: BoardOperator });
export const SupervisionServerMessages = [
  SupervisionOfferMessage,
  SupervisionModeMessage,
  SupervisionStopMessage,
  SupervisionEndedMessage,
  BoardMessage,
  BoardUpdateMessage,
] as const;
