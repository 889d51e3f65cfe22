// Supervision, the gateway as the authority (ARCHITECTURE.md "Supervision"; the ng commands
// are the ones proven in telephony-notes.md). Per (lead, call) one supervision with a mode:
//   monitor  rtpengine `subscribe request` of both dialogue tags -> the lead's listening
//            connection (two m-lines). The operator's client is not involved at all.
//   whisper  + the lead `publish`es (tag lead-<id>); the operator's page subscribes to that
//            tag only, on a second, non-SIP connection signalled over the operator's own
//            authenticated /ws. Nobody subscribes the customer to it.
//   barge    = whisper, and the operator's page mixes the lead into what it sends the customer.
// Every start, switch, stop and refusal is audited (lead, operator, call, mode). Every leg is
// torn down when the call ends (Kamailio reports the BYE; an rtpengine `query` poll is the
// safety net) or the lead leaves.
import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/audit';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import { inScope, campaignScope } from '../crm/scope';
import type { Db } from '../db/schema';
import { GatewayError } from '../errors';
import { orgPolicy } from '../policy';
import { actorOf, parsePermissions, type Principal } from '../auth/principal-type';
import type { AgentRegistry } from '../sip/agents';
import type { NgCommander } from '../sip/media-nodes';
import { NgClient, NgError, type Bencodable } from './ng';
import { Sdp, type BoardOperator, type SupervisionMode, type SupervisionView } from '../../shared/gateway/supervision';

/** The WebRTC side of every supervision leg (Chromium: ICE, rtcp-mux, DTLS-SRTP). */
const WEBRTC: Record<string, Bencodable> = { 'transport-protocol': 'UDP/TLS/RTP/SAVPF', ICE: 'force', 'rtcp-mux': ['require'], SDES: ['off'] };
/**
 * Subscriptions make rtpengine an ICE-lite peer, so the browser is the one full (controlling)
 * agent and no role conflict can arise. With both full agents, rtpengine runs one ICE agent
 * (own tie-breaker) per m-line while Chromium has one role per RTCPeerConnection and honours
 * only its first role-conflict switch: on the two-m-line monitor offer (no BUNDLE) one
 * transport then drew "ICE role conflict" for every check and stayed in "checking" (one
 * party silent for ~1.2 s, or for good). rtpengine 10.5 acts lite but does not write
 * `a=ice-lite` into a subscription offer: `iceLite` adds it.
 */
const SUBSCRIBER: Record<string, Bencodable> = { ...WEBRTC, 'ICE-lite': 'forward' };

/** Declares the offer ICE-lite (session level) if rtpengine did not. */
export function iceLite(sdp: string): string {
  if (/^a=ice-lite\s*$/m.test(sdp)) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const m = sdp.indexOf(`${eol}m=`);
  return m < 0 ? sdp : `${sdp.slice(0, m + eol.length)}a=ice-lite${eol}${sdp.slice(m + eol.length)}`;
}

const OPERATOR_ANSWER_WAIT_MS = 5_000;
const POLL_MS = 1_000;

type Registration = BoardOperator['registration'];
export interface ClientSocket {
  principal: Principal;
  send(message: Record<string, unknown>): void;
}

interface Supervision {
  id: string;
  orgId: string;
  lead: { userId: string; username: string };
  operator: { userId: string; username: string };
  callId: string;
  mode: SupervisionMode;
  listenToTag: string;
  /** Set once the lead published (whisper/barge). */
  publishTag: string | null;
  /** The operator's whisper connection: leg id (what the operator's page knows) and rtpengine's to-tag. */
  operatorLeg: { legId: string; toTag: string; connected: boolean; waiter: (() => void) | null } | null;
  ended: boolean;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/** What decides a principal's board rows: its permissions and teams. */
const scopeKey = (p: Principal) => `${[...p.permissions].sort().join(',')}|${[...p.teamIds].sort().join(',')}`;

export class SupervisionService {
  private readonly sessions = new Map<string, Supervision>();
  private readonly sockets = new Map<string, Set<ClientSocket>>();
  private readonly registrations = new Map<string, Registration>();
  private readonly boardListeners = new Set<(userId: string) => void>();
  private readonly ng: NgCommander | null;
  private poller: NodeJS.Timeout | null = null;
  private unsubscribeAgents: () => void;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly agents: AgentRegistry,
    ngAddress: string | undefined,
    /** Several rtpengines: each command goes to the one holding the call (server/sip/media-nodes.ts). */
    mediaNodes: NgCommander | null = null,
  ) {
    const [host, port] = ngAddress ? ngAddress.split(':') : [];
    this.ng = mediaNodes ?? (host && port ? new NgClient(host, Number(port), { timeoutMs: 500, retries: 2 }) : null);
    this.unsubscribeAgents = agents.subscribe((c) => this.changed(c.userId));
  }

  // ------------------------------------------------------------------ sockets and board
  /** An authenticated /ws: supervision signalling and board pushes reach the user through it. */
  attach(socket: ClientSocket): () => void {
    const set = this.sockets.get(socket.principal.userId) ?? new Set();
    set.add(socket);
    this.sockets.set(socket.principal.userId, set);
    return () => {
      set.delete(socket);
      if (set.size === 0) {
        this.sockets.delete(socket.principal.userId);
        if (this.registrations.delete(socket.principal.userId)) this.changed(socket.principal.userId);
      }
    };
  }

  private push(userId: string, message: Record<string, unknown>): number {
    let n = 0;
    for (const s of this.sockets.get(userId) ?? []) {
      try {
        s.send(message);
        n++;
      } catch (err) {
        // a send to a socket that went away: the others still get the message
        reportBackgroundFailure('supervision: push to a socket', err);
      }
    }
    return n;
  }

  setRegistration(userId: string, state: NonNullable<Registration>): void {
    if (this.registrations.get(userId) === state) return;
    this.registrations.set(userId, state);
    this.changed(userId);
  }

  /** Something about this operator's call changed (routed, answered, ended): board update. */
  touch(userId: string): void {
    this.changed(userId);
  }

  private changed(userId: string): void {
    for (const l of this.boardListeners) {
      try {
        l(userId);
      } catch (err) {
        reportBackgroundFailure('supervision: board listener', err);
      }
    }
  }

  /** The operators a principal may see and supervise: their led teams' operators (users:read: the org). */
  private async visibleOperators(p: Principal, only?: string) {
    let q = this.db
      .selectFrom('users')
      .innerJoin('roles', 'roles.id', 'users.role_id')
      .select(['users.id', 'users.username', 'users.display_name', 'roles.permissions'])
      .where('users.org_id', '=', p.orgId)
      .where('users.disabled', '=', false)
      .where('users.id', '<>', p.userId);
    if (only) q = q.where('users.id', '=', only);
    if (!p.permissions.has('users:read')) {
      const led = this.db.selectFrom('team_members').select('team_id').where('user_id', '=', p.userId).where('member_role', '=', 'lead');
      q = q.where('users.id', 'in', this.db.selectFrom('team_members').select('user_id').where('team_id', 'in', led).where('member_role', '=', 'operator'));
    }
    const rows = await q.orderBy('users.username').execute();
    return rows.filter((r) => parsePermissions(r.permissions).includes('calls:handle'));
  }

  private async boardRow(p: Principal, r: { id: string; username: string; display_name: string }): Promise<BoardOperator> {
    const a = await this.agents.get(r.id);
    const teams = await this.db.selectFrom('team_members').select('team_id').where('user_id', '=', r.id).where('member_role', '=', 'operator').execute();
    let call: BoardOperator['call'] = null;
    if (a && (a.state === 'on_call' || a.state === 'wrap_up')) {
      const row = await this.db
        .selectFrom('calls as t')
        .leftJoin('campaigns as c', 'c.id', 't.campaign_id')
        .select(['t.sip_call_id', 't.campaign_id', 'c.name as campaign_name', 't.status', 't.ringing_at', 't.answered_at', 't.customer_id', 't.direction'])
        .where('t.operator_id', '=', r.id)
        .where('t.org_id', '=', p.orgId)
        .where('t.ended_at', 'is', null)
        .where('t.status', '<>', 'ended')
        .where('t.ringing_at', '>', new Date(this.clock.now().getTime() - 12 * 3600_000))
        .orderBy('t.ringing_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (row && a.state === 'on_call') {
        // The customer's name only where the call's campaign is in the lead's campaign scope (SQL, as everywhere).
        const named = row.customer_id
          ? await this.db
              .selectFrom('calls as t')
              .innerJoin('customers as k', 'k.id', 't.customer_id')
              .select('k.name_kanji')
              .where('t.sip_call_id', '=', row.sip_call_id)
              .where('t.operator_id', '=', r.id)
              .where(inScope(campaignScope(p), 't'))
              .executeTakeFirst()
          : undefined;
        call = {
          callId: row.sip_call_id,
          campaignId: row.campaign_id,
          campaignName: row.campaign_name ?? null,
          direction: row.direction,
          status: row.status === 'answered' || row.answered_at ? 'answered' : 'ringing',
          since: (row.answered_at ?? row.ringing_at).toISOString(),
          customerName: named?.name_kanji ?? null,
        };
      }
    }
    return {
      userId: r.id,
      username: r.username,
      displayName: r.display_name,
      teamIds: teams.map((t) => t.team_id).sort(),
      state: a?.state ?? 'offline',
      reason: a?.reason ?? null,
      since: a ? a.since.toISOString() : null,
      registration: this.registrations.get(r.id) ?? null,
      call,
    };
  }

  async board(p: Principal): Promise<BoardOperator[]> {
    const rows = await this.visibleOperators(p);
    return Promise.all(rows.map((r) => this.boardRow(p, r)));
  }

  /**
   * Pushes a snapshot now and an update for every change of a visible operator; returns the
   * unsubscribe. `current` is the subscriber's principal as of the moment (the /ws keeps it
   * current from session events and re-validation, and answers null once the socket may no
   * longer be served or lost team:supervise): it is asked before every push and after every
   * await, so nothing is sent for a principal that ended. Which operators are visible is read
   * again whenever the principal changes (new teams, new permissions), and each update's row
   * is read from the database at push time, so a lead moved off a team stops getting its rows.
   */
  async subscribeBoard(current: () => Principal | null, send: (m: Record<string, unknown>) => void): Promise<() => void> {
    let scopeOf: Principal | null = null;
    let visible = new Set<string>();
    const visibleFor = async (p: Principal) => {
      if (scopeOf !== p) {
        visible = new Set((await this.visibleOperators(p)).map((r) => r.id));
        scopeOf = p;
      }
      return visible;
    };
    let active = true;
    const listener = (userId: string) => {
      if (!active || !current()) return;
      void (async () => {
        const p = current();
        if (!p || !(await visibleFor(p)).has(userId)) return;
        const [r] = await this.visibleOperators(p, userId);
        if (!r) return;
        const row = await this.boardRow(p, r);
        const now = current();
        if (active && now && scopeKey(now) === scopeKey(p)) send({ type: 'boardUpdate', operator: row });
      })().catch((err: unknown) => reportBackgroundFailure('supervision: board update', err));
    };
    this.boardListeners.add(listener);
    const p = current();
    if (p) {
      await visibleFor(p);
      const operators = await this.board(p);
      const now = current();
      if (active && now && scopeKey(now) === scopeKey(p)) send({ type: 'board', operators });
    }
    return () => {
      active = false;
      this.boardListeners.delete(listener);
    };
  }

  // ------------------------------------------------------------------ audit
  private async audit(
    action: 'supervision.started' | 'supervision.mode' | 'supervision.stopped' | 'supervision.refused',
    p: { orgId: string; lead: { userId: string; username: string }; sourceIp?: string | null; deviceId?: string | null },
    detail: { operatorId: string | null; callId: string; mode?: SupervisionMode | null; [k: string]: unknown },
    byGateway = false,
  ): Promise<void> {
    await this.db.transaction().execute((tx) =>
      appendAudit(tx, this.clock, {
        action,
        orgId: p.orgId,
        actor: byGateway ? null : p.lead,
        target: detail.operatorId ? { type: 'user', id: detail.operatorId } : null,
        sourceIp: p.sourceIp ?? null,
        deviceId: p.deviceId ?? null,
        detail: { leadId: p.lead.userId, lead: p.lead.username, ...detail },
      }),
    );
  }

  private async refuse(p: Principal, callId: string, operatorId: string | null, reason: string, error: GatewayError, mode: SupervisionMode | null = 'monitor'): Promise<never> {
    await this.audit('supervision.refused', { orgId: p.orgId, lead: actorOf(p), sourceIp: p.sourceIp, deviceId: p.deviceId }, { operatorId, callId, mode, reason });
    throw error;
  }

  // ------------------------------------------------------------------ rules
  /** The lead leads a team the operator is an operator of; `users:read` (admins): anyone in the org. */
  private async mayHear(p: Principal, operatorId: string): Promise<boolean> {
    if (operatorId === p.userId) return false;
    return (await this.visibleOperators(p, operatorId)).length === 1;
  }

  /** The call's dialogue tags per rtpengine `query` (offer/answer pairs), or null when rtpengine knows no live call. */
  private async dialogueTags(callId: string): Promise<string[] | null> {
    const ng = this.need();
    let q: Record<string, unknown>;
    try {
      q = await ng.command('query', { 'call-id': callId });
    } catch (e) {
      if (e instanceof NgError && /unknown call/i.test(e.message)) return null;
      throw e;
    }
    const tags = q.tags && typeof q.tags === 'object' ? (q.tags as Record<string, { subscriptions?: unknown }>) : {};
    const out = Object.entries(tags)
      .filter(([, t]) => Array.isArray(t?.subscriptions) && t.subscriptions.some((s: { type?: unknown }) => s?.type === 'offer/answer'))
      .map(([tag]) => tag)
      .filter((t) => !t.startsWith('lead-'));
    return out.length >= 2 ? out.sort() : null;
  }

  private need(): NgCommander {
    if (!this.ng) throw new GatewayError('not_found', 'supervision is not configured on this gateway (sip.rtpengineNg)');
    return this.ng;
  }

  private async rtpSdp(answer: Record<string, unknown>, what: string): Promise<string> {
    const sdp = Sdp.safeParse(answer.sdp);
    if (!sdp.success) throw new GatewayError('internal_error', `rtpengine gave no usable SDP for ${what}`);
    return sdp.data;
  }

  private view(s: Supervision, extra: Partial<SupervisionView> = {}): SupervisionView {
    return { supervisionId: s.id, callId: s.callId, operatorId: s.operator.userId, mode: s.mode, operatorConnected: !!s.operatorLeg?.connected, ...extra };
  }

  private own(p: Principal, id: string): Supervision {
    const s = this.sessions.get(id);
    if (!s || s.ended || s.lead.userId !== p.userId) throw new GatewayError('not_found', 'no such supervision');
    return s;
  }

  // ------------------------------------------------------------------ start / switch / stop
  async start(p: Principal, callId: string): Promise<SupervisionView> {
    this.need();
    const call = await this.db
      .selectFrom('calls')
      .innerJoin('users', 'users.id', 'calls.operator_id')
      .select(['calls.operator_id', 'calls.status', 'calls.ended_at', 'users.username'])
      .where('calls.org_id', '=', p.orgId)
      .where('calls.sip_call_id', '=', callId)
      .orderBy('calls.ringing_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!call) return this.refuse(p, callId, null, 'unknown_call', new GatewayError('not_found', 'no such call'));
    if (!(await this.mayHear(p, call.operator_id))) {
      return this.refuse(p, callId, call.operator_id, 'not_in_team', new GatewayError('forbidden', 'this operator is not in a team you lead'));
    }
    const agent = await this.agents.get(call.operator_id);
    const tags = call.status === 'ended' || call.ended_at || agent?.state !== 'on_call' ? null : await this.dialogueTags(callId);
    if (!tags) return this.refuse(p, callId, call.operator_id, 'not_live', new GatewayError('conflict', 'this call is not live'));
    const existing = [...this.sessions.values()].find((s) => !s.ended && s.lead.userId === p.userId && s.callId === callId);
    if (existing) await this.teardown(existing, 'stopped', p);

    const sub = await this.need().command('subscribe request', { 'call-id': callId, 'from-tags': tags, ...SUBSCRIBER });
    const toTag = str(sub['to-tag']);
    const listenOffer = iceLite(await this.rtpSdp(sub, 'the listening connection'));
    if (!toTag) throw new GatewayError('internal_error', 'rtpengine gave no to-tag');
    const s: Supervision = {
      id: randomUUID(), orgId: p.orgId, lead: actorOf(p) as { userId: string; username: string },
      operator: { userId: call.operator_id, username: call.username }, callId, mode: 'monitor', listenToTag: toTag,
      publishTag: null, operatorLeg: null, ended: false,
    };
    this.sessions.set(s.id, s);
    this.ensurePoller();
    await this.audit('supervision.started', { orgId: p.orgId, lead: s.lead, sourceIp: p.sourceIp, deviceId: p.deviceId }, { operatorId: s.operator.userId, callId, mode: 'monitor', supervisionId: s.id });
    return this.view(s, { listenOffer });
  }

  async listenAnswer(p: Principal, id: string, sdp: string): Promise<SupervisionView> {
    const s = this.own(p, id);
    await this.need().command('subscribe answer', { 'call-id': s.callId, 'to-tag': s.listenToTag, sdp });
    return this.view(s);
  }

  async switchMode(p: Principal, id: string, mode: SupervisionMode, publishOffer: string | undefined): Promise<SupervisionView> {
    const s = this.own(p, id);
    const ng = this.need();
    const from = s.mode;
    if (mode === 'barge' && (await orgPolicy(this.db, s.orgId)).supervision.announce) {
      return this.refuse(p, s.callId, s.operator.userId, 'announcement_required', new GatewayError('forbidden', 'org policy requires an announcement before barge (supervision.announce)'), 'barge');
    }
    if ((await this.dialogueTags(s.callId)) === null) {
      await this.teardown(s, 'call_ended');
      throw new GatewayError('conflict', 'this call is not live');
    }
    let publishAnswer: string | undefined;
    if (mode === 'monitor') {
      await this.closeOperatorLeg(s);
    } else {
      if (!s.publishTag) {
        if (!publishOffer) throw new GatewayError('validation_failed', 'publishOffer (the lead\'s sendonly SDP offer) is needed for whisper and barge');
        const tag = `lead-${s.id}`;
        const pub = await ng.command('publish', { 'call-id': s.callId, 'from-tag': tag, sdp: publishOffer, ...WEBRTC, DTLS: 'passive' });
        publishAnswer = await this.rtpSdp(pub, 'the lead\'s published voice');
        s.publishTag = tag;
      }
      if (publishAnswer) {
        // Just published: the lead's connection is not up yet. The lead's page calls again once it
        // is (rtpengine sets up the operator's subscription reliably only for a flowing source).
      } else if (!s.operatorLeg) {
        const sub = await ng.command('subscribe request', { 'call-id': s.callId, 'from-tag': s.publishTag, ...SUBSCRIBER });
        const toTag = str(sub['to-tag']);
        const offer = iceLite(await this.rtpSdp(sub, 'the operator\'s whisper connection'));
        if (!toTag) throw new GatewayError('internal_error', 'rtpengine gave no to-tag');
        const leg: NonNullable<Supervision['operatorLeg']> = { legId: randomUUID(), toTag, connected: false, waiter: null };
        s.operatorLeg = leg;
        const answered = new Promise<void>((resolve) => {
          leg.waiter = resolve;
          setTimeout(resolve, OPERATOR_ANSWER_WAIT_MS).unref();
        });
        if (this.push(s.operator.userId, { type: 'supervisionOffer', legId: leg.legId, sdp: offer, mode }) > 0) await answered;
      } else {
        this.push(s.operator.userId, { type: 'supervisionMode', legId: s.operatorLeg.legId, mode });
      }
    }
    s.mode = mode;
    if (from !== mode) {
      await this.audit('supervision.mode', { orgId: p.orgId, lead: s.lead, sourceIp: p.sourceIp, deviceId: p.deviceId }, { operatorId: s.operator.userId, callId: s.callId, mode, from, supervisionId: s.id });
    }
    return this.view(s, publishAnswer ? { publishAnswer } : {});
  }

  /** The operator's page answered the whisper connection: only the supervised operator's own socket counts. */
  async operatorAnswer(p: Principal, legId: string, sdp: string): Promise<boolean> {
    const s = [...this.sessions.values()].find((x) => !x.ended && x.operatorLeg?.legId === legId);
    if (!s || !s.operatorLeg || s.operator.userId !== p.userId || s.operatorLeg.connected) return false;
    await this.need().command('subscribe answer', { 'call-id': s.callId, 'to-tag': s.operatorLeg.toTag, sdp });
    s.operatorLeg.connected = true;
    s.operatorLeg.waiter?.();
    return true;
  }

  async stop(p: Principal, id: string): Promise<boolean> {
    const s = this.own(p, id);
    await this.teardown(s, 'stopped', p);
    return true;
  }

  private async closeOperatorLeg(s: Supervision): Promise<void> {
    const leg = s.operatorLeg;
    if (!leg) return;
    s.operatorLeg = null;
    leg.waiter?.();
    this.push(s.operator.userId, { type: 'supervisionStop', legId: leg.legId });
    await this.ng?.command('unsubscribe', { 'call-id': s.callId, 'to-tag': leg.toTag }).catch((err: unknown) => reportBackgroundFailure('supervision: unsubscribe operator leg', err));
  }

  private async teardown(s: Supervision, reason: 'stopped' | 'call_ended' | 'operator_left', by?: Principal): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    this.sessions.delete(s.id);
    await this.closeOperatorLeg(s);
    await this.ng?.command('unsubscribe', { 'call-id': s.callId, 'to-tag': s.listenToTag }).catch((err: unknown) => reportBackgroundFailure('supervision: unsubscribe listener', err));
    this.push(s.lead.userId, { type: 'supervisionEnded', supervisionId: s.id, reason });
    await this.audit(
      'supervision.stopped',
      { orgId: s.orgId, lead: s.lead, sourceIp: by?.sourceIp ?? null, deviceId: by?.deviceId ?? null },
      { operatorId: s.operator.userId, callId: s.callId, mode: s.mode, reason, supervisionId: s.id },
      !by,
    ).catch((err: unknown) => reportBackgroundFailure('supervision: audit of a teardown', err));
  }

  /** The call is over (Kamailio saw the BYE, or rtpengine forgot it): every leg of it goes. */
  async callEnded(callId: string): Promise<number> {
    const hit = [...this.sessions.values()].filter((s) => s.callId === callId && !s.ended);
    for (const s of hit) await this.teardown(s, 'call_ended');
    return hit.length;
  }

  private ensurePoller(): void {
    if (this.poller) return;
    // The poll contains its own failures: a rejected poll is logged and the next one runs.
    this.poller = setInterval(() => void this.poll().catch((err: unknown) => reportBackgroundFailure('supervision: poll', err)), POLL_MS);
    this.poller.unref();
  }

  private async poll(): Promise<void> {
    const calls = new Set([...this.sessions.values()].filter((s) => !s.ended).map((s) => s.callId));
    if (calls.size === 0 && this.poller) {
      clearInterval(this.poller);
      this.poller = null;
      return;
    }
    for (const callId of calls) {
      try {
        const tags = await this.dialogueTags(callId);
        if (tags === null) await this.callEnded(callId);
      } catch (err) {
        // rtpengine unreachable or the teardown failed: this call is polled again next time
        reportBackgroundFailure('supervision: poll of a call', err);
      }
    }
  }

  active(): { supervisionId: string; callId: string; mode: SupervisionMode; leadId: string; operatorId: string }[] {
    return [...this.sessions.values()].map((s) => ({ supervisionId: s.id, callId: s.callId, mode: s.mode, leadId: s.lead.userId, operatorId: s.operator.userId }));
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.unsubscribeAgents();
    this.boardListeners.clear();
    this.ng?.close();
  }
}
