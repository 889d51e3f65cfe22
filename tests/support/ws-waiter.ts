// The one WebSocket waiter: a socket's messages kept in order, and a wait for the first one
// matching a predicate (already received ones count from `from`), which fails at once when
// the socket closes and names what did arrive when it times out. GatewaySocket is the
// gateway's /ws (JSON) on top of it; other protocols hand their own parser to MessageLog.
import WebSocket from 'ws';

export interface WaitOptions {
  /** Messages before this index do not count (default 0: an already received one counts). */
  from?: number;
  timeoutMs?: number;
}

export class MessageLog<M> {
  readonly messages: M[] = [];
  private ended: string | null = null;
  private readonly checks = new Set<() => void>();

  constructor(private readonly name: string) {}

  push(message: M): void {
    this.messages.push(message);
    for (const check of [...this.checks]) check();
  }

  /** No more messages will come (the socket closed): pending waits fail now. */
  end(why: string): void {
    this.ended = why;
    for (const check of [...this.checks]) check();
  }

  /** The first message from `from` on that matches. */
  next(match: (m: M) => boolean, opts: WaitOptions = {}): Promise<M> {
    const from = opts.from ?? 0;
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise<M>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        this.checks.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        const hit = this.messages.slice(from).find(match);
        if (hit !== undefined) {
          done();
          resolve(hit);
        } else if (this.ended !== null) {
          done();
          reject(new Error(`${this.name}: ${this.ended} while waiting; got ${this.tail()}`));
        }
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms; got ${this.tail()}`));
      }, timeoutMs);
      this.checks.add(check);
      check();
    });
  }

  private tail(): string {
    return JSON.stringify(this.messages.slice(-6)).slice(0, 2000);
  }
}

export interface OpenOptions {
  /** Authenticate with this access token and wait for the gateway's `ready`. */
  token?: string;
  headers?: Record<string, string>;
  name?: string;
}

let pings = 0;

/** A client of the gateway's /ws. */
export class GatewaySocket {
  readonly log: MessageLog<any>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** When the close arrived (Date.now()), null while open. */
  closedAt: number | null = null;

  private constructor(readonly ws: WebSocket, name: string) {
    this.log = new MessageLog<any>(name);
    ws.on('message', (raw) => this.log.push(JSON.parse(raw.toString())));
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedAt = Date.now();
        this.log.end(`closed (${code})`);
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Opens `<base>/ws` (base: http(s):// or ws(s)://); with a token, authenticates and waits for `ready`. */
  static async open(base: string, opts: OpenOptions = {}): Promise<GatewaySocket> {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, { ...(opts.headers ? { headers: opts.headers } : {}) });
    const s = new GatewaySocket(ws, opts.name ?? 'ws');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (opts.token !== undefined) {
      s.send({ type: 'auth', accessToken: opts.token });
      await s.next((m) => m.type === 'ready');
    }
    return s;
  }

  get messages(): any[] {
    return this.log.messages;
  }
  isClosed(): boolean {
    return this.closedAt !== null;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  private cursor = 0;
  /** The messages one by one, in order: the next one not taken yet by shift(). */
  async shift(timeoutMs?: number): Promise<any> {
    const at = this.cursor;
    await this.next(() => true, timeoutMs, at);
    this.cursor = at + 1;
    return this.messages[at];
  }

  /** The first message from `from` (default 0: already received ones count) that matches. */
  next(match: (m: any) => boolean, timeoutMs?: number, from?: number): Promise<any> {
    return this.log.next(match, { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(from !== undefined ? { from } : {}) });
  }
  /** A message that arrives after this call. */
  wait(match: (m: any) => boolean, timeoutMs?: number): Promise<any> {
    return this.next(match, timeoutMs, this.messages.length);
  }
  /** Like next(): an already received message counts too. */
  seen(match: (m: any) => boolean, timeoutMs?: number): Promise<any> {
    return this.next(match, timeoutMs, 0);
  }

  /**
   * A sentinel for absence checks: a ping sent now, answered by its pong. A socket delivers in
   * order, so whatever the gateway had sent on this socket before it answered has arrived
   * once this resolves (the session is re-checked on the way, as for every message).
   * Resolves with the pong's index.
   */
  async sync(timeoutMs = 5000): Promise<number> {
    const id = `sync-${++pings}`;
    const from = this.messages.length;
    this.send({ type: 'ping', id });
    await this.next((m) => m.type === 'pong' && m.id === id, timeoutMs, from);
    return this.messages.findIndex((m, i) => i >= from && m.type === 'pong' && m.id === id);
  }

  async close(): Promise<void> {
    if (!this.isClosed()) this.ws.close();
    await this.closed;
  }
}
