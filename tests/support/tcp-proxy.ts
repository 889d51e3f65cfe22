// A TCP proxy the fault tests put between a client and a server, to fail the network for
// real: `cut()` resets every connection and refuses new ones (what a client sees when its
// network goes: the interface went down, the Wi-Fi changed); `stall()` keeps the connections
// open but moves no byte either way, and new ones hang unanswered (a path that died without a
// word: a sleep, a NAT that forgot the flow); `restore()` goes back to forwarding;
// `stallExisting()` is the network after a sleep: the flows from before are black holes for
// good (a close from either end goes nowhere either), new connections are forwarded. Bytes are
// forwarded as they are (TLS and WebSocket pass through).
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

type Mode = 'open' | 'cut' | 'stall';

interface Pair {
  client: Socket;
  server: Socket | null;
  /** A flow from before a sleep (stallExisting): nothing passes, not even a close, ever. */
  lost?: boolean;
}

export class TcpProxy {
  private mode: Mode = 'open';
  private readonly pairs = new Set<Pair>();
  /** Connections accepted while stalled: connected upstream on restore. */
  private held: Socket[] = [];
  /** Connections held when stallExisting() came: never connected upstream (closed by close()). */
  private lostHeld: Socket[] = [];
  /** Connections accepted in all (a client that reconnected shows here). */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }, host = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((socket) => proxy!.accept(socket));
    proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The proxy's address in a URL of `url`'s scheme and path (ws://h:p/x -> ws://127.0.0.1:proxy/x). */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  }

  /** Connections open now (both ends; lost flows count until cut() or close()). */
  get open(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => undefined); // a reset peer: the pair is torn down in close handlers
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'stall') {
      client.pause();
      this.held.push(client);
      client.once('close', () => (this.held = this.held.filter((s) => s !== client)));
      return;
    }
    this.connect(client);
  }

  private connect(client: Socket): void {
    const pair: Pair = { client, server: null };
    this.pairs.add(pair);
    const server = createConnection(this.target);
    pair.server = server;
    server.on('error', () => undefined);
    client.pipe(server);
    server.pipe(client);
    const end = () => {
      // a lost flow: the other end never hears of it (kept until cut() or close())
      if (pair.lost) return;
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      server.destroy();
    };
    client.once('close', end);
    server.once('close', end);
    if (this.mode === 'stall') this.pausePair(pair);
  }

  private pausePair(p: Pair): void {
    p.client.unpipe();
    p.server?.unpipe();
    p.client.pause();
    p.server?.pause();
  }

  /** Every connection reset (RST), new ones refused the same way until restore(). */
  cut(): void {
    this.mode = 'cut';
    for (const p of [...this.pairs]) {
      this.pairs.delete(p);
      p.client.resetAndDestroy();
      p.server?.resetAndDestroy();
    }
    for (const s of [...this.held, ...this.lostHeld]) s.resetAndDestroy();
    this.held = [];
    this.lostHeld = [];
  }

  /** Connections stay open and silent; new ones are accepted and left hanging. */
  stall(): void {
    this.mode = 'stall';
    for (const p of this.pairs) this.pausePair(p);
  }

  /**
   * The network after a sleep: every connection open now (and every one held by a stall) stays
   * a black hole for good: no byte and no close passes either way, the client's socket looks
   * open until the client itself gives up on it (the NAT or the peer forgot the flow while the
   * PC slept). New connections are forwarded. restore() does not bring the old ones back.
   */
  stallExisting(): void {
    for (const p of this.pairs) {
      p.lost = true;
      this.pausePair(p);
    }
    this.lostHeld.push(...this.held);
    this.held = [];
    this.mode = 'open';
  }

  restore(): void {
    const was = this.mode;
    this.mode = 'open';
    if (was !== 'stall') return;
    for (const p of this.pairs) {
      if (!p.server || p.lost) continue;
      p.client.pipe(p.server);
      p.server.pipe(p.client);
      p.client.resume();
      p.server.resume();
    }
    const held = this.held;
    this.held = [];
    for (const s of held) {
      s.resume();
      if (!s.destroyed) this.connect(s);
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
