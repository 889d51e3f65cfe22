// The recorder (docs/telephony.md "Recordings"): no rtpengine kernel module, no pcap files.
// When the operator model says an operator's call is answered (AgentRegistry listener: the one
// path every answer takes) and the call's campaign records (mode "all", or "on_demand" once
// someone asks), the recorder asks the rtpengine holding the call (MediaNodes, else sip.rtpengineNg)
// for a `subscribe request` of the two dialogue parties (customer, operator) as plain RTP/AVP
// toward two UDP sockets it owns, one per party; a lead's published whisper tag (lead-*) is
// never subscribed. G.711 is decoded in memory, placed by RTP timestamp (loss -> silence, a
// late packet is dropped), interleaved into stereo (left customer, right operator) and handed
// to the encrypted writer (./format.ts): no plaintext reaches the disk; DTMF is silenced on the
// way (./dtmf.ts). The call's end (the model's `ended`, whatever reported it: BYE, watchdog,
// sign-out, on whichever instance) unsubscribes and seals it. Secure capture and on demand work
// from any instance (the bus topic `recording`; docs "Recordings across instances").
import type { Socket } from 'node:dgram';
import type { Principal } from '../auth/principal-type';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { EventBus } from '../bus/event-bus';
import type { TopicPayload } from '../bus/topics';
import type { Db } from '../db/schema';
import { GatewayError } from '../errors';
import type { AgentRegistry } from '../sip/agents';
import type { AgentChange } from '../sip/agent-types';
import type { NgClient } from '../supervision/ng';
import { interleave, SAMPLE_RATE } from './audio';
import { Channel, RING } from './channel';
import { answerSdp, bindRtpSocket, offerMedia, partyTags } from './subscribe-sdp';
import type { ActiveRecording, RecordingsService } from './service';

export { Channel } from './channel';
export { answerSdp, offerMedia } from './subscribe-sdp';

/** How far behind real time the stereo stream is written: room for jitter and reordering. */
const LATENCY_SAMPLES = SAMPLE_RATE / 5; // 200 ms
/** The longest the writer waits for a party's packets (then silence); well inside RING. */
const MAX_LAG_SAMPLES = SAMPLE_RATE;
const TICK_MS = 20;

export interface RecorderEngines {
  /** The rtpengine holding the call. */
  forCall(callId: string): Promise<{ address: string; ng: NgClient }>;
  /** Closes the ng clients kept for the recorder (shutdown). */
  close?(): void;
}

interface Session {
  key: string;
  callId: string;
  operatorId: string;
  address: string;
  ng: NgClient;
  toTag: string | null;
  sockets: Socket[];
  channels: [Channel, Channel];
  active: ActiveRecording;
  t0: number;
  /** Date.now() at t0: a secure-capture press from another instance carries its wall-clock time. */
  wallT0: number;
  flushed: number;
  timer: NodeJS.Timeout;
  ending: Promise<void> | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export class Recorder {
  private readonly sessions = new Map<string, Session>();
  private unsubscribe: (() => void) | null = null;
  private unsubscribeBus: (() => void) | null = null;
  /** Calls asked to be recorded on demand before they were answered (sip call id + operator). */
  readonly stats = { started: 0, finished: 0, failed: 0 };

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly agents: AgentRegistry,
    private readonly service: RecordingsService,
    private readonly engines: RecorderEngines,
    private readonly address: string,
    private readonly bus: EventBus,
  ) {}

  /** This instance (the bus origin), named in the rows it captures. */
  get instance(): string {
    return this.bus.origin;
  }

  start(): void {
    this.unsubscribe ??= this.agents.subscribe((c) => this.heard(c));
    this.unsubscribeBus ??= this.bus.subscribe('recording', (m) => this.pressed(m));
  }

  /**
   * An answer made through this instance starts the recording here (the instance that made the
   * step records it). Every change of an operator whose call is recorded here, whichever
   * instance made it (a remote change carries the state, not the transitions), ends the
   * recording once the call is no longer live in the operator's state.
   */
  private heard(c: AgentChange): void {
    if (!c.remote) {
      for (const t of c.transitions) {
        if (t.subject !== 'call' || !t.callId) continue;
        if (t.to === 'answered' && (t.from === 'ringing' || t.from === 'offered')) {
          void this.maybeRecord(c.orgId, c.userId, t.callId, false).catch((err: unknown) => reportBackgroundFailure('recordings: starting a recording', err));
        }
      }
    }
    for (const s of this.sessions.values()) {
      if (s.operatorId !== c.userId || s.ending) continue;
      if (!c.state.calls.some((x) => x.callId === s.callId && x.state !== 'ended' && x.state !== 'wrapped_up')) {
        void this.stop(s.callId, s.operatorId).catch((err: unknown) => reportBackgroundFailure('recordings: ending a recording', err));
      }
    }
  }

  /** A secure-capture press (from any instance, this one included) for a recording captured here: blank from the press's time. */
  private pressed(m: TopicPayload<'recording'>): void {
    if (m.instance !== this.instance) return;
    const s = [...this.sessions.values()].find((x) => x.active.id === m.recordingId);
    if (!s) return;
    // the press's wall-clock time on this recording's timeline, never past "now" (a clock ahead)
    const at = Math.min(this.nowSamples(s), Math.max(0, Math.floor(((m.atMs - s.wallT0) * SAMPLE_RATE) / 1000)));
    if (m.paused) s.active.pause(at);
    else s.active.resume(at);
  }

  /** Starts recording the operator's answered call if its campaign records (`onDemand`: asked for). */
  async maybeRecord(orgId: string, operatorId: string, callId: string, onDemand: boolean): Promise<boolean> {
    const key = `${operatorId} ${callId}`;
    if (this.sessions.has(key)) return true;
    const call = await this.db
      .selectFrom('calls as c')
      .leftJoin('campaigns as k', 'k.id', 'c.campaign_id')
      .select(['c.id', 'c.org_id', 'c.sip_call_id', 'c.campaign_id', 'c.operator_id', 'c.status', 'k.recording_mode'])
      .where('c.org_id', '=', orgId)
      .where('c.operator_id', '=', operatorId)
      .where('c.sip_call_id', '=', callId)
      .executeTakeFirst();
    if (!call || call.status !== 'answered') return false;
    const mode = call.recording_mode ?? 'never';
    if (mode === 'never' || (mode === 'on_demand' && !onDemand)) return false;
    const { address, ng } = await this.engines.forCall(callId);
    const tags = await partyTags(ng, callId);
    if (!tags) throw new Error(`recordings: rtpengine has no two parties for this call (${address})`);
    const sockets = await Promise.all([0, 1].map(() => bindRtpSocket(this.address)));
    let toTag: string | null = null;
    let active: ActiveRecording | null = null;
    try {
      const sub = await ng.command('subscribe request', {
        'call-id': callId, 'from-tags': [tags.customer, tags.operator], 'transport-protocol': 'RTP/AVP', ICE: 'remove', 'rtcp-mux': ['demux'], SDES: ['off'],
      });
      toTag = str(sub['to-tag']);
      const offer = str(sub.sdp);
      if (!toTag || !offer) throw new Error('recordings: rtpengine gave no subscription offer');
      const media = offerMedia(offer);
      if (media.length !== 2) throw new Error(`recordings: the subscription offer has ${media.length} m-lines, not 2`);
      if (this.sessions.has(key)) throw new Error('recordings: started twice');
      active = await this.service.begin({ ...call, operator_id: operatorId });
      const s: Session = {
        key, callId, operatorId, address, ng, toTag, sockets, channels: [new Channel(), new Channel()], active,
        t0: performance.now(), wallT0: Date.now(), flushed: 0, ending: null, timer: setInterval(() => this.tick(s), TICK_MS),
      };
      s.timer.unref();
      sockets.forEach((sock, i) => sock.on('message', (m) => s.channels[i]!.put(m, this.nowSamples(s), s.flushed)));
      this.sessions.set(key, s);
      await ng.command('subscribe answer', { 'call-id': callId, 'to-tag': toTag, sdp: answerSdp(this.address, sockets.map((x) => x.address().port), media) });
      this.stats.started++;
      return true;
    } catch (err) {
      this.stats.failed++;
      const s = this.sessions.get(key);
      if (s && s.active === active) {
        await this.stop(callId, operatorId);
      } else {
        sockets.forEach((x) => x.close());
        if (toTag) await ng.command('unsubscribe', { 'call-id': callId, 'to-tag': toTag }).catch((e: unknown) => reportBackgroundFailure('recordings: unsubscribe after a failed start', e));
        if (active) await this.service.finish(active).catch((e: unknown) => reportBackgroundFailure('recordings: sealing a failed start', e));
      }
      throw err;
    }
  }

  private nowSamples(s: Session): number {
    return Math.floor(((performance.now() - s.t0) * SAMPLE_RATE) / 1000);
  }

  /**
   * Writes the stereo stream up to LATENCY behind real time (everything, when `all`), but not
   * past what both parties have delivered unless that is more than MAX_LAG behind: after an
   * event-loop stall the timer fires before the queued packets are read, and writing on the
   * clock alone would drop them as late (holes in the audio). A party that sends nothing
   * (muted, gone) holds the writer back by MAX_LAG at most, then is written as silence.
   */
  private tick(s: Session, all = false): void {
    const now = this.nowSamples(s);
    const delivered = Math.min(s.channels[0].high, s.channels[1].high);
    const target = all ? Math.max(s.flushed, ...s.channels.map((c) => c.high)) : Math.min(now - LATENCY_SAMPLES, Math.max(delivered, now - MAX_LAG_SAMPLES));
    while (s.flushed < target) {
      const n = Math.min(target - s.flushed, RING / 2);
      const pcm = interleave(s.channels[0].take(s.flushed, n), s.channels[1].take(s.flushed, n));
      const from = s.flushed;
      s.flushed += n;
      try {
        // what the DTMF mask silenced is a gap of the recording's metadata (reason dtmf)
        for (const c of s.channels) for (const m of c.dtmf.drain()) s.active.masked(m.start, m.end);
        s.active.push(pcm, from);
      } catch (err) {
        reportBackgroundFailure('recordings: writing audio', err);
        void this.stop(s.callId, s.operatorId).catch((e: unknown) => reportBackgroundFailure('recordings: ending a failed recording', e));
        return;
      }
    }
  }

  /** Ends the recording of this operator's call (unsubscribe, flush, seal); resolves once sealed. */
  async stop(callId: string, operatorId: string): Promise<void> {
    const s = this.sessions.get(`${operatorId} ${callId}`);
    if (!s) return;
    s.ending ??= (async () => {
      clearInterval(s.timer);
      await s.ng.command('unsubscribe', { 'call-id': callId, 'to-tag': s.toTag ?? '' }).catch((err: unknown) => reportBackgroundFailure('recordings: unsubscribe', err));
      s.sockets.forEach((x) => x.close());
      this.tick(s, true);
      this.sessions.delete(s.key);
      await this.service.finish(s.active);
      this.stats.finished++;
    })();
    return s.ending;
  }

  /** The caller's own answered call and its live recording (whichever instance captures it); another's call, or none, is "no such call". */
  private async ownLive(p: Principal, callId: string): Promise<{ recordingId: string | null; instance: string | null; paused: boolean }> {
    const own = await this.db
      .selectFrom('calls as c')
      .leftJoin('recordings as r', (j) => j.onRef('r.call_id', '=', 'c.id').on('r.status', '=', 'recording'))
      .select(['c.id', 'r.id as recordingId', 'r.instance', 'r.secure_paused'])
      .where('c.org_id', '=', p.orgId)
      .where('c.operator_id', '=', p.userId)
      .where('c.sip_call_id', '=', callId)
      .where('c.status', '=', 'answered')
      .executeTakeFirst();
    if (!own) throw new GatewayError('not_found', 'no such call');
    return { recordingId: own.recordingId, instance: own.instance, paused: own.secure_paused === true };
  }

  /** Whether the caller's own live call is recorded (by any instance), and paused for secure capture (read-only; another's call or none is "no such call"). */
  async liveState(p: Principal, callId: string): Promise<{ callId: string; paused: boolean; recording: boolean }> {
    const live = await this.ownLive(p, callId);
    return { callId, paused: live.recordingId ? live.paused : false, recording: !!live.recordingId };
  }

  /**
   * Pause (card details) or resume the recording of the caller's own live call, from any
   * instance: the press (with its time) goes over the bus to the instance capturing the call
   * (delivered at once when that is this one), which blanks from that moment of its timeline;
   * the gap is kept in the metadata.
   */
  async secureCapture(p: Principal, callId: string, paused: boolean): Promise<{ callId: string; paused: boolean; recording: boolean }> {
    const atMs = Date.now(); // the press: before the lookup, so its time does not count against the blank
    const live = await this.ownLive(p, callId);
    if (!live.recordingId || !live.instance) return { callId, paused, recording: false };
    // the row says what every instance answers (liveState); the capturing instance blanks on the bus message
    await this.db.updateTable('recordings').set({ secure_paused: paused }).where('id', '=', live.recordingId).execute();
    this.bus.publish('recording', { recordingId: live.recordingId, instance: live.instance, paused, atMs });
    return { callId, paused, recording: true };
  }

  /**
   * A recording started on request (campaign mode on_demand or all) of the caller's own answered
   * call, from any instance: recorded already (by any instance) is a success; otherwise this
   * instance records it (two at once: the index's one-live-recording-per-call rule lets one win,
   * the other answers as recorded already).
   */
  async recordOnDemand(p: Principal, callId: string): Promise<boolean> {
    if ((await this.ownLive(p, callId)).recordingId) return true;
    let started: boolean;
    try {
      started = await this.maybeRecord(p.orgId, p.userId, callId, true);
    } catch (err) {
      if ((await this.ownLive(p, callId)).recordingId) return true;
      throw err;
    }
    if (!started) throw new GatewayError('conflict', 'this call\'s campaign does not record calls');
    return true;
  }

  /** Live recordings (tests, the bench). */
  live(): { callId: string; operatorId: string; recordingId: string; packets: [number, number]; late: [number, number]; dtmfMasked: [number, number]; dtmfEvents: [number, number] }[] {
    return [...this.sessions.values()].map((s) => ({
      callId: s.callId, operatorId: s.operatorId, recordingId: s.active.id, packets: [s.channels[0].packets, s.channels[1].packets], late: [s.channels[0].late, s.channels[1].late],
      dtmfMasked: [s.channels[0].dtmf.masked, s.channels[1].dtmf.masked], dtmfEvents: [s.channels[0].dtmf.events, s.channels[1].dtmf.events],
    }));
  }

  /** Seals every live recording (shutdown). */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.unsubscribeBus?.();
    this.unsubscribeBus = null;
    await Promise.all([...this.sessions.values()].map((s) => this.stop(s.callId, s.operatorId).catch((err: unknown) => reportBackgroundFailure('recordings: sealing at shutdown', err))));
    this.engines.close?.();
  }
}
