// A typed client for the gateway's HTTP API, derived from the same ROUTES table the server
// registers: paths, bodies and responses are typed and validated once, here. It takes the
// fetch function it uses, so main (Node) and the renderer (browser) share it.
import { ErrorBody, type ErrorCode } from './gateway/errors';
import type { PolicyLockout } from './gateway/admin-policy';
import { ROUTES, type RouteBody, type RouteName, type RouteParams, type RouteQuery } from './gateway/api';
import type { z } from 'zod';

/** The subset of WHATWG fetch Koe uses (Node's fetch, Electron's net.fetch and the browser's all fit). */
export type FetchFn = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/** A refusal from the gateway (with its stable code), or `unreachable` when no answer came. */
export class GatewayCallError extends Error {
  constructor(
    readonly code: ErrorCode | 'unreachable' | 'bad_response',
    message: string,
    readonly status: number | null = null,
    readonly details: { lockedUntil?: string; retryAfterSeconds?: number; violations?: string[]; lockout?: PolicyLockout } = {},
  ) {
    super(message);
    this.name = 'GatewayCallError';
  }
}

export type Response<N extends RouteName> = z.output<(typeof ROUTES)[N]['response']>;
export type CallInput<N extends RouteName> = {
  body?: RouteBody<N>;
  params?: RouteParams<N>;
  query?: RouteQuery<N>;
  accessToken?: string;
};

export class GatewayClient {
  constructor(
    private readonly baseUrl: () => string,
    private readonly fetch: FetchFn,
    private readonly timeoutMs = 10_000,
  ) {}

  async call<N extends RouteName>(name: N, input: CallInput<N> = {}): Promise<Response<N>> {
    const spec = ROUTES[name];
    const path = spec.path.replace(/:(\w+)/g, (_, key: string) =>
      encodeURIComponent(String((input.params as Record<string, unknown> | undefined)?.[key] ?? '')),
    );
    const url = new URL(path, this.baseUrl());
    for (const [k, v] of Object.entries((input.query as Record<string, unknown> | undefined) ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    if (input.accessToken) headers.authorization = `Bearer ${input.accessToken}`;

    let res: Awaited<ReturnType<FetchFn>>;
    try {
      res = await this.fetch(url.toString(), {
        method: spec.method,
        headers,
        body: input.body === undefined ? undefined : JSON.stringify(input.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new GatewayCallError('unreachable', `The gateway did not answer: ${(err as Error)?.message ?? err}`);
    }
    // A body that is not JSON (or none: 204) reads as undefined; the schema checks below decide
    // whether that is an answer, and when it is not, the thrown bad_response names why.
    let json: unknown;
    let notJson = '';
    try {
      json = await res.json();
    } catch (err) {
      notJson = ` (the body is not JSON: ${err instanceof Error ? err.name : typeof err})`;
    }
    if (res.status >= 400) {
      const parsed = ErrorBody.safeParse(json);
      if (!parsed.success) throw new GatewayCallError('bad_response', `The gateway answered ${res.status}${notJson}`, res.status);
      const { code, message, lockedUntil, retryAfterSeconds, violations, lockout } = parsed.data.error;
      throw new GatewayCallError(code, message, res.status, { lockedUntil, retryAfterSeconds, violations, ...(lockout ? { lockout } : {}) });
    }
    const parsed = spec.response.safeParse(json);
    if (!parsed.success) throw new GatewayCallError('bad_response', `Unexpected answer from the gateway on ${name}${notJson}`, res.status);
    return parsed.data as Response<N>;
  }
}
