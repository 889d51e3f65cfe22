import type { GatewayHealth } from '../../shared/ipc/contract';
import type { FetchFn } from '../../shared/gateway-client';
import type { Clock } from '../lock/lock-service';
import { errorFields, logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';
import { consoleLogger } from '../log';

export type FetchLike = FetchFn;

/** Asks the gateway's `/health`; a slow or absent gateway is reported as unreachable within the timeout. */
export class GatewayHealthService {
  constructor(
    private readonly fetch: FetchLike,
    private readonly gatewayUrl: () => string,
    private readonly clock: Clock,
    private readonly timeoutMs = 2_000,
    private readonly log: Logger = consoleLogger('gateway-health'),
  ) {}

  private lastFailure: string | null = null;

  async check(): Promise<GatewayHealth> {
    const url = this.gatewayUrl();
    const base = { url, checkedAt: this.clock.now() };
    try {
      const res = await this.fetch(new URL('/health', url).toString(), {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'application/json' },
      });
      this.lastFailure = null;
      if (!res.ok) return { ...base, reachable: false, version: null };
      const body = (await res.json()) as { status?: unknown; version?: unknown };
      return {
        ...base,
        reachable: body?.status === 'ok',
        version: typeof body?.version === 'string' ? body.version.slice(0, 64) : null,
      };
    } catch (err) {
      // Unreachable is this check's answer (the status bar shows it); the cause goes to the
      // log once per change of cause (the check is polled: a gateway down for an hour is one line).
      const cause = JSON.stringify(errorFields(err));
      if (cause !== this.lastFailure) logFailure(this.log, 'gateway health check', err);
      this.lastFailure = cause;
      return { ...base, reachable: false, version: null };
    }
  }
}
