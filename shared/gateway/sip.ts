// The telephony part of the gateway contract (docs/telephony.md): ephemeral SIP credentials
// for Kamailio's auth_ephemeral, agent states, and the routing query Kamailio makes for an
// inbound call to a DID. Spread into ROUTES (api.ts).
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { E164, Id, Iso, SipCallId } from './primitives';
import { AgentReason } from './operator';
import { BLOCK_POLICIES } from '../rules/route-policy';
import { AnnouncementName } from './queue';

/**
 * The legacy agent state: what listAgents, the board and the legacy `agentState` push show.
 * The operator model's `ringing` is `on_call` here (server/sip/agents.ts legacyOf). Not the
 * model's own agent state (AGENT_STATES / AgentStateName, shared/rules/operator-model.ts).
 */
export const LEGACY_AGENT_STATES = ['ready', 'not_ready', 'break', 'wrap_up', 'on_call', 'offline'] as const;
export const LegacyAgentState = z.enum(LEGACY_AGENT_STATES);
export type LegacyAgentState = z.infer<typeof LegacyAgentState>;
/** What a client may set with the legacy `agentState` message; `offline` is the gateway's (no authenticated WebSocket). */
export const SettableAgentState = LegacyAgentState.exclude(['offline']);

export const SipCredentialsResponse = z.strictObject({
  /** "<expiry unix seconds>:<sip user>" (auth_ephemeral username_format 1). */
  authorizationUsername: z.string(),
  /** base64(HMAC-SHA1(secret, authorizationUsername)): never stored, never logged. */
  authorizationPassword: z.string(),
  /** sip:<sip user>@<domain> */
  aor: z.string(),
  expiresAt: Iso,
  wsServers: z.array(z.string()),
});
export type SipCredentialsResponse = z.infer<typeof SipCredentialsResponse>;

export const AgentView = z.strictObject({
  userId: Id,
  username: z.string(),
  displayName: z.string(),
  sipUser: z.string(),
  state: LegacyAgentState,
  reason: z.string().nullable(),
  since: Iso.nullable(),
});
export type AgentView = z.infer<typeof AgentView>;
export const AgentsResponse = z.strictObject({ agents: z.array(AgentView) });

/**
 * Kamailio's routing query: the DID (R-URI user) and the caller (From URI, P-Asserted-Identity
 * URI, Privacy header) exactly as the carrier sent them; the gateway normalises them by the
 * trunk's rule (shared/rules/numbering.ts). Lenient on purpose: anything a carrier may send
 * is routed (to an operator, or 404 for a DID that is not ours), never refused as malformed.
 */
// (any characters: a carrier's raw UTF-8 or an escaped NUL is read by the rule, which only
// takes digits; stored only in a queue entry, through the text rule: server/sip/queue-entries.ts)
const CarrierText = (max: number) => z.string().max(max);
export const SipRouteQuery = z.strictObject({
  did: CarrierText(64),
  from: CarrierText(512).default(''),
  pai: CarrierText(512).default(''),
  privacy: CarrierText(128).default(''),
  /** The trunk (its numbering rule: gateway config sip.trunks); "default" when absent. */
  trunk: z.string().regex(/^[a-z0-9_-]{1,32}$/).default('default'),
  callId: SipCallId,
  /**
   * The rtpengine (ng host:port) the asking Kamailio node anchors this call on (koe.cfg
   * KOE_MEDIA_NODE; empty: not reported). Recorded on the call for supervision
   * (server/sip/media-nodes.ts); a value that is not a configured node is ignored, never refused.
   */
  media: z.string().max(64).default(''),
  /**
   * A re-route (koe.cfg failure_route[FAIL]): the SIP user whose branch failed and its final
   * status (408: Kamailio's ring timer, 486/603: the operator rejected, 480: unreachable..). The
   * gateway ends that offer in the operator's model (no answer -> not ready "missed") and
   * answers the next operator. Empty: the first query. Lenient like the rest: a value that is not
   * a SIP user or a status is ignored (the call is still routed, never refused as malformed).
   */
  failed: CarrierText(64).default(''),
  status: CarrierText(8).default(''),
});
/**
 * Why a call has no operator (target null), or `routed`:
 *  - no_ready_agent: nobody assigned is offerable (Kamailio answers 480, helper queues may hold it);
 *  - unknown_did: not a DID of any campaign (404);
 *  - closed: the campaign is outside its hours (koe.cfg route[CALL_REFUSED]: the closed outcome);
 *  - blocked: the caller is on the campaign's block list (blockPolicy: reject -> 603, message ->
 *    an announcement in route[CALL_REFUSED]).
 */
export const SIP_ROUTE_REASONS = ['routed', 'no_ready_agent', 'unknown_did', 'closed', 'blocked', 'queued', 'queue_full'] as const;
export const SipRouteResponse = z.strictObject({
  /** The SIP user to ring, or null (see reason). */
  target: z.string().nullable(),
  campaignId: Id.nullable(),
  did: z.string(),
  /** queued: the caller waits (koe.cfg route[QUEUE_HOLD]); queue_full: the queue and its overflow are full. */
  reason: z.enum(SIP_ROUTE_REASONS),
  /** routed: how long this offer rings (Kamailio's fr_inv_timer for the branch = the model's ring deadline). */
  ringSeconds: z.number().int().positive().optional(),
  /** blocked: the campaign's policy (reject: 603 Decline; message: an announcement). */
  blockPolicy: z.enum(BLOCK_POLICIES).optional(),
  /** Play this announcement to the caller, then end the call (koe.cfg route[QUEUE_HOLD]; server/sip/queue.ts). */
  announce: AnnouncementName.optional(),
});

/** What Kamailio decided about a REFER (koe.cfg route[REFER_POLICY]); reported for the audit. */
export const TRANSFER_KINDS = ['colleague', 'colleague_device', 'number', 'refused', 'not_own_call', 'far_end'] as const;
export const SipTransferQuery = z.strictObject({
  callId: SipCallId,
  /** The operator's SIP user, or "trunk" for a far-end REFER. */
  by: z.string().regex(/^[a-z0-9._-]{1,64}$/),
  /** The operator of the call (the SIP user the REFER is audited under); empty when unknown. */
  operator: z.string().regex(/^[a-z0-9._-]{0,64}$/).default(''),
  /** The Refer-To URI without its ?headers (may be empty when the REFER had none). */
  target: z.string().max(512).regex(/^[\x21-\x7e]*$/),
  kind: z.enum(TRANSFER_KINDS),
  allowed: z.enum(['0', '1']),
});
export const SipTransferResponse = z.strictObject({ audited: z.boolean() });

/**
 * Kamailio asks, for an operator's INVITE to an E.164 number (koe.cfg route[OUTBOUND_LOOKUP]),
 * which number it presents: the caller ID of the campaign the operator dialled for (the dial
 * intent's campaignId, checked to be theirs, recorded on the call). `user`: the authenticated
 * SIP user of the INVITE (its From user, checked against the credentials by Kamailio).
 */
export const SipOutboundQuery = z.strictObject({
  callId: SipCallId,
  user: z.string().regex(/^[a-z0-9._-]{1,64}$/),
});
export const SipOutboundResponse = z.strictObject({
  /** E.164, or null: no campaign, a campaign without one, or a call the gateway does not know (presented as the operator's AOR). */
  callerId: E164.nullable(),
});

export const SIP_ROUTES = {
  sipCredentials: {
    method: 'POST', path: '/sip/credentials', summary: 'Time-limited SIP credentials (auth_ephemeral) for the caller; audited without the password',
    auth: 'calls:handle', response: SipCredentialsResponse,
  },
  listAgents: {
    method: 'GET', path: '/agents', summary: 'Agent states of the operators in the caller\'s teams (admins: the org)', auth: 'team:read',
    response: AgentsResponse,
  },
  sipRoute: {
    method: 'GET', path: '/sip/route', summary: 'Kamailio only (X-Koe-Route-Secret): which ready operator takes a call to this DID',
    auth: 'kamailio', query: SipRouteQuery, response: SipRouteResponse,
  },
  sipOutbound: {
    method: 'GET', path: '/sip/outbound', summary: 'Kamailio only (X-Koe-Route-Secret): the caller ID of an operator\'s outbound call (its campaign\'s)',
    auth: 'kamailio', query: SipOutboundQuery, response: SipOutboundResponse,
  },
  sipTransfer: {
    method: 'GET', path: '/sip/transfer', summary: 'Kamailio only (X-Koe-Route-Secret): a REFER it accepted or refused; audited in the call\'s org',
    auth: 'kamailio', query: SipTransferQuery, response: SipTransferResponse,
  },
} as const satisfies Record<string, RouteSpec>;
