import { describe, expect, it } from 'vitest';
import { GatewayHealthService, type FetchLike } from '../../../main/services/gateway-health';
import { fakeClock, fakeFetch } from '../helpers';

const GW = 'https://gw.koe.example:8443/base/';
const service = (fetch: FetchLike, timeoutMs?: number) => new GatewayHealthService(fetch, () => GW, fakeClock(1000), timeoutMs);
const unreachable = { url: GW, reachable: false, version: null, checkedAt: 1000 };

describe('GatewayHealthService', () => {
  it('asks the gateway origin for /health as JSON and reports it reachable', async () => {
    const f = fakeFetch({ status: 'ok', version: '1.4.0' });
    expect(await service(f.fetch).check()).toEqual({ url: GW, reachable: true, version: '1.4.0', checkedAt: 1000 });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]!.url).toBe('https://gw.koe.example:8443/health');
    expect(f.calls[0]!.init?.headers).toEqual({ accept: 'application/json' });
    expect(f.calls[0]!.init?.signal).toBeInstanceOf(AbortSignal);
  });

  it('a non-ok response is unreachable', async () => {
    expect(await service(fakeFetch({ status: 'ok', version: '1' }, false).fetch).check()).toEqual(unreachable);
  });

  it.each([
    [{ status: 'degraded', version: '1.0.0' }, false, '1.0.0'],
    [{ status: 'ok' }, true, null],
    [{ status: 'ok', version: 7 }, true, null],
    [null, false, null],
    ['ok', false, null],
  ])('body %j -> reachable %s, version %s', async (body, reachable, version) => {
    expect(await service(fakeFetch(body).fetch).check()).toEqual({ url: GW, reachable, version, checkedAt: 1000 });
  });

  it('a fetch that throws is unreachable, not an exception', async () => {
    const fetch: FetchLike = async () => {
      throw new Error('ECONNREFUSED');
    };
    expect(await service(fetch).check()).toEqual(unreachable);
  });

  it('a body that is not JSON is unreachable', async () => {
    const fetch: FetchLike = async () => ({ ok: true, status: 200, json: async () => Promise.reject(new SyntaxError('bad json')) });
    expect(await service(fetch).check()).toEqual(unreachable);
  });

  it('a gateway that never answers is reported unreachable once the timeout aborts the request', async () => {
    let signal: AbortSignal | undefined;
    const hanging: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => {
        signal = init?.signal;
        signal?.addEventListener('abort', () => reject(signal!.reason));
      });
    const started = Date.now();
    expect(await service(hanging, 50).check()).toEqual(unreachable);
    expect(signal?.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('truncates a long version string to 64 characters', async () => {
    const res = await service(fakeFetch({ status: 'ok', version: 'v'.repeat(10_000) }).fetch).check();
    expect(res.version).toBe('v'.repeat(64));
  });

  it('reads the gateway URL from policy at each check', async () => {
    let url = 'https://a.koe.example';
    const f = fakeFetch();
    const svc = new GatewayHealthService(f.fetch, () => url, fakeClock());
    await svc.check();
    url = 'https://b.koe.example';
    await svc.check();
    expect(f.calls.map((c) => c.url)).toEqual(['https://a.koe.example/health', 'https://b.koe.example/health']);
  });
});
