// Main's gateway link against a scripted gateway socket (a real WebSocket server on
// loopback): killed and brought back on the same port, silent (half-open), garbled. Timers
// are the test's, so each reconnect happens when the test fires it; the delays are the
// link's own (jittered, capped).
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { GatewayLink, type LinkTimers } from '../../../main/session/gateway-link';
import type { LinkStatus } from '../../../shared/ipc/contract';
import { recordingLogger } from '../helpers';

const USER = '33333333-3333-4333-8333-333333333333';
const SESSION = '44444444-4444-4444-8444-444444444444';

/** A gateway socket: answers auth with "ready", pings with "pong" (unless silent), records what it got. */
function fakeGateway(port = 0) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  const got: string[] = [];
  const sockets = new Set<WebSocket>();
  const state = { silent: false, ignoreAuth: false };
  const events = new EventEmitter();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string };
      got.push(m.type);
      events.emit(m.type);
      if (m.type === 'auth' && !state.ignoreAuth) ws.send(JSON.stringify({ type: 'ready', userId: USER, sessionId: SESSION }));
      if (m.type === 'ping' && !state.silent) ws.send(JSON.stringify({ type: 'pong' }));
    });
  });
  const listening = new Promise<number>((r) => wss.on('listening', () => r((wss.address() as AddressInfo).port)));
  return {
    wss,
    got,
    sockets,
    state,
    listening,
    /** Resolves when the next message of this type arrives. */
    received: (type: string) => once(events, type),
    /** The gateway process dies: every socket dropped, the port closed. */
    kill: () => new Promise<void>((r) => {
      for (const s of sockets) s.terminate();
      wss.close(() => r());
    }),
  };
}

function manualTimers() {
  let id = 0;
  const timeouts = new Map<number, { fn: () => void; ms: number }>();
  const intervals = new Map<number, () => void>();
  const t: LinkTimers & { timeouts: typeof timeouts; fireTimeout(): number; tickIntervals(): void } = {
    timeouts,
    setTimeout: (fn, ms) => (timeouts.set(++id, { fn, ms }), id),
    clearTimeout: (h) => void timeouts.delete(h as number),
    setInterval: (fn) => (intervals.set(++id, fn), id),
    clearInterval: (h) => void intervals.delete(h as number),
    fireTimeout() {
      const [key, next] = [...timeouts.entries()][0]!;
      timeouts.delete(key);
      next.fn();
      return next.ms;
    },
    tickIntervals: () => [...intervals.values()].forEach((f) => f()),
  };
  return t;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function link(port: () => number, timers: LinkTimers, random = () => 0.5) {
  const { log: recorder, records } = recordingLogger();
  const logged = new EventEmitter();
  const log = {
    warn: (m: string, f?: Record<string, unknown>) => (recorder.warn(m, f), logged.emit('record')),
    error: (m: string, f?: Record<string, unknown>) => (recorder.error(m, f), logged.emit('record')),
  };
  const statuses: LinkStatus[] = [];
  let readies = 0;
  const l = new GatewayLink({
    url: () => `http://127.0.0.1:${port()}`,
    accessToken: async () => 'access-token-0123456789',
    onSessionEnded: () => undefined,
    onReady: () => void readies++,
    timers,
    random,
    log,
  });
  l.onStatus((s) => statuses.push(s));
  cleanups.push(() => l.stop());
  /** Resolves once `n` records are written. */
  const written = (n: number) =>
    new Promise<void>((resolve) => {
      if (records.length >= n) return resolve();
      const on = () => records.length >= n && (logged.off('record', on), resolve());
      logged.on('record', on);
    });
  return { l, statuses, records, written, readies: () => readies };
}

/** A live scripted gateway and a link connected to it. */
async function connected() {
  const gw = fakeGateway();
  const port = await gw.listening;
  cleanups.push(() => gw.kill());
  const timers = manualTimers();
  const ln = link(() => port, timers);
  ln.l.start();
  await next(ln.l, 'connected');
  return { gw, timers, ...ln };
}

const next = (l: GatewayLink, phase: LinkStatus['phase']) =>
  new Promise<void>((resolve) => {
    if (l.status().phase === phase) return resolve();
    const off = l.onStatus((s) => s.phase === phase && (off(), resolve()));
  });

describe('GatewayLink reconnects', () => {
  it('the gateway dies and comes back on the same port: reconnecting (attempt n, jittered wait), then back; onReady again', async () => {
    let gw = fakeGateway();
    const port = await gw.listening;
    cleanups.push(() => gw.kill());
    const timers = manualTimers();
    const { l, statuses, records, readies } = link(() => port, timers, () => 0.5);
    l.start();
    await next(l, 'connected');
    expect(readies()).toBe(1);

    await gw.kill();
    await next(l, 'reconnecting');
    // two failed attempts while the port is closed
    for (let i = 0; i < 2; i++) {
      const attempt = l.status().attempt;
      timers.fireTimeout();
      await new Promise<void>((r) => {
        const off = l.onStatus((s) => s.attempt > attempt && (off(), r()));
      });
    }
    gw = fakeGateway(port);
    await gw.listening;
    timers.fireTimeout();
    await next(l, 'back');
    expect(readies()).toBe(2);
    expect(statuses).toEqual([
      { phase: 'connecting', attempt: 0, retryInMs: null },
      { phase: 'connected', attempt: 0, retryInMs: null },
      { phase: 'reconnecting', attempt: 1, retryInMs: 250 },
      { phase: 'reconnecting', attempt: 2, retryInMs: 500 },
      { phase: 'reconnecting', attempt: 3, retryInMs: 1000 },
      { phase: 'back', attempt: 0, retryInMs: null },
    ]);
    expect(records.filter((r) => r.message === 'the gateway link is down: reconnecting').map((r) => r.fields?.attempt)).toEqual([1, 2, 3]);
    expect(JSON.stringify(records)).not.toContain('access-token');
    // after "back" the backoff starts over
    await gw.kill();
    await next(l, 'reconnecting');
    expect(l.status()).toEqual({ phase: 'reconnecting', attempt: 1, retryInMs: 250 });
  });

  it('the wait is capped however long the gateway stays away', async () => {
    const gw = fakeGateway();
    const port = await gw.listening;
    await gw.kill(); // nothing listens there
    const timers = manualTimers();
    const { l } = link(() => port, timers, () => 1);
    l.start();
    await next(l, 'reconnecting');
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const attempt = l.status().attempt;
      waits.push(timers.fireTimeout());
      await new Promise<void>((r) => {
        const off = l.onStatus((s) => s.attempt > attempt && (off(), r()));
      });
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]);
  });

  it('a gateway that stops answering pings (half-open) is dropped at the next ping, then reconnected', async () => {
    const { gw, timers, l, records } = await connected();
    gw.state.silent = true;
    const pinged = gw.received('ping');
    timers.tickIntervals(); // ping sent, no pong
    await pinged;
    timers.tickIntervals(); // still none: the socket is ended
    await next(l, 'reconnecting');
    expect(records.map((r) => r.message)).toContain('the gateway did not answer a ping: ending the socket');
    gw.state.silent = false;
    timers.fireTimeout();
    await next(l, 'back');
  });

  it('a socket that opens but is never let in (the path died after the upgrade) is ended after 10 s, said, and reconnected: never "connecting" for good', async () => {
    const gw = fakeGateway();
    const port = await gw.listening;
    cleanups.push(() => gw.kill());
    gw.state.ignoreAuth = true;
    const timers = manualTimers();
    const { l, records, statuses } = link(() => port, timers);
    const authSent = gw.received('auth');
    l.start();
    await authSent;
    expect(l.status().phase).toBe('connecting');
    expect([...timers.timeouts.values()].map((t) => t.ms)).toEqual([10_000]);
    timers.fireTimeout(); // 10 s without "ready"
    await next(l, 'reconnecting');
    expect(records.map((r) => r.message)).toEqual(['the gateway did not let the link in within its time: ending the socket', 'the gateway link is down: reconnecting']);
    expect(records[0]!.fields).toEqual({ waitedMs: 10_000 });
    gw.state.ignoreAuth = false;
    expect([...timers.timeouts.values()].map((t) => t.ms)).toEqual([250]); // only the retry: the ended socket's timer is gone
    timers.fireTimeout();
    await next(l, 'back');
    expect(statuses.map((s) => s.phase)).toEqual(['connecting', 'reconnecting', 'back']);
    expect(timers.timeouts.size).toBe(0); // let in: nothing left to end it
  });

  it('garbled or unknown frames are dropped and logged (their size or type, not their text); the link stays', async () => {
    const { gw, l, records, written } = await connected();
    const ws = [...gw.sockets][0]!;
    ws.send('not json eyJhbGciOiJIUzI1NiJ9.secret');
    ws.send(JSON.stringify({ type: 'surprise', customer: '高橋 美咲' }));
    ws.send(JSON.stringify({ type: 'pong' }));
    await written(2);
    expect(records.slice(0, 2)).toEqual([
      { level: 'warn', message: 'parsing a gateway message failed', fields: { bytes: 36, error: 'SyntaxError' } },
      { level: 'warn', message: 'a gateway message does not match the contract: dropped', fields: { type: 'surprise' } },
    ]);
    expect(l.status().phase).toBe('connected');
  });

  it('stop() while reconnecting: offline, no retry left, no socket opened afterwards', async () => {
    const gw = fakeGateway();
    const port = await gw.listening;
    await gw.kill();
    const timers = manualTimers();
    const { l, statuses } = link(() => port, timers);
    l.start();
    await next(l, 'reconnecting');
    l.stop();
    expect(timers.timeouts.size).toBe(0);
    expect(statuses.at(-1)).toEqual({ phase: 'offline', attempt: 0, retryInMs: null });
    expect(l.readyState).toBe('closed');
  });
});

describe('GatewayLink forwards security alerts (issue 17)', () => {
  it('an alert push reaches onAlert listeners; one that breaks the contract is dropped', async () => {
    const { gw, l } = await connected();
    const got: unknown[] = [];
    const off = l.onAlert((a) => got.push(a));
    const alert = {
      id: '55555555-5555-4555-8555-555555555555', kind: 'ip_refused', userId: null, username: null, deviceId: null, deviceName: null,
      sourceIp: '198.51.100.7', via: 'sign-in', lockedUntil: null, occurrences: 1, createdAt: '2026-11-30T01:00:00.000Z',
      lastAt: '2026-11-30T01:00:00.000Z', acknowledgedAt: null,
    };
    const arrived = new Promise<void>((resolve) => l.onAlert(() => resolve()));
    for (const s of gw.sockets) {
      s.send(JSON.stringify({ type: 'alert', alert: { ...alert, kind: 'made_up' } }));
      s.send(JSON.stringify({ type: 'alert', alert }));
    }
    await arrived;
    expect(got).toEqual([alert]);
    off();
  });
});
