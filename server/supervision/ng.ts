// A small rtpengine ng client: bencode over UDP ("<cookie> <bencoded dict>"), the answer
// echoes the cookie. Dictionaries are encoded with sorted keys (bencode requires it). Each
// command is retried on timeout (rtpengine caches answers per cookie, so a retry is safe).
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

export type Bencodable = string | number | Buffer | Bencodable[] | { [k: string]: Bencodable | undefined };

export function bencode(v: Bencodable): Buffer {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error('bencode: integers only');
    return Buffer.from(`i${v}e`);
  }
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [bencode(k), bencode(v[k]!)]), Buffer.from('e')]);
}

/** Decodes bencode; byte strings become UTF-8 strings (SDP and ids are text). */
export function bdecode(buf: Buffer): unknown {
  let i = 0;
  const next = (): unknown => {
    const c = buf[i];
    if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65, i);
      if (end < 0) throw new Error('bdecode: bad integer');
      const n = Number(buf.toString('ascii', i + 1, end));
      i = end + 1;
      return n;
    }
    if (c === 0x6c /* l */ || c === 0x64 /* d */) {
      i++;
      const list: unknown[] = [];
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error('bdecode: truncated');
        list.push(next());
      }
      i++;
      if (c === 0x6c) return list;
      const o: Record<string, unknown> = Object.create(null);
      for (let k = 0; k < list.length; k += 2) o[String(list[k])] = list[k + 1];
      return o;
    }
    const colon = buf.indexOf(0x3a, i);
    const len = Number(buf.toString('ascii', i, colon));
    if (colon < 0 || !Number.isInteger(len) || len < 0 || colon + 1 + len > buf.length) throw new Error('bdecode: bad string');
    const s = buf.toString('utf8', colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return s;
  };
  return next();
}

export class NgError extends Error {}

export class NgClient {
  private sock: Socket | null = null;
  private pending = new Map<string, (msg: Buffer) => void>();

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly opts: { timeoutMs?: number; retries?: number } = {},
  ) {}

  private socket(): Socket {
    if (this.sock) return this.sock;
    const s = createSocket('udp4');
    s.on('message', (m) => {
      const sp = m.indexOf(0x20);
      const cookie = m.toString('ascii', 0, sp);
      const done = this.pending.get(cookie);
      if (done) done(m.subarray(sp + 1));
    });
    s.on('error', () => undefined);
    s.unref();
    this.sock = s;
    return s;
  }

  /** Sends a command; resolves with the decoded answer dictionary; `result: error` rejects. */
  async command(command: string, args: Record<string, Bencodable | undefined> = {}): Promise<Record<string, unknown>> {
    const cookie = randomBytes(8).toString('hex');
    const payload = Buffer.concat([Buffer.from(`${cookie} `), bencode({ ...args, command })]);
    const timeoutMs = this.opts.timeoutMs ?? 500;
    const tries = 1 + (this.opts.retries ?? 2);
    const s = this.socket();
    try {
      for (let t = 0; t < tries; t++) {
        const answer = await new Promise<Buffer | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), timeoutMs);
          this.pending.set(cookie, (m) => (clearTimeout(timer), resolve(m)));
          s.send(payload, this.port, this.host);
        });
        if (!answer) continue;
        const decoded = bdecode(answer);
        if (!decoded || typeof decoded !== 'object' || Array.isArray(decoded)) throw new NgError(`ng ${command}: malformed answer`);
        const d = decoded as Record<string, unknown>;
        if (d.result === 'error') throw new NgError(`ng ${command}: ${String(d['error-reason'] ?? 'error')}`);
        return d;
      }
      throw new NgError(`ng ${command}: no answer from rtpengine after ${tries} tries`);
    } finally {
      this.pending.delete(cookie);
    }
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}

/**
 * The Call-IDs rtpengine has live (ng `list`; its default limit is 32, so ask for many). A
 * malformed answer throws: the watchdog then repairs nothing rather than end calls on a guess.
 */
export async function rtpengineLiveCalls(ng: NgClient, limit = 100_000): Promise<string[]> {
  const answer = await ng.command('list', { limit });
  const calls = answer.calls;
  if (!Array.isArray(calls)) throw new NgError('ng list: no "calls" list in the answer');
  return calls.map((c) => (Buffer.isBuffer(c) ? c.toString('utf8') : String(c)));
}
