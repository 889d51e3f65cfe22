// The dev host's fetch (main/devhost/node-fetch.ts) behind a TcpProxy: after a sleep a
// connection kept for reuse is a black hole (a request on it hangs until its timeout);
// dropConnections() ends it and a request in flight on it, and the next request opens a new
// connection (what Electron's session.closeAllConnections() does for main's net.fetch).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFetch } from '../../../main/devhost/node-fetch';
import { TcpProxy } from '../../support/tcp-proxy';

let server: http.Server;
let proxy: TcpProxy;
let base = '';
const seen: { method: string; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', body });
      if (req.url === '/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"x"}}');
      if (req.url === '/empty') return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, echo: body }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  base = `http://127.0.0.1:${proxy.port}`;
});
afterAll(async () => {
  await proxy.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('NodeFetch (the dev host fetch main uses)', () => {
  it('sends method, headers and body; answers status, ok and JSON like fetch', async () => {
    const f = new NodeFetch();
    const res = await f.fetch(`${base}/x`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"a":"日本"}' });
    expect({ ok: res.ok, status: res.status, body: await res.json() }).toEqual({ ok: true, status: 200, body: { ok: true, echo: '{"a":"日本"}' } });
    expect(seen.at(-1)).toEqual({ method: 'PATCH', body: '{"a":"日本"}' });
    const missing = await f.fetch(`${base}/missing`);
    expect({ ok: missing.ok, status: missing.status }).toEqual({ ok: false, status: 404 });
    await expect((await f.fetch(`${base}/empty`)).json()).rejects.toThrow(SyntaxError);
    await expect(f.fetch('ftp://127.0.0.1/x')).rejects.toThrow(TypeError);
    f.dropConnections();
  });

  it('after a sleep: a kept connection hangs a request; dropConnections() fails the one in flight at once and the next one opens a new connection', async () => {
    const f = new NodeFetch();
    expect((await f.fetch(`${base}/a`)).status).toBe(200);
    const accepted = proxy.accepted;
    proxy.stallExisting();
    // the kept connection is a black hole: a request on it waits for its own timeout
    await expect(f.fetch(`${base}/b`, { signal: AbortSignal.timeout(300) })).rejects.toThrow(/abort/i);
    expect((await f.fetch(`${base}/c`)).status).toBe(200); // (that abort ended it: a new connection)
    proxy.stallExisting();
    const inFlight = f.fetch(`${base}/d`);
    const t0 = performance.now();
    f.dropConnections();
    await expect(inFlight).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(200);
    const res = await f.fetch(`${base}/e`, { signal: AbortSignal.timeout(2_000) });
    expect(res.status).toBe(200);
    expect(proxy.accepted).toBe(accepted + 2);
    f.dropConnections();
  });
});
