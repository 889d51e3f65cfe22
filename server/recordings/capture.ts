// The recorder (docs/telephony.md "Recordings"): no rtpengine kernel module, no pcap files.
// When the operator model says an operator's call is answered (AgentRegistry listener: the one
// path every answer takes) and the call's campaign records (mode "all", or "on_demand" once
// someone asks), the recorder asks the rtpengine holding the call (MediaNodes, else sip.rtpengineNg)
// for a `subscribe request` of the two dialogue parties (customer, operator) as plain RTP/AVP
// toward two UDP sockets it owns, one per party; a lead's published whisper tag (lead-*) is
// never subscribed. G.711 is decoded in memory, placed by RTP timestamp (loss -> silence, a
// late packet is dropped), interleaved into stereo (left customer, right operator) and handed
// to the encrypted writer (./format.ts): no plaintext reaches the disk. The call's end (the
// model's `ended`, whatever reported it: BYE, watchdog, sign-out) unsubscribes and seals it.
import { createSocket, type Socket } from 'node:dgram';
import type { Principal } from '../auth/principal-type';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { GatewayError } from '../errors';
import type { AgentRegistry } from '../sip/agents';
import type { AgentChange } from '../sip/agent-types';
import type { NgClient } from '../supervision/ng';
import { queryLegs, type CallParties } from '../supervision/parties';
import { decodeG711, interleave, SAMPLE_RATE } from './audio';
import type { ActiveRecording, RecordingsService } from './service';

/** How far behind real time the stereo stream is written: room for jitter and reordering. */
const LATENCY_SAMPLES = SAMPLE_RATE / 5; // 200 ms
const RING = SAMPLE_RATE * 4; // 4 s per channel
/** The longest the writer waits for a party's packets (then silence); well inside RING. */
const MAX_LAG_SAMPLES = SAMPLE_RATE;
const TICK_MS = 20;

export interface RecorderEngines {
  /** The rtpengine holding the call. */
  forCall(callId: string): Promise<{ address: string; ng: NgClient }>;
  /** Closes the ng clients kept for the recorder (shutdown). */
  close?(): void;
}

/** One party's RTP, placed on the recording's timeline by RTP timestamp. */
export class Channel {
  readonly ring = new Int16Array(RING);
  private baseTs: number | null = null;
  private basePos = 0;
  ssrc: number | null = null;
  packets = 0;
  dropped = 0;
  /** Packets that arrived after their place was written (a hole in the recording). */
  late = 0;
  /** Highest sample position written + 1. */
  high = 0;

  /** An RTP packet (G.711) arriving when the recording's timeline is at `now` samples, written up to `flushed`. */
  put(pkt: Buffer, now: number, flushed: number): void {
    if (pkt.length < 12 || pkt[0]! >> 6 !== 2) return void this.dropped++;
    const pt = pkt[1]! & 0x7f;
    if (pt !== 0 && pt !== 8) return void this.dropped++; // comfort noise, DTMF events, unknown: not audio we decode
    const cc = pkt[0]! & 0x0f;
    let off = 12 + cc * 4;
    if (pkt[0]! & 0x10) {
      if (pkt.length < off + 4) return void this.dropped++;
      off += 4 + pkt.readUInt16BE(off + 2) * 4;
    }
    let end = pkt.length;
    if (pkt[0]! & 0x20) end -= pkt[pkt.length - 1]!; // padding
    if (off >= end) return void this.dropped++;
    const ts = pkt.readUInt32BE(4);
    const ssrc = pkt.readUInt32BE(8);
    if (this.baseTs === null || ssrc !== this.ssrc) {
      // first packet, or a new source (re-INVITE, transfer): placed at "now"
      this.baseTs = ts;
      this.basePos = now;
      this.ssrc = ssrc;
    }
    let pos = this.basePos + ((ts - this.baseTs) | 0);
    if (pos < flushed - SAMPLE_RATE || pos > now + RING / 2) {
      // a timestamp jump (the far end restarted its clock): re-anchor at now
      this.baseTs = ts;
      this.basePos = now;
      pos = now;
    }
    const samples = decodeG711(pkt.subarray(off, end), pt);
    if (pos < flushed) this.late++;
    for (let i = 0; i < samples.length; i++) {
      const p = pos + i;
      if (p < flushed || p >= flushed + RING) continue; // too late (already written) or too far ahead
      this.ring[p % RING] = samples[i]!;
    }
    this.high = Math.max(this.high, pos + samples.length);
    this.packets++;
  }

  take(from: number, n: number): Int16Array {
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const k = (from + i) % RING;
      out[i] = this.ring[k]!;
      this.ring[k] = 0;
    }
    return out;
  }
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
  flushed: number;
  timer: NodeJS.Timeout;
  ending: Promise<void> | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The m-lines of rtpengine's subscription offer: payload types (with their rtpmap lines) and mid, in order. */
export function offerMedia(sdp: string): { payloadTypes: number[]; rtpmaps: string[]; mid: string | null }[] {
  const out: { payloadTypes: number[]; rtpmaps: string[]; mid: string | null }[] = [];
  for (const l of sdp.split(/\r?\n/)) {
    const m = out[out.length - 1];
    if (l.startsWith('m=')) out.push({ payloadTypes: l.trim().split(/\s+/).slice(3).map(Number).filter((n) => Number.isInteger(n)), rtpmaps: [], mid: null });
    else if (m && l.startsWith('a=mid:')) m.mid = l.slice(6).trim();
    else if (m && /^a=(rtpmap|fmtp):\d+ /.test(l)) m.rtpmaps.push(l.trim());
  }
  return out;
}

/**
 * Our answer: one recvonly RTP/AVP m-line per party toward our own sockets. rtpengine 10.5
 * refuses a subscription answer that drops an offered payload type ("Failed to process
 * subscription answer": telephone-event must be echoed), so every offered type is echoed
 * with its rtpmap; only PCMU and PCMA packets are decoded (DTMF events are not audio).
 */
export function answerSdp(address: string, ports: number[], offered: { payloadTypes: number[]; rtpmaps: string[]; mid: string | null }[]): string {
  const lines = ['v=0', `o=koe-recorder 1 1 IN IP4 ${address}`, 's=koe-recorder', `c=IN IP4 ${address}`, 't=0 0'];
  offered.forEach((m, i) => {
    const use = m.payloadTypes.length ? m.payloadTypes : [0];
    lines.push(`m=audio ${ports[i]} RTP/AVP ${use.join(' ')}`);
    if (m.mid !== null) lines.push(`a=mid:${m.mid}`);
    for (const pt of use) {
      const given = m.rtpmaps.filter((l) => l.startsWith(`a=rtpmap:${pt} `) || l.startsWith(`a=fmtp:${pt} `));
      if (given.length) lines.push(...given);
      else if (pt === 0 || pt === 8) lines.push(`a=rtpmap:${pt} ${pt === 0 ? 'PCMU' : 'PCMA'}/8000`);
    }
    lines.push('a=recvonly');
  });
  return `${lines.join('\r\n')}\r\n`;
}

export class Recorder {
  private readonly sessions = new Map<string, Session>();
  private unsubscribe: (() => void) | null = null;
  /** Calls asked to be recorded on demand before they were answered (sip call id + operator). */
  readonly stats = { started: 0, finished: 0, failed: 0 };

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly agents: AgentRegistry,
    private readonly service: RecordingsService,
    private readonly engines: RecorderEngines,
    private readonly address: string,
  ) {}

  start(): void {
    this.unsubscribe ??= this.agents.subscribe((c) => this.heard(c));
  }

  private heard(c: AgentChange): void {
    if (c.remote) return; // the instance that made the step records it
    for (const t of c.transitions) {
      if (t.subject !== 'call' || !t.callId) continue;
      if (t.to === 'answered' && (t.from === 'ringing' || t.from === 'offered')) {
        void this.maybeRecord(c.orgId, c.userId, t.callId, false).catch((err: unknown) => reportBackgroundFailure('recordings: starting a recording', err));
      } else if (t.to === 'ended') {
        void this.stop(t.callId, c.userId).catch((err: unknown) => reportBackgroundFailure('recordings: ending a recording', err));
      }
    }
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
    const tags = await this.partyTags(ng, callId);
    if (!tags) throw new Error(`recordings: rtpengine has no two parties for this call (${address})`);
    const sockets = await Promise.all([0, 1].map(() => this.bind()));
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
        t0: performance.now(), flushed: 0, ending: null, timer: setInterval(() => this.tick(s), TICK_MS),
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

  /** The customer's and the operator's from-tags, whichever direction the call was placed (../supervision/parties.ts). */
  private async partyTags(ng: NgClient, callId: string): Promise<CallParties | null> {
    return (await queryLegs(ng, callId))?.parties ?? null;
  }

  private bind(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, this.address, () => {
        s.off('error', reject);
        s.on('error', (err) => reportBackgroundFailure('recordings: RTP socket', err));
        resolve(s);
      });
    });
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

  /** Pause (card details) or resume the recording of the caller's own live call; the gap is kept in the metadata. */
  async secureCapture(p: Principal, callId: string, paused: boolean): Promise<{ callId: string; paused: boolean; recording: boolean }> {
    const s = this.sessions.get(`${p.userId} ${callId}`);
    if (!s) {
      // not recorded here: the caller's own call? (another's, or none, is the same "no such call")
      const own = await this.db.selectFrom('calls').select('id').where('org_id', '=', p.orgId).where('operator_id', '=', p.userId).where('sip_call_id', '=', callId).where('status', '=', 'answered').executeTakeFirst();
      if (!own) throw new GatewayError('not_found', 'no such call');
      return { callId, paused, recording: false };
    }
    // at the timeline's "now": what is spoken from this moment (not what is flushed now) is blanked
    if (paused) s.active.pause(this.nowSamples(s));
    else s.active.resume(this.nowSamples(s));
    return { callId, paused: s.active.paused, recording: true };
  }

  /** Whether the caller's own live call is recorded here, and paused (read-only; another's call or none is "no such call"). */
  async liveState(p: Principal, callId: string): Promise<{ callId: string; paused: boolean; recording: boolean }> {
    const s = this.sessions.get(`${p.userId} ${callId}`);
    if (s) return { callId, paused: s.active.paused, recording: true };
    const own = await this.db.selectFrom('calls').select('id').where('org_id', '=', p.orgId).where('operator_id', '=', p.userId).where('sip_call_id', '=', callId).where('status', '=', 'answered').executeTakeFirst();
    if (!own) throw new GatewayError('not_found', 'no such call');
    return { callId, paused: false, recording: false };
  }

  /** A recording started on request (campaign mode on_demand or all) of the caller's own answered call. */
  async recordOnDemand(p: Principal, callId: string): Promise<boolean> {
    const own = await this.db.selectFrom('calls').select('id').where('org_id', '=', p.orgId).where('operator_id', '=', p.userId).where('sip_call_id', '=', callId).where('status', '=', 'answered').executeTakeFirst();
    if (!own) throw new GatewayError('not_found', 'no such call');
    if (!(await this.maybeRecord(p.orgId, p.userId, callId, true))) throw new GatewayError('conflict', 'this call\'s campaign does not record calls');
    return true;
  }

  /** Live recordings (tests, the bench). */
  live(): { callId: string; operatorId: string; recordingId: string; packets: [number, number]; late: [number, number] }[] {
    return [...this.sessions.values()].map((s) => ({ callId: s.callId, operatorId: s.operatorId, recordingId: s.active.id, packets: [s.channels[0].packets, s.channels[1].packets], late: [s.channels[0].late, s.channels[1].late] }));
  }

  /** Seals every live recording (shutdown). */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await Promise.all([...this.sessions.values()].map((s) => this.stop(s.callId, s.operatorId).catch((err: unknown) => reportBackgroundFailure('recordings: sealing at shutdown', err))));
    this.engines.close?.();
  }
}
