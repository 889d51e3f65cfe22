// The dev host: a development and test tool, not a product surface. It runs Koe's real
// main-process services and IPC handlers in Node, serves the built renderer on 127.0.0.1,
// and bridges `window.koe` to the handlers over a loopback WebSocket. Used by `npm start`
// when the Electron binary is unavailable, and by the e2e tests.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveAsset } from '../assets';
import { createDispatcher } from '../ipc/dispatcher';
import { logFailure } from '../best-effort';
import { consoleLogger } from '../log';
import { contentSecurityPolicy } from '../security/csp';
import { FakePowerMonitor } from '../lock/idle-monitor';
import { NodeFetch } from './node-fetch';
import { loadKeytar, type KeytarLike } from '../secrets/vault';
import { createHandlers, createMainServices, wireEvents, type MainDeps, type MainServices } from '../services';
import type { ManagedPolicy } from '../services/policy';

export interface DevHostOptions {
  rendererDir: string;
  bridgeFile: string;
  userDataDir: string;
  port?: number;
  version?: string;
  managedPolicy?: ManagedPolicy;
  clock?: MainDeps['clock'];
  fetch?: MainDeps['fetch'];
  openExternal?: MainDeps['openExternal'];
  externalAllowlist?: readonly string[];
  /** The OS keychain; by default the real keytar (null = no keychain on this "PC"). */
  keytar?: KeytarLike | null;
  deviceName?: string;
  quiet?: boolean;
}

export interface DevHost {
  origin: string;
  services: MainServices;
  /** OS idle time cannot be produced here: tests and developers set it on this fake powerMonitor. */
  power: FakePowerMonitor;
  /** A URL for one page load, carrying a fresh single-use token for the IPC bridge. */
  pageUrl(path?: string): string;
  close(): Promise<void>;
}

export const DEVHOST_TITLE_SUFFIX = 'dev host';

export async function startDevHost(opts: DevHostOptions): Promise<DevHost> {
  const log = consoleLogger('devhost', opts.quiet ? () => undefined : undefined);
  const power = new FakePowerMonitor();
  // main's HTTP through agents the dev host owns (so a resume can end their connections, as
  // Electron's closeAllConnections does); a test's own fetch holds no connection of main's
  const net = opts.fetch ? null : new NodeFetch();
  const services = await createMainServices({
    app: { getName: () => 'Koe', getVersion: () => opts.version ?? '0.0.0', getLocale: () => Intl.DateTimeFormat().resolvedOptions().locale },
    host: 'devhost',
    platform: process.platform,
    userDataDir: opts.userDataDir,
    managedPolicy: opts.managedPolicy ?? {},
    fetch: opts.fetch ?? net!.fetch,
    dropConnections: async () => net?.dropConnections(),
    clock: opts.clock ?? { now: () => Date.now() },
    openExternal: opts.openExternal ?? (async () => undefined),
    externalAllowlist: opts.externalAllowlist ?? [],
    keytar: opts.keytar === undefined ? await loadKeytar() : opts.keytar,
    power,
    deviceName: () => opts.deviceName ?? os.hostname(),
  });
  services.idle.start();

  const tokens = new Set<string>();
  const mint = () => {
    const t = randomBytes(24).toString('base64url');
    tokens.add(t);
    return t;
  };
  const consume = (t: string | null): boolean => {
    if (!t) return false;
    for (const known of tokens) {
      const a = Buffer.from(known);
      const b = Buffer.from(t);
      if (a.length === b.length && timingSafeEqual(a, b)) {
        tokens.delete(known);
        return true;
      }
    }
    return false;
  };

  const bridge = await readFile(opts.bridgeFile);
  let origin = '';
  const csp = () => {
    const p = services.policy.effective().policy;
    return contentSecurityPolicy({ connect: [p.gatewayUrl, p.sipWssUrl], extraConnect: [`ws://${new URL(origin).host}`] });
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/__koe/bridge.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(bridge);
      return;
    }
    const asset = await serveAsset(opts.rendererDir, url.pathname, csp());
    let body = asset.body;
    if (asset.status === 200 && asset.headers['Content-Type']?.startsWith('text/html')) {
      // The dev host's stand-in for Electron's preload: a same-origin classic script that runs before the app's modules.
      body = body.toString().replace('<head>', '<head>\n    <script src="/__koe/bridge.js"></script>');
    }
    res.writeHead(asset.status, asset.headers).end(req.method === 'HEAD' ? undefined : body);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    const fromApp = req.headers.origin === origin;
    if (url.pathname !== '/__koe/ipc' || !fromApp || !consume(url.searchParams.get('token'))) {
      log.warn('devhost: refused IPC socket', { origin: req.headers.origin ?? null });
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.send(JSON.stringify({ resume: mint() }));
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', async (data) => {
        let msg: { id?: unknown; channel?: unknown; input?: unknown };
        try {
          msg = JSON.parse(String(data));
        } catch (err) {
          // the bridge in preload/devhost.ts only sends JSON: anything else is dropped, and said
          logFailure(log, 'devhost: parsing an IPC message', err, { bytes: String(data).length });
          return;
        }
        if (typeof msg.id !== 'number') return;
        const result = await dispatch({ url: req.headers.origin, isMainFrame: true }, String(msg.channel), msg.input);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: msg.id, result }));
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dispatch = createDispatcher(createHandlers(services), origin, log, () => services.lock.current().locked);
  const unwire = wireEvents(services, (event, payload) => {
    const line = JSON.stringify({ event, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(line);
  });

  return {
    origin,
    services,
    power,
    pageUrl: (p = '/') => `${origin}${p}#koe-token=${mint()}`,
    async close() {
      services.idle.stop();
      services.link.stop();
      net?.dropConnections();
      unwire();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
