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
// Several instances (issue 14): a session and its legs are rows (server/supervision/store.ts)
// that record which rtpengine holds them; any instance serves the lead's next request, and the
// one that claims the end (one UPDATE) tears the legs down and audits it, once. Messages for
// the users' sockets go over the bus to whichever instance holds them (./sockets.ts).
import { randomUUID } from 'node:crypto';
import { reportBackgroundFailure } from '../background';
import type { DurableBus } from '../bus/event-bus';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { GatewayError } from '../errors';
import { orgPolicy } from '../policy';
import { actorOf, type Principal } from '../auth/principal-type';
import type { AgentRegistry } from '../sip/agents';
import { Board } from './board';
import { BoardStatsFeed } from './board-stats';
import { SupervisionEngines } from './engines';
import { NgError, type Bencodable } from './ng';
import type { MediaNodes } from '../sip/media-nodes';
import { SupervisionRules } from './rules';
import { SUBSCRIBER, WEBRTC, subscriberOffer } from './sdp';
import { SupervisionSockets, type ClientSocket } from './sockets';
import { SupervisionStore, type EndReason, type SupervisionRow } from './store';
import type { BoardOperator, SupervisionMode, SupervisionView } from '../../shared/gateway/supervision';

export { iceLite } from './sdp';
export type { ClientSocket } from './sockets';

const OPERATOR_ANSWER_WAIT_MS = 5_000;
const POLL_MS = 1_000;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export class SupervisionService {
  private readonly store: SupervisionStore;
  private readonly sockets: SupervisionSockets;
  private readonly boardOf: Board;
  readonly statsFeed: BoardStatsFeed; // the queue statistics on the board (issue 15)
  private readonly rules: SupervisionRules;
  private readonly engines: SupervisionEngines;
  private poller: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly agents: AgentRegistry,
    bus: DurableBus,
    /** This instance's rtpengine (host:port) for new sessions; absent: no supervision started here. */
    ngAddress: string | undefined,
    /** Several rtpengines (server/sip/media-nodes.ts): a new session goes to the one holding the call. */
    mediaNodes: MediaNodes | null = null,
  ) {
    this.engines = new SupervisionEngines(ngAddress, mediaNodes);
    this.store = new SupervisionStore(db);
    this.sockets = new SupervisionSockets(db, clock, bus, this.store);
    this.boardOf = new Board(db, clock, agents, bus);
    this.statsFeed = new BoardStatsFeed(db, clock, (p) => this.boardOf.visibleOperators(p));
    this.rules = new SupervisionRules(db, clock, this.boardOf, (a) => this.engines.engine(a));
    // every instance with an engine polls every live session (any instance's): a gone instance's legs still end
    if (this.engines.configured) {
      this.poller = setInterval(() => void this.poll(), POLL_MS);
      this.poller.unref();
    }
  }

  // ------------------------------------------------------------------ sockets and board
  attach(socket: ClientSocket): () => void {
    return this.sockets.attach(socket);
  }

  setRegistration(userId: string, state: NonNullable<BoardOperator['registration']>): void {
    void this.sockets.setRegistration(userId, state).catch((err: unknown) => reportBackgroundFailure('supervision: storing a registration', err));
  }

  touch(userId: string): void {
    this.boardOf.touch(userId);
  }

  /** The operator is on this lead's board (the board's one rule: their teams' leads; users:read: the org). */
  mayLead(p: Principal, operatorId: string): Promise<boolean> {
    return this.rules.mayHear(p, operatorId);
  }

  board(p: Principal): Promise<BoardOperator[]> {
    return this.boardOf.board(p);
  }

  async subscribeBoard(current: () => Principal | null, send: (m: Record<string, unknown>) => void): Promise<() => void> {
    const off = await this.boardOf.subscribe(current, send);
    const offStats = await this.statsFeed.subscribe(current, send); // after the snapshot, then on its cadence
    return () => (off(), offStats());
  }

  /** The board's shared reads and the changes they covered (one read per batch, not per socket: tests, the bench). */
  get boardStats(): { readonly reads: number; readonly changes: number } {
    return this.boardOf.stats;
  }

  private async command(s: SupervisionRow, cmd: string, args: Record<string, Bencodable>): Promise<Record<string, unknown>> {
    return this.engines.engine(s.rtpengine).command(cmd, { 'call-id': s.call_id, ...args });
  }

  private view(s: SupervisionRow, extra: Partial<SupervisionView> = {}): SupervisionView {
    return { supervisionId: s.id, callId: s.call_id, operatorId: s.operator_id, mode: s.mode, operatorConnected: s.operator_connected, ...extra };
  }

  private async own(p: Principal, id: string): Promise<SupervisionRow> {
    const s = await this.store.live(id);
    if (!s || s.lead_id !== p.userId) throw new GatewayError('not_found', 'no such supervision');
    return s;
  }

  // ------------------------------------------------------------------ start / switch / stop
  async start(p: Principal, callId: string): Promise<SupervisionView> {
    const { address, ng } = await this.engines.forNewSession(callId);
    const call = await this.db
      .selectFrom('calls')
      .innerJoin('users', 'users.id', 'calls.operator_id')
      .select(['calls.operator_id', 'calls.status', 'calls.ended_at', 'users.username'])
      .where('calls.org_id', '=', p.orgId)
      .where('calls.sip_call_id', '=', callId)
      .orderBy('calls.ringing_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!call?.operator_id) return this.rules.refuse(p, callId, null, 'unknown_call', new GatewayError('not_found', 'no such call'));
    if (!(await this.rules.mayHear(p, call.operator_id))) {
      return this.rules.refuse(p, callId, call.operator_id, 'not_in_team', new GatewayError('forbidden', 'this operator is not in a team you lead'));
    }
    const agent = await this.agents.get(call.operator_id);
    const tags = call.status === 'ended' || call.ended_at || agent?.state !== 'on_call' ? null : await this.rules.dialogueTags(address, callId);
    if (!tags) return this.rules.refuse(p, callId, call.operator_id, 'not_live', new GatewayError('conflict', 'this call is not live'));
    for (const existing of await this.store.liveOfCall(callId, p.userId)) await this.teardown(existing, 'stopped', p);

    const sub = await ng.command('subscribe request', { 'call-id': callId, 'from-tags': tags, ...SUBSCRIBER });
    const toTag = str(sub['to-tag']);
    const listenOffer = subscriberOffer(await this.rules.rtpSdp(sub, 'the listening connection'));
    if (!toTag) throw new GatewayError('internal_error', 'rtpengine gave no to-tag');
    const lead = actorOf(p) as { userId: string; username: string };
    const s: SupervisionRow = {
      id: randomUUID(), org_id: p.orgId, lead_id: lead.userId, lead_username: lead.username, operator_id: call.operator_id, operator_username: call.username,
      call_id: callId, mode: 'monitor', rtpengine: address, listen_to_tag: toTag, publish_tag: null, operator_leg_id: null, operator_to_tag: null,
      operator_offer: null, operator_connected: false, started_at: this.clock.now(), ended_at: null, end_reason: null,
    };
    await this.store.insert(s);
    await this.rules.audit('supervision.started', { orgId: p.orgId, lead, sourceIp: p.sourceIp, deviceId: p.deviceId }, { operatorId: s.operator_id, callId, mode: 'monitor', supervisionId: s.id });
    // the lead is now with the operator: a raised hand counts as acknowledged by them (audited
    // agent.hand_acknowledged, cause supervision; no hand up: nothing happens)
    if (agent?.model.hand && !agent.model.hand.acknowledgedBy) {
      const who = { userId: s.operator_id, orgId: p.orgId, username: call.username };
      await this.agents
        .apply(who, { type: 'acknowledgeHand', byLead: { userId: p.userId, username: p.username, displayName: p.displayName }, viaSupervision: true }, { source: { sourceIp: p.sourceIp, deviceId: p.deviceId } })
        .catch((err: unknown) => reportBackgroundFailure("supervision: acknowledging the operator's raised hand", err));
    }
    return this.view(s, { listenOffer });
  }

  async listenAnswer(p: Principal, id: string, sdp: string): Promise<SupervisionView> {
    const s = await this.own(p, id);
    await this.command(s, 'subscribe answer', { 'to-tag': s.listen_to_tag, sdp });
    return this.view(s);
  }

  async switchMode(p: Principal, id: string, mode: SupervisionMode, publishOffer: string | undefined): Promise<SupervisionView> {
    let s = await this.own(p, id);
    const from = s.mode;
    if (mode === 'barge' && (await orgPolicy(this.db, s.org_id)).supervision.announce) {
      return this.rules.refuse(p, s.call_id, s.operator_id, 'announcement_required', new GatewayError('forbidden', 'org policy requires an announcement before barge (supervision.announce)'), 'barge');
    }
    if ((await this.rules.dialogueTags(s.rtpengine, s.call_id)) === null) {
      await this.teardown(s, 'call_ended');
      throw new GatewayError('conflict', 'this call is not live');
    }
    let publishAnswer: string | undefined;
    if (mode === 'monitor') {
      await this.closeOperatorLeg(s);
    } else if (!s.publish_tag) {
      if (!publishOffer) throw new GatewayError('validation_failed', 'publishOffer (the lead\'s sendonly SDP offer) is needed for whisper and barge');
      const tag = `lead-${s.id}`;
      const pub = await this.command(s, 'publish', { 'from-tag': tag, sdp: publishOffer, ...WEBRTC, DTLS: 'passive' });
      publishAnswer = await this.rules.rtpSdp(pub, 'the lead\'s published voice');
      await this.store.setPublishTag(s.id, tag);
      // Just published: the lead's connection is not up yet. The lead's page calls again once it
      // is (rtpengine sets up the operator's subscription reliably only for a flowing source).
    } else if (!s.operator_leg_id) {
      const sub = await this.command(s, 'subscribe request', { 'from-tag': s.publish_tag, ...SUBSCRIBER });
      const toTag = str(sub['to-tag']);
      const offer = subscriberOffer(await this.rules.rtpSdp(sub, 'the operator\'s whisper connection'));
      if (!toTag) throw new GatewayError('internal_error', 'rtpengine gave no to-tag');
      const legId = randomUUID();
      if (await this.store.openLeg(s.id, { legId, toTag, offer })) {
        const answered = this.sockets.answered(s.id, OPERATOR_ANSWER_WAIT_MS);
        this.sockets.signal({ supervisionId: s.id, userId: s.operator_id, type: 'supervisionOffer', legId, mode, reason: null });
        // wait for the operator's page only when their client is connected (to any instance)
        if (((await this.agents.get(s.operator_id))?.model.connections ?? 0) > 0) await answered;
      }
    } else {
      this.sockets.signal({ supervisionId: s.id, userId: s.operator_id, type: 'supervisionMode', legId: s.operator_leg_id, mode, reason: null });
    }
    await this.store.setMode(s.id, mode);
    s = (await this.store.byId(s.id)) ?? s;
    if (from !== mode) {
      await this.rules.audit('supervision.mode', { orgId: p.orgId, lead: { userId: s.lead_id, username: s.lead_username }, sourceIp: p.sourceIp, deviceId: p.deviceId }, { operatorId: s.operator_id, callId: s.call_id, mode, from, supervisionId: s.id });
    }
    return this.view(s, publishAnswer ? { publishAnswer } : {});
  }

  /** The operator's page answered the whisper connection: only the supervised operator's own socket counts. */
  async operatorAnswer(p: Principal, legId: string, sdp: string): Promise<boolean> {
    const s = await this.store.liveByLeg(legId);
    if (!s || !s.operator_to_tag || s.operator_id !== p.userId || s.operator_connected) return false;
    if (!(await this.store.markConnected(legId, true))) return false; // answered already (another socket, another instance)
    try {
      await this.command(s, 'subscribe answer', { 'to-tag': s.operator_to_tag, sdp });
    } catch (err) {
      await this.store.markConnected(legId, false);
      throw err;
    }
    this.sockets.signal({ supervisionId: s.id, userId: s.lead_id, type: 'operatorAnswered', legId, mode: null, reason: null });
    return true;
  }

  async stop(p: Principal, id: string): Promise<boolean> {
    await this.teardown(await this.own(p, id), 'stopped', p);
    return true;
  }

  private async closeOperatorLeg(s: SupervisionRow): Promise<void> {
    if (!s.operator_leg_id || !(await this.store.closeLeg(s.id, s.operator_leg_id))) return;
    this.sockets.signal({ supervisionId: s.id, userId: s.operator_id, type: 'supervisionStop', legId: s.operator_leg_id, mode: null, reason: null });
    await this.unsubscribe(s, s.operator_to_tag ?? '', 'operator leg');
  }

  /** Drops one subscription; a call rtpengine no longer knows took its subscriptions with it (not a failure). */
  private async unsubscribe(s: SupervisionRow, toTag: string, what: string): Promise<void> {
    await this.command(s, 'unsubscribe', { 'to-tag': toTag }).catch((err: unknown) => {
      if (err instanceof NgError && /unknown call/i.test(err.message)) return;
      reportBackgroundFailure(`supervision: unsubscribe ${what}`, err);
    });
  }

  /** Ends a session and its legs, once whichever instance asks (the end is claimed in the row). */
  private async teardown(s: SupervisionRow, reason: EndReason, by?: Principal): Promise<void> {
    const claimed = await this.store.claimEnd(s.id, reason, this.clock.now());
    if (!claimed) return;
    if (claimed.operator_leg_id) {
      this.sockets.signal({ supervisionId: s.id, userId: s.operator_id, type: 'supervisionStop', legId: claimed.operator_leg_id, mode: null, reason: null });
      await this.unsubscribe(claimed, claimed.operator_to_tag ?? '', 'operator leg');
    }
    await this.unsubscribe(claimed, claimed.listen_to_tag, 'listener');
    this.sockets.signal({ supervisionId: s.id, userId: s.lead_id, type: 'supervisionEnded', legId: null, mode: null, reason });
    await this.rules
      .audit(
        'supervision.stopped',
        { orgId: s.org_id, lead: { userId: s.lead_id, username: s.lead_username }, sourceIp: by?.sourceIp ?? null, deviceId: by?.deviceId ?? null },
        { operatorId: s.operator_id, callId: s.call_id, mode: claimed.mode, reason, supervisionId: s.id },
        !by,
      )
      .catch((err: unknown) => reportBackgroundFailure('supervision: audit of a teardown', err));
  }

  /** The call is over (Kamailio saw the BYE, or rtpengine forgot it): every leg of it goes, whichever instance started it. */
  async callEnded(callId: string): Promise<number> {
    const hit = await this.store.liveOfCall(callId);
    for (const s of hit) await this.teardown(s, 'call_ended');
    return hit.length;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const live = await this.store.allLive();
      const calls = new Map(live.map((s) => [`${s.rtpengine} ${s.call_id}`, s]));
      for (const s of calls.values()) {
        try {
          if ((await this.rules.dialogueTags(s.rtpengine, s.call_id)) === null) await this.callEnded(s.call_id);
        } catch (err) {
          // rtpengine unreachable or the teardown failed: this call is polled again next time
          reportBackgroundFailure('supervision: poll of a call', err);
        }
      }
    } catch (err) {
      reportBackgroundFailure('supervision: poll', err);
    } finally {
      this.polling = false;
    }
  }

  /** Every live session, whichever instance started it. */
  async active(): Promise<{ supervisionId: string; callId: string; mode: SupervisionMode; leadId: string; operatorId: string; rtpengine: string }[]> {
    return (await this.store.allLive()).map((s) => ({ supervisionId: s.id, callId: s.call_id, mode: s.mode, leadId: s.lead_id, operatorId: s.operator_id, rtpengine: s.rtpengine }));
  }

  /** Writes still running for closed sockets (shutdown). */
  idle(): Promise<void> {
    return this.sockets.idle();
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.boardOf.close();
    this.statsFeed.close();
    this.sockets.close();
    this.engines.close();
  }
}
