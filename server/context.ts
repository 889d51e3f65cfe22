// What every route handler gets: the database, config, clock and the shared services.
import { ChainVerifier } from './audit/chain-status';
import { reportBackgroundFailure } from './background';
import { AlertService } from './alerts/service';
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock';
import type { GatewayConfig } from './config';
import type { Db } from './db/schema';
import { CoalescedAudit } from './auth/audit-coalesce';
import { AuthzAudit } from './auth/authz-audit';
import { PasswordHasher } from './auth/passwords';
import { FailureWindow, TokenBuckets } from './auth/rate-limit';
import { AccessTokens } from './auth/tokens';
import { parseRange } from './auth/net';
import { DurableSessionEvents } from './bus/durable-session-events';
import { DurableBus } from './bus/event-bus';
import type { SessionEvents } from './session-events';
import { SipAccessLedger } from './sip/access';
import { KamailioAccessPush } from './sip/kamailio-access';
import { AgentRegistry } from './sip/agents';
import { SupervisionService } from './supervision/service';
import { CallQueues } from './sip/queue';
import { NgClient, rtpengineLiveCalls } from './supervision/ng';
import { MediaNodes } from './sip/media-nodes';
import { Recorder } from './recordings/capture';
import { RecordingsService } from './recordings/service';
import { SupervisionEngines } from './supervision/engines';
import { CardPushes } from './crm/card-push';

export interface GatewayContext {
  db: Db;
  config: GatewayConfig;
  clock: Clock;
  hasher: PasswordHasher;
  accessTokens: AccessTokens;
  authBuckets: TokenBuckets;
  ipFailures: FailureWindow;
  trustedProxies: ReturnType<typeof parseRange>[];
  /** The event bus between gateway instances (server/bus/event-bus.ts). */
  bus: DurableBus;
  /** Agent states and their pub/sub (docs/telephony.md). */
  agents: AgentRegistry;
  /** Team leads' board, monitor / whisper / barge (server/supervision). */
  supervision: SupervisionService;
  /** Several rtpengines (sip.rtpengineNodes): which one holds each call (server/sip/media-nodes.ts); null with one. */
  mediaNodes: MediaNodes | null;
  /** The card with the ring: routing's offer sends the call's card to the operator's sockets (server/crm/card-push.ts). */
  cards: CardPushes;
  /** Session revocations and access changes; every open /ws listens (server/session-events.ts). */
  sessionEvents: SessionEvents & { close(): Promise<void> };
  /** Per-user "SIP access cut at" (the hook for Kamailio, issue 11). */
  sipAccess: SipAccessLedger;
  /** Pushes those cuts to Kamailio (sip.kamailioControlUrl), or null when not configured. */
  kamailioAccess: KamailioAccessPush | null;
  /** Queues per campaign (server/sip/queue.ts): callers waiting for an operator, announcements. */
  queues: CallQueues;
  /** Audit of refusals an unauthenticated caller can repeat at will, coalesced (auth/audit-coalesce.ts). */
  securityAudit: CoalescedAudit;
  /** Audit of refused route permissions, coalesced per org, user and route (auth/authz-audit.ts). */
  authzAudit: AuthzAudit;
  /** Recordings: index, playback, retention (server/recordings/service.ts). */
  recordings: RecordingsService;
  /** The recorder (server/recordings/capture.ts): null without a KEK or an rtpengine. */
  recorder: Recorder | null;
  /** Security alerts: live pushes and the webhook worker (server/alerts/service.ts). */
  alerts: AlertService;
  /** The audit chain verified in the background, a bounded step a minute (server/audit/chain-status.ts). */
  chainVerifier: ChainVerifier;
}

/** The JWT secret: from config, else generated once and kept in the database. */
async function jwtSecret(db: Db, config: GatewayConfig, clock: Clock): Promise<string> {
  if (config.jwt.secret) return config.jwt.secret;
  const existing = await db.selectFrom('gateway_keys').select('value').where('name', '=', 'jwt_hs256').executeTakeFirst();
  if (existing) return existing.value;
  await db
    .insertInto('gateway_keys')
    .values({ name: 'jwt_hs256', value: randomBytes(48).toString('base64url'), created_at: clock.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('gateway_keys').select('value').where('name', '=', 'jwt_hs256').executeTakeFirstOrThrow();
  return row.value;
}

export async function createContext(db: Db, config: GatewayConfig, clock: Clock): Promise<GatewayContext> {
  // The watchdog's view of the engines: rtpengine's live calls (ng `list`), when one is configured.
  const [ngHost, ngPort] = config.sip.rtpengineNg ? config.sip.rtpengineNg.split(':') : [];
  const ng = ngHost && ngPort ? new NgClient(ngHost, Number(ngPort), { timeoutMs: 1000, retries: 2 }) : null;
  // several rtpengines: the watchdog sees the calls of all of them, supervision reaches the right one
  const mediaNodes = config.sip.rtpengineNodes?.length ? new MediaNodes(db, config.sip.rtpengineNodes) : null;
  const liveCalls = mediaNodes ? () => mediaNodes.liveCalls(rtpengineLiveCalls) : ng ? () => rtpengineLiveCalls(ng) : null;
  // the bus between gateway instances (server/bus/event-bus.ts): sessions, agents, board, supervision
  const bus = new DurableBus(db, { listenUrl: config.databaseUrl });
  await bus.start();
  const agents = new AgentRegistry(db, clock, bus, liveCalls);
  const sessionEvents = new DurableSessionEvents(bus);
  const sipAccess = new SipAccessLedger(db, sessionEvents, () => clock.now(), async (userId, except) => {
    // `except`: the event is published inside the revoking transaction, maybe not committed yet
    let q = db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).where('absolute_expires_at', '>', clock.now());
    if (except.length) q = q.where('id', 'not in', except);
    const row = await q.limit(1).executeTakeFirst();
    return row !== undefined;
  });
  const controlUrl = config.sip.kamailioControlUrl;
  const kamailioAccess = controlUrl && config.sip.routeSecret ? new KamailioAccessPush({ db, config, clock, sessionEvents, sipAccess }, controlUrl) : null;
  const secret = await jwtSecret(db, config, clock);
  const recordings = new RecordingsService(db, clock, config, secret, bus.origin);
  const recEngines = new SupervisionEngines(config.sip.rtpengineNg, mediaNodes);
  const recorder = recordings.keys && recEngines.configured
    ? new Recorder(db, clock, agents, recordings, { forCall: (callId) => recEngines.forNewSession(callId), close: () => recEngines.close() }, config.recordings.recorderAddress, bus)
    : null;
  const ctx: GatewayContext = {
    db,
    config,
    clock,
    hasher: new PasswordHasher(config.argon2, config.passwordHashing),
    accessTokens: new AccessTokens(secret, config.jwt.issuer, config.jwt.audience, clock),
    authBuckets: new TokenBuckets(db, clock, config.authRateLimit.capacity, config.authRateLimit.refillPerMinute),
    ipFailures: new FailureWindow(db, clock, config.ipFailureLimit.maxFailures, config.ipFailureLimit.windowMinutes * 60_000),
    trustedProxies: config.trustedProxies.map(parseRange),
    bus,
    agents,
    supervision: new SupervisionService(db, clock, agents, bus, config.sip.rtpengineNg, mediaNodes),
    mediaNodes,
    cards: new CardPushes(bus),
    sessionEvents,
    sipAccess,
    kamailioAccess,
    securityAudit: new CoalescedAudit(db, clock),
    authzAudit: new AuthzAudit(db, clock),
    queues: null as unknown as CallQueues,
    recordings,
    recorder,
    alerts: new AlertService(db, clock, bus, config.webhooks),
    chainVerifier: new ChainVerifier(db, clock, 60_000, reportBackgroundFailure),
  };
  ctx.queues = new CallQueues(ctx);
  return ctx;
}
