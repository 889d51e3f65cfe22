// The bus's LISTEN connection (PostgreSQL; server/bus/event-bus.ts): a NOTIFY wakes the reader;
// lost, it reconnects (1, 2, ... 30 s) while the bus's poll alone reads, and after connecting it
// asks for one read (whatever was published while it was connecting).
import pg from 'pg';
import { DEFAULT_DATABASE_TIMEOUTS } from '../db/connect';
import { errorSummary } from '../log';

export class ListenConnection {
  private client: pg.Client | null = null;
  private ready = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    /** A NOTIFY came, or the connection is (back) up: read now. */
    private readonly wake: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** Whether the connection is up and listening. */
  get listening(): boolean {
    return this.ready;
  }

  start(): void {
    void this.connect(0);
  }

  private async connect(attempt: number): Promise<void> {
    if (this.closed) return;
    // a server that accepts TCP and never answers: the connect fails and is retried (polling carries the messages meanwhile)
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: DEFAULT_DATABASE_TIMEOUTS.connectMs });
    const retry = (why: string) => {
      if (this.closed || this.client !== client) return;
      this.client = null;
      this.ready = false;
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5));
      this.log(`bus: LISTEN connection lost (${why}); polling meanwhile, reconnecting in ${delay / 1000} s`);
      client.end().catch((err: unknown) => this.log(`bus: ending the broken LISTEN connection failed too (${errorSummary(err).message})`));
      setTimeout(() => void this.connect(attempt + 1), delay).unref();
    };
    this.client = client;
    client.on('notification', () => this.wake());
    client.on('error', (err) => retry(errorSummary(err).message));
    client.on('end', () => retry('ended'));
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
      if (this.client === client) this.ready = true;
      attempt = 0;
      this.wake();
    } catch (err) {
      retry(errorSummary(err).message);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = null;
    this.ready = false;
    await c?.end().catch((err: unknown) => this.log(`bus: closing the LISTEN connection failed (${errorSummary(err).message})`));
  }
}
