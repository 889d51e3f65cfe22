// The bus's topics and their payloads (server/bus/event-bus.ts): small on purpose (ids, a
// version, enums). What a listener needs beyond them it re-reads from the database.
import { z } from 'zod';
import { CALL_STATES, END_CAUSES, NOTICE_CODES } from '../../shared/rules/operator-model';

const Id = z.string().min(1).max(200);
const SessionEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sessions_revoked'), sessionIds: z.array(Id), userIds: z.array(Id), reason: z.string().max(100), scope: z.enum(['session', 'user', 'device']) }),
  z.object({ kind: z.literal('user_changed'), orgId: Id, userId: Id, change: z.enum(['role', 'disabled', 'enabled']) }),
  z.object({ kind: z.literal('role_changed'), orgId: Id, roleId: Id }),
  z.object({ kind: z.literal('teams_changed'), orgId: Id, teamId: Id }),
  z.object({ kind: z.literal('policy_changed'), orgId: Id }),
]);

const Effect = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hangUp'), callId: Id, cause: z.enum(END_CAUSES) }),
  z.object({ type: z.literal('repaired'), callId: Id, was: z.enum(CALL_STATES) }),
  z.object({ type: z.literal('notify'), code: z.enum(NOTICE_CODES), callId: Id.nullable() }),
  z.object({
    type: z.literal('hand'),
    change: z.enum(['raised', 'lowered', 'acknowledged']),
    by: z.enum(['operator', 'lead', 'gateway']),
    lead: z.object({ userId: Id, username: z.string().max(200), displayName: z.string().max(200) }).nullable(),
    cause: z.enum(['signed_out', 'offline', 'supervision']).nullable(),
    raisedAt: z.number(),
  }),
]);

export const TOPICS = {
  /** Revocations and access changes (server/session-events.ts), for every /ws. */
  session: SessionEvent,
  /** An operator's state changed (AgentRegistry.apply): the stored version and the step's effects. */
  agent: z.object({ userId: Id, orgId: Id, username: z.string().max(200), version: z.number().int(), effects: z.array(Effect).max(20) }),
  /** Routing offered this call to this operator: the instance holding their socket sends the card (server/crm/card-push.ts). */
  card: z.object({ userId: Id, callId: Id }),
  /** Re-read this operator's board row (a call row or the registration changed). */
  board: z.object({ userId: Id }),
  /**
   * Supervision signalling for one user's sockets, wherever they are: the message to build
   * (offer: its SDP is read from the session's row), or the end of a session.
   */
  supervision: z.object({
    supervisionId: Id,
    userId: Id,
    type: z.enum(['supervisionOffer', 'supervisionMode', 'supervisionStop', 'supervisionEnded', 'operatorAnswered']),
    legId: Id.nullable(),
    mode: z.enum(['monitor', 'whisper', 'barge']).nullable(),
    reason: z.enum(['stopped', 'call_ended', 'operator_left']).nullable(),
  }),
  /**
   * Secure capture pressed (server/recordings/capture.ts) for a recording the instance `instance`
   * captures: it blanks from `atMs` (the press's wall-clock time) or ends the blank there.
   */
  recording: z.object({ recordingId: Id, instance: Id, paused: z.boolean(), atMs: z.number().int().nonnegative() }),
  /** A security alert was raised (server/alerts/raise.ts): the instances push it to their admin sockets (server/alerts/push.ts). */
  alert: z.object({ orgId: Id, alertId: Id }),
} as const;

export type Topic = keyof typeof TOPICS;
export type TopicPayload<T extends Topic> = z.infer<(typeof TOPICS)[T]>;
