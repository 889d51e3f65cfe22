// A minimal SIP-over-WebSocket user agent (RFC 7118) for the telephony tests: REGISTER with
// digest auth, INVITE/CANCEL, answering requests. Just enough SIP to test Kamailio honestly.
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export interface SipMessage {
  startLine: string;
  method?: string;
  status?: number;
  headers: [string, string][];
  body: string;
  raw: string;
  /** When it arrived (performance.now()), where a test measures latency. */
  at?: number;
}
const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };

export function parseSip(raw: string): SipMessage {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const startLine = lines.shift()!;
  const headers: [string, string][] = [];
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    let name = l.slice(0, i).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    headers.push([name, l.slice(i + 1).trim()]);
  }
  const m = /^SIP\/2\.0 (\d{3})/.exec(startLine);
  return { startLine, ...(m ? { status: Number(m[1]) } : { method: startLine.split(' ')[0] }), headers, body: rest.join('\r\n\r\n'), raw };
}
export const hdr = (m: SipMessage, name: string) => m.headers.find(([n]) => n === name.toLowerCase())?.[1];
export const hdrs = (m: SipMessage, name: string) => m.headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const rnd = (n = 6) => randomBytes(n).toString('hex');

export function openWs(url: string, origin: string | null, localAddress?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'sip', { headers: origin ? { Origin: origin } : {}, rejectUnauthorized: false, ...(localAddress ? { localAddress } : {}) });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: HTTP ${res.statusCode}`)));
  });
}

export class SipWsClient {
  private waiters: { match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }[] = [];
  readonly received: SipMessage[] = [];
  readonly host = `${rnd(4)}.invalid`;
  private cseq = 1;
  onRequest: ((m: SipMessage) => void) | null = null;

  private constructor(
    readonly ws: WebSocket,
    readonly user: string,
    readonly domain: string,
    readonly auth: { username: string; password: string } | null,
  ) {
    ws.on('message', (data) => {
      const m = parseSip(data.toString());
      m.at = performance.now();
      this.received.push(m);
      const w = this.waiters.find((x) => x.match(m));
      if (w) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      } else if (m.method && this.onRequest) this.onRequest(m);
    });
  }

  /** localAddress: the source address (127.0.0.2.. on Linux loopback: another "host"). */
  static async connect(url: string, opts: { user: string; domain: string; auth?: { username: string; password: string } | null; origin?: string | null; localAddress?: string }) {
    const ws = await openWs(url, opts.origin === undefined ? 'http://127.0.0.1:5173' : opts.origin, opts.localAddress);
    return new SipWsClient(ws, opts.user, opts.domain, opts.auth ?? null);
  }

  wait(match: (m: SipMessage) => boolean, timeoutMs = 5000): Promise<SipMessage> {
    const already = this.received.find((m) => match(m) && !(m as any)._taken);
    if (already) {
      (already as any)._taken = true;
      return Promise.resolve(already);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`SIP: timed out waiting (${this.user})`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => ((m as any)._taken = true, clearTimeout(t), resolve(m)) });
    });
  }

  send(raw: string) {
    this.ws.send(raw);
  }

  get contact() {
    return `<sip:${this.user}@${this.host};transport=ws>`;
  }

  private build(method: string, uri: string, o: { callId: string; fromTag: string; to: string; cseq: number; extra?: string[]; body?: string; branch?: string }) {
    const body = o.body ?? '';
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/WSS ${this.host};branch=${o.branch ?? `z9hG4bK${rnd()}`}`,
      'Max-Forwards: 70',
      `From: <sip:${this.user}@${this.domain}>;tag=${o.fromTag}`,
      `To: ${o.to}`,
      `Call-ID: ${o.callId}`,
      `CSeq: ${o.cseq} ${method}`,
      `Contact: ${this.contact}`,
      ...(o.extra ?? []),
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  /** Sends a request; answers one 401/407 with the credentials; resolves with the final response. */
  async request(method: string, uri: string, o: { to?: string; extra?: string[]; body?: string; callId?: string; onProvisional?: (m: SipMessage) => void } = {}): Promise<SipMessage> {
    const callId = o.callId ?? `${rnd(8)}@test`;
    const fromTag = rnd(4);
    const to = o.to ?? `<${uri}>`;
    let extra = o.extra ?? [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const cseq = this.cseq++;
      this.send(this.build(method, uri, { callId, fromTag, to, cseq, extra, ...(o.body !== undefined ? { body: o.body } : {}) }));
      let res: SipMessage;
      for (;;) {
        res = await this.wait((m) => m.status !== undefined && hdr(m, 'call-id') === callId && hdr(m, 'cseq') === `${cseq} ${method}`, 10_000);
        if (res.status! >= 200) break;
        o.onProvisional?.(res);
      }
      if ((res.status === 401 || res.status === 407) && attempt === 0 && this.auth) {
        const ch = hdr(res, res.status === 401 ? 'www-authenticate' : 'proxy-authenticate')!;
        const p = Object.fromEntries([...ch.matchAll(/(\w+)="?([^",]*)"?/g)].map((x) => [x[1]!, x[2]!]));
        const ha1 = md5(`${this.auth.username}:${p.realm}:${this.auth.password}`);
        const ha2 = md5(`${method}:${uri}`);
        const cnonce = rnd(4);
        const nc = '00000001';
        const qop = p.qop ? 'auth' : undefined;
        const response = qop ? md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
        const header = `${res.status === 401 ? 'Authorization' : 'Proxy-Authorization'}: Digest username="${this.auth.username}", realm="${p.realm}", nonce="${p.nonce}", uri="${uri}", response="${response}", algorithm=MD5${qop ? `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"` : ''}`;
        extra = [...(o.extra ?? []), header];
        if (res.status === 407) this.ack(res, uri);
        continue;
      }
      if (method === 'INVITE' && res.status! >= 300) this.ack(res, uri);
      return res;
    }
    throw new Error('unreachable');
  }

  private ack(res: SipMessage, uri: string) {
    const via = hdr(res, 'via')!;
    const cseq = hdr(res, 'cseq')!.split(' ')[0];
    this.send([`ACK ${uri} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', `From: ${hdr(res, 'from')}`, `To: ${hdr(res, 'to')}`, `Call-ID: ${hdr(res, 'call-id')}`, `CSeq: ${cseq} ACK`, 'Content-Length: 0', '', ''].join('\r\n'));
  }

  register(expires = 600): Promise<SipMessage> {
    const aor = `sip:${this.user}@${this.domain}`;
    return this.request('REGISTER', `sip:${this.domain}`, { to: `<${aor}>`, extra: [`Expires: ${expires}`] });
  }

  /** Answers a request received (copies Via/From/To/Call-ID/CSeq). */
  reply(req: SipMessage, status: number, reason: string, o: { toTag?: string; body?: string } = {}) {
    const to = hdr(req, 'to')!;
    const body = o.body ?? '';
    this.send(
      [
        `SIP/2.0 ${status} ${reason}`,
        ...hdrs(req, 'via').map((v) => `Via: ${v}`),
        ...hdrs(req, 'record-route').map((v) => `Record-Route: ${v}`),
        `From: ${hdr(req, 'from')}`,
        `To: ${to.includes('tag=') || status === 100 ? to : `${to};tag=${o.toTag ?? rnd(4)}`}`,
        `Call-ID: ${hdr(req, 'call-id')}`,
        `CSeq: ${hdr(req, 'cseq')}`,
        `Contact: ${this.contact}`,
        ...(body ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
  }

  close() {
    this.ws.close();
  }
}

/** A plain-RTP SDP offer/answer body (PCMU) for signalling-only tests. */
export function rtpSdp(port: number): string {
  const id = Date.now();
  return `v=0\r\no=- ${id} ${id} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
}
