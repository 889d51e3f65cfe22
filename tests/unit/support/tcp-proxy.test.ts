// The fault tests' TCP proxy (tests/support/tcp-proxy.ts), its sleep mode: after
// stallExisting() a connection from before is a black hole for good (no byte, no close, either
// way; restore() does not revive it) while a new connection is forwarded.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** An echo server that keeps its sockets (the test closes one from the server side). */
async function echo(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

function client(port: number) {
  const s = createConnection({ host: '127.0.0.1', port });
  const got: string[] = [];
  let closed = false;
  s.on('data', (d) => got.push(String(d)));
  s.on('error', () => undefined);
  s.on('close', () => (closed = true));
  cleanup.push(() => void s.destroy());
  return { s, got, closed: () => closed, connected: new Promise<void>((r) => s.once('connect', () => r())) };
}

describe('TcpProxy.stallExisting (the network after a sleep)', () => {
  it('old flows: no byte, no close, never again; new flows: forwarded', async () => {
    const up = await echo();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: up.port });
    cleanup.push(() => proxy.close());
    const old = client(proxy.port);
    await old.connected;
    old.s.write('before');
    await expect.poll(() => old.got.join('')).toBe('before');

    proxy.stallExisting();
    old.s.write('after');
    const fresh = client(proxy.port);
    await fresh.connected;
    fresh.s.write('new');
    await expect.poll(() => fresh.got.join('')).toBe('new');
    // the server ends the old flow: the client does not hear of it
    await expect.poll(() => up.sockets.length).toBe(2);
    up.sockets[0]!.destroy();
    proxy.restore();
    await sleep(200);
    expect(old.got.join('')).toBe('before');
    expect(old.closed()).toBe(false);
    expect(proxy.accepted).toBe(2);
  });

  it('a connection held by a stall stays unanswered after it; close() ends every flow', async () => {
    const up = await echo();
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: up.port });
    proxy.stall();
    const held = client(proxy.port);
    await held.connected;
    held.s.write('x');
    proxy.stallExisting();
    const fresh = client(proxy.port);
    fresh.s.write('y');
    await expect.poll(() => fresh.got.join('')).toBe('y');
    await sleep(100);
    expect(held.got).toEqual([]);
    expect(up.sockets).toHaveLength(1);
    await proxy.close();
    await expect.poll(() => held.closed() && fresh.closed()).toBe(true);
  });
});
