// The one gateway test client: every test that calls the gateway's HTTP API goes through it,
// in-process (Fastify inject: the source address can be set) or over HTTP (a gateway that
// listens: the telephony stack, the e2e harnesses). A response is its status, its body (JSON
// parsed when it is JSON, else the text), the raw text and the headers.

export interface GatewayResponse {
  status: number;
  body: any;
  /** The body as sent (byte-for-byte comparisons). */
  text: string;
  headers: Record<string, unknown>;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, with content-type application/json (broken JSON, oversized bodies). */
  raw?: string;
  /** The source address (in-process only: a socket cannot choose its address). */
  ip?: string;
  headers?: Record<string, string>;
}

interface WireRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  ip?: string;
}
type Send = (req: WireRequest) => Promise<{ status: number; text: string; headers: Record<string, unknown> }>;

/** What inject needs of a Fastify app (server/gateway.ts createGateway().app). */
interface Injectable {
  inject(opts: { method: 'GET'; url: string; headers: Record<string, string>; payload?: string; remoteAddress?: string }): PromiseLike<{ statusCode: number; body: string; headers: Record<string, unknown> }>;
}

export class GatewayTestClient {
  private readonly tokens = new Map<string, Promise<string>>();

  private constructor(
    private readonly send: Send,
    private readonly defaults: { ip?: string; headers?: Record<string, string> },
  ) {}

  /** In-process: Fastify inject; `ip` is the default source address. */
  static inject(app: Injectable, defaults: { ip?: string; headers?: Record<string, string> } = {}): GatewayTestClient {
    return new GatewayTestClient(async (r) => {
      const res = await app.inject({
        method: r.method as 'GET',
        url: r.url,
        headers: r.headers,
        ...(r.payload !== undefined ? { payload: r.payload } : {}),
        ...(r.ip !== undefined ? { remoteAddress: r.ip } : {}),
      });
      return { status: res.statusCode, text: res.body, headers: res.headers };
    }, defaults);
  }

  /** Over HTTP to a listening gateway (`base`: http://host:port, or a function read per request). */
  static http(base: string | (() => string), defaults: { headers?: Record<string, string> } = {}): GatewayTestClient {
    return new GatewayTestClient(async (r) => {
      if (r.ip !== undefined) throw new Error(`${r.method} ${r.url}: an HTTP client cannot choose its source address (ip ${r.ip}); use the in-process client`);
      const res = await fetch(`${typeof base === 'function' ? base() : base}${r.url}`, {
        method: r.method,
        headers: r.headers,
        ...(r.payload !== undefined ? { body: r.payload } : {}),
      });
      return { status: res.status, text: await res.text(), headers: Object.fromEntries(res.headers) };
    }, defaults);
  }

  async req(method: string, url: string, opts: RequestOptions = {}): Promise<GatewayResponse> {
    const payload = opts.raw !== undefined ? opts.raw : opts.body !== undefined ? JSON.stringify(opts.body) : undefined;
    const ip = opts.ip ?? this.defaults.ip;
    const res = await this.send({
      method,
      url,
      headers: {
        ...this.defaults.headers,
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(payload !== undefined ? { payload } : {}),
      ...(ip !== undefined ? { ip } : {}),
    });
    let body: unknown = res.text;
    try {
      body = JSON.parse(res.text);
    } catch {
      // not JSON (an empty body, a plain-text answer): the text is the body
    }
    return { status: res.status, body, text: res.text, headers: res.headers };
  }

  /** A request that must answer 200: its body, or an error naming the route and the answer. */
  async ok(method: string, url: string, token?: string, body?: unknown): Promise<any> {
    const res = await this.req(method, url, { token, ...(body !== undefined ? { body } : {}) });
    if (res.status !== 200) throw new Error(`${method} ${url}: ${res.status} ${res.text.slice(0, 500)}`);
    return res.body;
  }

  /** Password sign-in without a device or TOTP (orgs that bind no device for this role): the access token, one sign-in per username. */
  token(username: string, password: string): Promise<string> {
    let token = this.tokens.get(username);
    if (!token) {
      token = this.ok('POST', '/auth/sign-in', undefined, { username, password }).then((b: { tokens: { accessToken: string } }) => b.tokens.accessToken);
      token.catch(() => this.tokens.delete(username));
      this.tokens.set(username, token);
    }
    return token;
  }
}
