// A TCP relay in a test: every connection to `port` is piped to the target until the test cuts
// it (every connection dropped, new ones refused) and restores it. Used to take a client's
// gateway link down for real (the sockets close as in a network cut).
import net from 'node:net';

/** A TCP relay to the gateway that the test can cut (every connection dropped, new ones refused) and restore. */
export class Relay {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  private down = false;
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      if (this.down) return void client.destroy();
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined); // the other side's close follows
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }
  restore(): void {
    this.down = false;
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}
