// A scripted carrier on the trusted trunk address for offer/answer tests: raw SIP over UDP (so
// a test controls every offer, answer, refusal and header on the wire) and its own RTP end
// (PCMU, a sine tone sent every 20 ms, what it receives decoded with arrival times, so tone
// levels can be measured in windows before and after an in-dialog event).
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../../deploy/stack';
import { toneShare } from '../../support/tone';
import { hdr, hdrs, parseSip, type SipMessage } from './sip-ws';

const rnd = (n = 6) => randomBytes(n).toString('hex');

// -- G.711 mu-law (ITU-T G.711), 16-bit linear <-> 8-bit
function ulawEncode(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}
function ulawDecode(u: number): number {
  const x = ~u & 0xff;
  const sign = x & 0x80;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  const s = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -s : s;
}

/** SDP of the carrier's RTP end; `codecs` picks what it offers (PCMU by default). */
export function carrierSdp(port: number, codecs: 'pcmu' | 'g729' | 't38' | 'pcmu+g729' = 'pcmu'): string {
  const id = Date.now();
  const head = `v=0\r\no=carrier ${id} ${id} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n`;
  if (codecs === 'g729') return `${head}m=audio ${port} RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`;
  if (codecs === 't38') return `${head}m=image ${port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\n`;
  if (codecs === 'pcmu+g729') return `${head}m=audio ${port} RTP/AVP 18 0\r\na=rtpmap:18 G729/8000\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
  return `${head}m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`;
}

/** The media address of an SDP (c= and the first m=audio port). */
export function sdpAudioTarget(sdp: string): { host: string; port: number } | null {
  const c = /c=IN IP4 ([0-9.]+)/.exec(sdp);
  const m = /m=audio (\d+) /.exec(sdp);
  return c && m ? { host: c[1]!, port: Number(m[1]) } : null;
}

interface Dialog {
  callId: string;
  fromTag: string;
  from: string;
  to: string;
  remoteTarget: string;
  routes: string[];
  cseq: number;
}

/** A UDP SIP carrier on the trunk address with one RTP end (one call at a time). */
export class Carrier {
  readonly received: SipMessage[] = [];
  /** How the carrier answers requests Kamailio sends it (re-INVITE, BYE...): status, and SDP for 200 to INVITE. */
  answer: (req: SipMessage) => { status: number; reason: string; sdp?: string } = (req) =>
    req.method === 'INVITE' ? { status: 200, reason: 'OK', sdp: carrierSdp(this.rtpPort) } : { status: 200, reason: 'OK' };
  private readonly heard: { t: number; samples: Int16Array; port: number }[] = [];
  private rtpTarget: { host: string; port: number } | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private seq = 1;
  private ts = 0;
  private phase = 0;
  dialog: Dialog | null = null;
  /** INVITEs sent and not yet answered finally, by Call-ID: what a CANCEL repeats. */
  private readonly dialogs = new Map<string, Dialog>();
  private readonly inviting = new Map<string, { ruri: string; from: string; to: string; branch: string }>();
  /** Every RTP packet received (time, payload type, size): for diagnostics. */
  readonly rtpIn: { t: number; pt: number; len: number; port: number }[] = [];

  private constructor(
    readonly sip: Socket,
    readonly rtp: Socket,
    readonly host: string,
    readonly port: number,
    readonly rtpPort: number,
    readonly kam: { host: string; port: number },
    readonly toneHz: number,
  ) {
    sip.on('message', (data) => this.onSip(parseSip(data.toString())));
    rtp.on('message', (pkt, rinfo) => {
      this.rtpIn.push({ t: Date.now(), pt: pkt.length > 1 ? pkt[1]! & 0x7f : -1, len: pkt.length, port: rinfo.port });
      if (pkt.length <= 12 || (pkt[1]! & 0x7f) !== 0) return; // PCMU only
      const cc = pkt[0]! & 0x0f;
      const payload = pkt.subarray(12 + cc * 4);
      const samples = new Int16Array(payload.length);
      for (let i = 0; i < payload.length; i++) samples[i] = ulawDecode(payload[i]!);
      this.heard.push({ t: Date.now(), samples, port: rinfo.port });
    });
  }

  static async start(opts: { trunk: { host: string; port: number }; kamailio: { host: string; port: number }; toneHz: number }): Promise<Carrier> {
    const sip = createSocket('udp4');
    await new Promise<void>((r, j) => (sip.once('error', j), sip.bind(opts.trunk.port, opts.trunk.host, () => r())));
    const rtpPort = await freePort('udp');
    const rtp = createSocket('udp4');
    await new Promise<void>((r, j) => (rtp.once('error', j), rtp.bind(rtpPort, '127.0.0.1', () => r())));
    return new Carrier(sip, rtp, opts.trunk.host, opts.trunk.port, rtpPort, opts.kamailio, opts.toneHz);
  }

  private send(raw: string) {
    this.sip.send(raw, this.kam.port, this.kam.host);
  }

  private onSip(m: SipMessage) {
    m.at = performance.now();
    this.received.push(m);
    if (!m.method || m.method === 'ACK') {
      if (m.method === 'ACK' && m.body) this.media(m.body);
      return;
    }
    const a = this.answer(m);
    if (m.body && a.status === 200) this.media(m.body);
    const toTag = rnd(4);
    if (m.method === 'INVITE' && !/tag=/.test(hdr(m, 'to')!) && a.status === 200) {
      // an INVITE from an operator: the carrier is the callee of this dialog
      this.dialog = {
        callId: hdr(m, 'call-id')!, fromTag: toTag, from: `${hdr(m, 'to')};tag=${toTag}`, to: hdr(m, 'from')!,
        remoteTarget: /<([^>]+)>/.exec(hdr(m, 'contact')!)![1]!, routes: hdrs(m, 'record-route').flatMap((v) => v.split(/,\s*(?=<)/)), cseq: 100,
      };
    }
    this.reply(m, a.status, a.reason, a.sdp ?? '', toTag);
  }

  /** Points the RTP stream at the SDP's address. */
  private media(sdp: string) {
    const t = sdpAudioTarget(sdp);
    if (t && t.port > 0) this.rtpTarget = t;
  }

  reply(req: SipMessage, status: number, reason: string, body = '', toTag = rnd(4)) {
    const to = hdr(req, 'to')!;
    this.send(
      [
        `SIP/2.0 ${status} ${reason}`,
        ...hdrs(req, 'via').map((v) => `Via: ${v}`),
        ...hdrs(req, 'record-route').map((v) => `Record-Route: ${v}`),
        `From: ${hdr(req, 'from')}`,
        `To: ${to.includes('tag=') ? to : `${to};tag=${toTag}`}`,
        `Call-ID: ${hdr(req, 'call-id')}`,
        `CSeq: ${hdr(req, 'cseq')}`,
        `Contact: <sip:customer@${this.host}:${this.port}>`,
        ...(body ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
  }

  private request(method: string, uri: string, o: { callId: string; from: string; to: string; cseq: number; routes?: string[]; extra?: string[]; body?: string; branch?: string }) {
    const branch = o.branch ?? `z9hG4bK${rnd()}`;
    const body = o.body ?? '';
    const raw =
      [
        `${method} ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: ${o.from}`,
        `To: ${o.to}`,
        `Call-ID: ${o.callId}`,
        `CSeq: ${o.cseq} ${method}`,
        ...(o.routes ?? []).map((r) => `Route: ${r}`),
        `Contact: <sip:customer@${this.host}:${this.port}>`,
        ...(o.extra ?? []),
        ...(body ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
    this.send(raw);
    if (method !== 'ACK') this.retransmit(raw, o.callId, `${o.cseq} ${method}`);
    return branch;
  }

  async waitFor(match: (m: SipMessage) => boolean, timeoutMs = 5000): Promise<SipMessage> {
    const t0 = Date.now();
    for (;;) {
      const m = this.received.find((x) => match(x) && !(x as any)._taken);
      if (m) {
        (m as any)._taken = true;
        return m;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`carrier: timed out; last received: ${this.received.slice(-3).map((x) => x.startLine).join(' | ')}`);
      await sleep(10);
    }
  }

  /**
   * RFC 3261 17.1.1.2 / 17.1.2.2 over UDP: the request again after 0.5, 1, 2, 4 s until a
   * response arrives (a packet lost on a loaded machine must not look like a silent proxy).
   */
  private retransmit(raw: string, callId: string, cseq: string) {
    let delay = 500;
    const answered = () => this.received.some((m) => m.status !== undefined && hdr(m, 'call-id') === callId && hdr(m, 'cseq') === cseq);
    const again = () => {
      if (answered() || delay > 4000) return;
      this.send(raw);
      delay *= 2;
      setTimeout(again, delay).unref();
    };
    setTimeout(again, delay).unref();
  }

  private final(callId: string, cseq: string, timeoutMs = 20_000) {
    return this.waitFor((m) => m.status !== undefined && m.status >= 200 && hdr(m, 'call-id') === callId && hdr(m, 'cseq') === cseq, timeoutMs);
  }

  /**
   * An INVITE to `did` (offer or delayed offer); resolves with the final response. On a 2xx the
   * dialog is set up and ACKed (with `ackSdp(offer)` as the answer for a delayed offer); on a
   * non-2xx the hop-by-hop ACK is sent.
   */
  async invite(o: {
    did: string;
    from?: string;
    fromUri?: string;
    callId?: string;
    sdp?: string | null;
    extra?: string[];
    ackSdp?: (offer: string) => string;
    /** How long to wait for the final response (a caller who waits in a queue waits longer). */
    finalTimeoutMs?: number;
  }): Promise<SipMessage> {
    const callId = o.callId ?? `${rnd(8)}@carrier`;
    const fromTag = rnd(4);
    const fromUri = o.fromUri ?? `<sip:${o.from ?? '+819011112222'}@${this.host}>`;
    const from = `${fromUri};tag=${fromTag}`;
    const ruri = `sip:${o.did}@${this.kam.host}:${this.kam.port}`;
    const to = `<sip:${o.did}@${this.kam.host}>`;
    const body = o.sdp === undefined ? carrierSdp(this.rtpPort) : (o.sdp ?? '');
    const branch = this.request('INVITE', ruri, { callId, from, to, cseq: 1, ...(o.extra ? { extra: o.extra } : {}), body });
    this.inviting.set(callId, { ruri, from, to, branch });
    const res = await this.final(callId, '1 INVITE', o.finalTimeoutMs).finally(() => this.inviting.delete(callId));
    if (res.status! >= 300) {
      this.request('ACK', ruri, { callId, from, to: hdr(res, 'to')!, cseq: 1, branch });
      return res;
    }
    const routes = hdrs(res, 'record-route').flatMap((v) => v.split(/,\s*(?=<)/)).reverse();
    const remoteTarget = /<([^>]+)>/.exec(hdr(res, 'contact')!)![1]!;
    this.dialog = { callId, fromTag, from, to: hdr(res, 'to')!, remoteTarget, routes, cseq: 1 };
    this.dialogs.set(callId, this.dialog);
    let ackBody = '';
    if (body) this.media(res.body);
    else {
      this.media(res.body);
      ackBody = (o.ackSdp ?? (() => carrierSdp(this.rtpPort)))(res.body);
    }
    this.request('ACK', remoteTarget, { callId, from, to: this.dialog.to, cseq: 1, routes, body: ackBody });
    return res;
  }

  /** BYE in the dialog of that call (one of several set up). */
  async bye(callId: string): Promise<SipMessage> {
    const d = this.dialogs.get(callId);
    if (!d) throw new Error(`carrier: no dialog for ${callId}`);
    this.dialog = d;
    this.dialogs.delete(callId);
    return this.inDialog('BYE');
  }

  /** CANCELs an INVITE still unanswered (the caller hangs up while it waits); resolves with the CANCEL's response. */
  async cancel(callId: string): Promise<SipMessage> {
    const i = this.inviting.get(callId);
    if (!i) throw new Error(`carrier: no INVITE pending for ${callId}`);
    this.request('CANCEL', i.ruri, { callId, from: i.from, to: i.to, cseq: 1, branch: i.branch });
    return this.waitFor((m) => m.status !== undefined && hdr(m, 'call-id') === callId && hdr(m, 'cseq') === '1 CANCEL', 10_000);
  }

  /** A request in the current dialog; a re-INVITE is ACKed (with `ackSdp` for a delayed offer). Resolves with the final response. */
  async inDialog(method: string, o: { sdp?: string | null; extra?: string[]; ackSdp?: (offer: string) => string } = {}): Promise<SipMessage> {
    const d = this.dialog;
    if (!d) throw new Error('carrier: no dialog');
    const cseq = ++d.cseq;
    const body = o.sdp ?? '';
    const branch = this.request(method, d.remoteTarget, { callId: d.callId, from: d.from, to: d.to, cseq, routes: d.routes, ...(o.extra ? { extra: o.extra } : {}), body });
    const res = await this.final(d.callId, `${cseq} ${method}`);
    if (method === 'INVITE') {
      if (res.status! >= 300) {
        this.request('ACK', d.remoteTarget, { callId: d.callId, from: d.from, to: hdr(res, 'to')!, cseq, routes: d.routes, branch });
      } else {
        let ackBody = '';
        this.media(res.body);
        if (!body) ackBody = (o.ackSdp ?? (() => carrierSdp(this.rtpPort)))(res.body);
        this.request('ACK', d.remoteTarget, { callId: d.callId, from: d.from, to: d.to, cseq, routes: d.routes, body: ackBody });
      }
    }
    return res;
  }

  /** Starts sending the tone (PCMU, 20 ms packets) to the current media target. */
  startTone() {
    if (this.timer) return;
    const ssrc = randomBytes(4).readUInt32BE(0);
    this.timer = setInterval(() => {
      if (!this.rtpTarget) return;
      const pkt = Buffer.alloc(12 + 160);
      pkt[0] = 0x80;
      pkt[1] = 0;
      pkt.writeUInt16BE(this.seq++ & 0xffff, 2);
      pkt.writeUInt32BE(this.ts >>> 0, 4);
      pkt.writeUInt32BE(ssrc, 8);
      for (let i = 0; i < 160; i++) {
        pkt[12 + i] = ulawEncode(0.5 * 32767 * Math.sin(this.phase));
        this.phase += (2 * Math.PI * this.toneHz) / 8000;
      }
      this.ts += 160;
      this.rtp.send(pkt, this.rtpTarget.port, this.rtpTarget.host);
    }, 20);
  }

  /**
   * What the carrier heard between `from` and `to` (ms epoch): `hz`'s share and the level (dBFS
   * RMS); `fromPort`: only what came from that source port (one call's media when several play).
   */
  heardBetween(from: number, to: number, hz: number, fromPort?: number): { share: number; dbfs: number; seconds: number } {
    const pcm = this.heardBetweenPcm(from, to, fromPort);
    const n = pcm.length;
    let sum = 0;
    for (const x of pcm) sum += x * x;
    const dbfs = n ? 10 * Math.log10(sum / n + 1e-12) : -120;
    return { share: toneShare(pcm, 8000, hz), dbfs, seconds: n / 8000 };
  }

  /** The audio that arrived between `from` and `to` (ms epoch), in order, as float samples at 8 kHz. */
  heardBetweenPcm(from: number, to: number, fromPort?: number): Float32Array {
    const chunks = this.heard.filter((h) => h.t >= from && h.t < to && (fromPort === undefined || h.port === fromPort));
    const pcm = new Float32Array(chunks.reduce((a, c) => a + c.samples.length, 0));
    let o = 0;
    for (const c of chunks) for (const s of c.samples) pcm[o++] = s / 32768;
    return pcm;
  }

  close() {
    if (this.timer) clearInterval(this.timer);
    this.sip.close();
    this.rtp.close();
  }
}
