// The whole local telephony stack on loopback: the Koe gateway (in process), rtpengine and
// Kamailio (child processes, foreground, run dir with generated config, certificate, secrets
// and logs). Free ports are probed, so parallel test files do not clash. Used by
// `npm run stack` (deploy/stack-cli.ts), the telephony tests and the bench. With `gateways`,
// `kamailios` and `postgresUrl`: the local HA stack (more gateway instances as child processes on
// one PostgreSQL, Kamailio nodes sharing registrations, one rtpengine each; docs/telephony.md
// "Several gateways, several Kamailio").
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { accessSync, closeSync, constants, mkdirSync, openSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TEST_ARGON2, type GatewayConfigInput } from '../server/config';
import { openDatabase } from '../server/db/connect';
import { createGateway, type Gateway } from '../server/gateway';
import { ensureAnnouncements } from './announcements/generate';

const here = path.dirname(fileURLToPath(import.meta.url));
const KAMAILIO_CFG = path.join(here, 'kamailio', 'koe.cfg');
const RTPENGINE_CONF = path.join(here, 'rtpengine', 'rtpengine.conf');
const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const LOOPBACK = '127.0.0.1';

export interface StackOptions {
  /** PGlite data directory; null (default) = PGlite in memory. */
  dataDir?: string | null;
  /** Seed the demo org, users, campaigns and DIDs (`seed --demo`). */
  seedDemo?: boolean;
  /** Origins allowed to open the SIP WebSocket; `*` as port = any port. Default: koe://app and http://127.0.0.1:*. */
  appOrigins?: string[];
  gatewayConfig?: GatewayConfigInput;
  /** Gateway HTTP port (default: a free one). */
  gatewayPort?: number;
  /** Keep the run dir after stop (logs); also KOE_STACK_KEEP=1. */
  keepRunDir?: boolean;
  /** Kamailio's flood and connection limits (koe.cfg's defines; docs/telephony.md). */
  limits?: KamailioLimits;
  /** Where Kamailio asks for DID routes (default: the gateway pool's /sip/route); tests put a proxy here. */
  routeUrl?: string;
  /**
   * Gateway instances (default 1). The first runs in this process (`gateway`); the others are
   * child processes (`tsx server/cli.ts serve`) on the same database, so `postgresUrl` is required
   * with more than one. Kamailio asks any healthy one (koe.cfg route[GW_QUERY]).
   */
  gateways?: number;
  /**
   * Every gateway in Kamailio's pool a child process (gateways 0..n-1), none in this process:
   * for restarts of each instance as a real process (the rolling-restart test). `gateway` (in
   * this process) still migrates and seeds the database and answers the caller's own API calls
   * at `gatewayUrl`, but Kamailio never asks it. Needs `postgresUrl`.
   */
  gatewayProcesses?: boolean;
  /** PostgreSQL for every gateway instance (instead of PGlite). */
  postgresUrl?: string;
  /**
   * Kamailio nodes, each with its own rtpengine (default 1). With 2 or more they form a DMQ
   * cluster: registrations replicated, a call for an operator connected to another node is
   * relayed there along the registration's Path (docs/telephony.md).
   */
  kamailios?: number;
}

/** One Kamailio node and the rtpengine it anchors its calls on. */
export interface StackNode {
  index: number;
  sip: Stack['sip'];
  rtpengine: { ngHost: string; ngPort: number };
  controlUrl: string;
  rpc(...args: string[]): Promise<string>;
  logs: { kamailio: string; rtpengine: string };
  /** The Kamailio process (for fault tests: kill it). */
  kamailioPid: number | undefined;
}

/** One gateway instance; `process` is null for the in-process one. */
export interface StackGateway {
  index: number;
  url: string;
  process: ChildProcess | null;
  log: string | null;
}

/** Flood / connection / memory limits of Kamailio; the defaults are koe.cfg's and KAMAILIO_SHM_MB. */
export interface KamailioLimits {
  /** Requests per source address per 2 s before a ban (pike); default 200. */
  floodDensity?: number;
  /** Ban length in seconds; default 60. */
  banSeconds?: number;
  /** WebSocket connections per source address; default 300. */
  wsPerSource?: number;
  /** A WebSocket that has not authenticated after this many seconds is closed; default 60. */
  wsAuthDeadlineSeconds?: number;
  /** All TCP / TLS connections; defaults 4096 / 2048. */
  tcpMaxConnections?: number;
  tlsMaxConnections?: number;
  /** New WebSockets are refused below this much free shared memory (bytes); default 16 MiB. */
  shmReserveBytes?: number;
  /** Kamailio's shared memory (-m), MiB; default KAMAILIO_SHM_MB. */
  shmMb?: number;
}

/** Kamailio's shared memory (-m, MiB): sized for tcp/tls_max_connections (docs/telephony.md). */
export const KAMAILIO_SHM_MB = 256;
/** Kamailio's private memory per process (-M, MiB). */
export const KAMAILIO_PKG_MB = 8;

export interface Stack {
  gateway: Gateway;
  gatewayUrl: string;
  sip: {
    domain: string;
    /** ws://127.0.0.1:p: loopback tests only. */
    wsUrl: string;
    wssUrl: string;
    /** Where the trusted trunk (baresip as the PSTN) must send from: UDP host:port. */
    trunk: { host: string; port: number };
    /** Kamailio's UDP SIP socket (the trunk sends its INVITEs here). */
    udp: { host: string; port: number };
  };
  rtpengine: { ngHost: string; ngPort: number };
  /** Every Kamailio node (nodes[0] is the one `sip`, `rtpengine` and `rpc` describe). */
  nodes: StackNode[];
  /** Every gateway instance in Kamailio's pool (gateways[0] is `gateway`, in this process, unless `gatewayProcesses`). */
  gateways: StackGateway[];
  runDir: string;
  /** The certificate Kamailio serves on WSS (PEM), for clients that pin it. */
  certificatePem: string;
  /** Kamailio RPC over its ctl socket (kamcmd), e.g. rpc('core.shmmem'). */
  rpc(...args: string[]): Promise<string>;
  /** Kamailio's shared memory now (core.shmmem), bytes. */
  shmem(): Promise<{ total: number; free: number; used: number; realUsed: number; maxUsed: number; fragments: number }>;
  /**
   * Restarts gateway instance `i` on its port (a rolling restart): a child gets SIGTERM (its
   * graceful shutdown) and is spawned again; gateway 0 (in process) is closed and created again
   * on the same database (`gateway` then is the new one). `downMs`: how long it stays down in
   * between (default 0). Resolves once it serves again (/health).
   */
  restartGateway(i: number, opts?: { downMs?: number }): Promise<void>;
  /**
   * Restarts node `i`'s Kamailio (same config, ports and log): SIGTERM, or `kill` SIGKILL to its
   * process group (a crash); `downMs` between. Its memory (registrations, dialogs' htable) is gone,
   * as in production without a database behind usrloc. Resolves once it answers OPTIONS again.
   */
  restartKamailio(i: number, opts?: { downMs?: number; kill?: boolean }): Promise<void>;
  /** Restarts node `i`'s rtpengine the same way: every call it anchored is forgotten. */
  restartRtpengine(i: number, opts?: { downMs?: number; kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** A clear error naming the Debian package of every missing part. */
export function missingTelephonyPackages(extra: { baresip?: boolean; chromium?: boolean } = {}): string[] {
  const missing: string[] = [];
  const need = (file: string, pkg: string) => {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      missing.push(`${file} (Debian package: ${pkg})`);
    }
  };
  need('/usr/sbin/kamailio', 'kamailio');
  need(`${MODULES}/websocket.so`, 'kamailio-websocket-modules');
  need(`${MODULES}/tls.so`, 'kamailio-tls-modules');
  need(`${MODULES}/auth_ephemeral.so`, 'kamailio-autheph-modules');
  need(`${MODULES}/http_client.so`, 'kamailio-utils-modules');
  need(`${MODULES}/jansson.so`, 'kamailio-extra-modules');
  need('/usr/bin/rtpengine', 'rtpengine-daemon');
  need('/usr/bin/openssl', 'openssl');
  // the announcements (deploy/announcements/generate.ts)
  need('/usr/bin/espeak-ng', 'espeak-ng');
  need('/usr/bin/sox', 'sox');
  if (extra.baresip) need('/usr/bin/baresip', 'baresip-core');
  if (extra.chromium) need('/usr/bin/chromium', 'chromium');
  return missing;
}

export function assertTelephonyPackages(extra: { baresip?: boolean; chromium?: boolean } = {}): void {
  const missing = missingTelephonyPackages(extra);
  if (missing.length) throw new Error(`the telephony stack needs these Debian packages:\n  - ${missing.join('\n  - ')}\n(apt-get install them, or run bash .ci/run)`);
}

/**
 * A port to listen on, picked at random below the kernel's ephemeral range (32768-60999 here):
 * a port the kernel handed out with listen(0) can be taken moments later as the local port of
 * some outgoing connection (a baresip once failed to bind its SIP port that way), and a port
 * below the range is never used for those. 'both' is free on TCP and UDP (SIP listens on both).
 */
export async function freePort(kind: 'tcp' | 'udp' | 'both'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
    if (kind !== 'udp' && !(await bindable('tcp', p))) continue;
    if (kind !== 'tcp' && !(await bindable('udp', p))) continue;
    return p;
  }
  throw new Error(`no free ${kind} port in ${PORT_LOW}-${PORT_HIGH}`);
}

const PORT_LOW = 20_000;
const PORT_HIGH = 32_000;

function bindable(kind: 'tcp' | 'udp', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'tcp') {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, LOOPBACK, () => s.close(() => resolve(true)));
    } else {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Origin allowlist -> the regex Kamailio matches $hdr(Origin) against (no backslashes: [.] etc.). */
export function originRegex(origins: string[]): string {
  const parts = origins.map((o) => {
    if (!/^(koe:\/\/app|https?:\/\/[A-Za-z0-9.-]+(:(\d{1,5}|\*))?)$/.test(o)) throw new Error(`appOrigins: not an origin: ${o}`);
    return o
      .split('')
      .map((c) => (c === '*' ? '[0-9]+' : /[A-Za-z0-9:/-]/.test(c) ? c : `[${c}]`))
      .join('');
  });
  return `^(${parts.join('|')})$`;
}

async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, log: string, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) during start-up; log tail (${log}):\n${tail(log)}`);
    }
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms; log tail (${log}):\n${tail(log)}`);
}

function udpExchange(host: string, port: number, payload: Buffer, timeoutMs = 300): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v: Buffer | null) => {
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => done(null), timeoutMs);
    s.on('message', (m) => done(m));
    s.on('error', () => done(null));
    s.send(payload, port, host);
  });
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, host);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

function sipOptions(host: string, port: number, fromPort: number): Buffer {
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  return Buffer.from(
    `OPTIONS sip:${host}:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${host}:${fromPort};branch=${branch};rport\r\nMax-Forwards: 70\r\n` +
      `From: <sip:ping@${host}>;tag=${randomBytes(4).toString('hex')}\r\nTo: <sip:${host}:${port}>\r\nCall-ID: ${randomBytes(8).toString('hex')}\r\n` +
      `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
  );
}

function spawnLogged(cmd: string, args: string[], log: string, env?: NodeJS.ProcessEnv, cwd?: string): ChildProcess {
  const fd = openSync(log, 'a');
  // own process group: Kamailio forks workers; stopping the group leaves no orphan behind
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true, ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) });
  closeSync(fd);
  return child;
}

async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(4000).then(() => false)]);
  if (!killed) {
    killGroup(child, 'SIGKILL');
    await exited;
  }
  killGroup(child, 'SIGKILL'); // workers that outlived their main process
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** Resolves once no process of `child`'s group is left (a killed Kamailio's workers hold its ports until they are gone). */
async function groupGone(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (!child.pid) return;
      process.kill(-child.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return; // the group is empty
      throw err;
    }
    if (Date.now() > end) throw new Error(`process group ${child.pid} still alive ${timeoutMs} ms after SIGKILL`);
    await sleep(20);
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(c: ChildProcess) {
  live.add(c);
  c.once('exit', () => live.delete(c));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const ch of live) killGroup(ch, 'SIGKILL');
    });
  }
}

const REPO = path.resolve(here, '..');

/** Environment of a child gateway: this process's, without any gateway setting (the config file decides). */
function childGatewayEnv(configFile: string, databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KOE_GATEWAY_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, KOE_GATEWAY_CONFIG: configFile, DATABASE_URL: databaseUrl };
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.body?.cancel();
  return res.status === 200;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  assertTelephonyPackages();
  const nGateways = opts.gateways ?? 1;
  const nNodes = opts.kamailios ?? 1;
  if (!Number.isSafeInteger(nGateways) || nGateways < 1 || nGateways > 4) throw new Error('gateways: 1 to 4 (koe.cfg KOE_GATEWAY_URL1..4)');
  if (!Number.isSafeInteger(nNodes) || nNodes < 1 || nNodes > 4) throw new Error('kamailios: 1 to 4');
  if (nGateways > 1 && !opts.postgresUrl) throw new Error('gateways > 1 needs postgresUrl: instances share one PostgreSQL (PGlite is one process)');
  if (opts.gatewayProcesses && !opts.postgresUrl) throw new Error('gatewayProcesses needs postgresUrl: the processes share one PostgreSQL');
  const runDir = mkdtempSync(path.join(tmpdir(), 'koe-stack-'));
  const keep = opts.keepRunDir || process.env.KOE_STACK_KEEP === '1';
  let gateway: Gateway | null = null;
  const children: ChildProcess[] = [];

  const stop = async () => {
    // Kamailio first (it asks the gateways), then rtpengine, then the gateways
    for (const c of [...children].reverse()) await stopChild(c);
    if (gateway) {
      // stopping goes on whatever fails, but says what failed
      await gateway.close().catch((err: unknown) => console.warn(`stack: closing the gateway failed: ${(err as Error).message}`));
      await gateway.ctx.db.destroy().catch((err: unknown) => console.warn(`stack: closing the gateway's database failed: ${(err as Error).message}`));
    }
    if (!keep) rmSync(runDir, { recursive: true, force: true });
  };

  try {
    // -- secrets and certificate (run dir only, mode 0600 / 0700)
    const authephSecret = randomBytes(32).toString('base64url');
    const routeSecret = randomBytes(32).toString('base64url');
    mkdirSync(path.join(runDir, 'tls'), { mode: 0o700 });
    await promisify(execFile)('/usr/bin/openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
      '-keyout', path.join(runDir, 'tls', 'key.pem'), '-out', path.join(runDir, 'tls', 'cert.pem'),
      '-subj', '/CN=Koe dev stack', '-addext', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4,DNS:localhost',
    ]);
    const certificatePem = readFileSync(path.join(runDir, 'tls', 'cert.pem'), 'utf8');

    // -- ports: per Kamailio node (SIP UDP/TCP, WS, WSS, control, its rtpengine's ng); one trunk
    const trunkPort = await freePort('both');
    // Node i listens on 127.0.0.<i+1> (on loopback as on separate hosts): Kamailio tells its own
    // addresses by host (a peer's Path must not look local), so the nodes may not share one.
    const ports: { host: string; sip: number; ws: number; wss: number; control: number; ng: number; rtpBase: number }[] = [];
    for (let i = 0; i < nNodes; i++) {
      ports.push({
        host: `127.0.0.${i + 1}`,
        sip: await freePort('both'), ws: await freePort('tcp'), wss: await freePort('tcp'), control: await freePort('tcp'), ng: await freePort('udp'),
        rtpBase: 20_000 + Math.floor(Math.random() * 200) * 200,
      });
    }
    const p0 = ports[0]!;

    // -- gateway config (the same for every instance)
    const domain = opts.gatewayConfig?.sip?.domain ?? 'koe.local';
    const gc = opts.gatewayConfig ?? {};
    const gatewayConfig: GatewayConfigInput = {
      argon2: TEST_ARGON2,
      ...gc,
      host: LOOPBACK,
      port: 0,
      sip: {
        ...gc.sip,
        domain,
        authephSecrets: gc.sip?.authephSecrets?.length ? gc.sip.authephSecrets : [authephSecret],
        routeSecret: gc.sip?.routeSecret ?? routeSecret,
        wsServers: gc.sip?.wsServers ?? ports.flatMap((p) => [`wss://${p.host}:${p.wss}`, `ws://${p.host}:${p.ws}`]),
        rtpengineNg: gc.sip?.rtpengineNg ?? `${LOOPBACK}:${p0.ng}`,
        ...(nNodes > 1 ? { rtpengineNodes: gc.sip?.rtpengineNodes ?? ports.map((p) => `${LOOPBACK}:${p.ng}`) } : {}),
        kamailioControlUrl: gc.sip?.kamailioControlUrl ?? `http://${LOOPBACK}:${p0.control}/koe/access-cuts`,
        // Koe's announcements, generated once and cached (rtpengine reads them); an org's own in the run dir
        announcementsDir: gc.sip?.announcementsDir ?? ensureAnnouncements(),
        announcementsCacheDir: gc.sip?.announcementsCacheDir ?? path.join(runDir, 'announcements'),
      },
    };

    // -- gateway 0 (in process; it migrates the database)
    const db = await openDatabase(opts.postgresUrl ? { kind: 'postgres', url: opts.postgresUrl } : { kind: 'pglite', dataDir: opts.dataDir ?? null });
    gateway = await createGateway({ db, config: gatewayConfig });
    const gatewayUrl = await gateway.app.listen({ port: opts.gatewayPort ?? 0, host: LOOPBACK });
    const sipCfg = gateway.ctx.config.sip;
    if (opts.seedDemo) {
      const { seedDemo } = await import('../server/seed');
      const { seedDemoCrm } = await import('../server/crm/seed');
      const { orgId } = await seedDemo(gateway.ctx);
      await seedDemoCrm(gateway.ctx, orgId);
    }
    const gateways: StackGateway[] = opts.gatewayProcesses ? [] : [{ index: 0, url: gatewayUrl, process: null, log: null }];
    const spawnGateway = (cfgFile: string, log: string) => {
      // node itself with tsx's loader: one process (the tsx CLI would put a second one between)
      const child = spawnLogged(process.execPath, ['--import', 'tsx', path.join(REPO, 'server', 'cli.ts'), 'serve'], log, childGatewayEnv(cfgFile, opts.postgresUrl!), REPO);
      trackChild(child);
      children.push(child);
      return child;
    };

    // -- gateways 1.. (child processes on the same PostgreSQL; the JWT secret is the database's
    // or the config's, so a token from one instance is good on every other)
    for (let g = opts.gatewayProcesses ? 0 : 1; g < nGateways; g++) {
      const port = await freePort('tcp');
      const cfgFile = path.join(runDir, `gateway-${g}.json`);
      writeFileSync(cfgFile, JSON.stringify({ ...gatewayConfig, port, host: LOOPBACK }), { mode: 0o600 });
      const log = path.join(runDir, `gateway-${g}.log`);
      const child = spawnGateway(cfgFile, log);
      const url = `http://${LOOPBACK}:${port}`;
      await waitFor(`gateway ${g}`, () => httpOk(`${url}/health`), child, log, 60_000);
      gateways.push({ index: g, url, process: child, log });
    }

    // -- rtpengine + Kamailio per node
    writeFileSync(
      path.join(runDir, 'tls.cfg'),
      `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n` +
        `private_key = ${runDir}/tls/key.pem\ncertificate = ${runDir}/tls/cert.pem\n`,
      { mode: 0o600 },
    );
    const origins = opts.appOrigins ?? ['koe://app', 'http://127.0.0.1:*'];
    const secrets = sipCfg.authephSecrets;
    const lim = opts.limits ?? {};
    const limitDefines: [string, number | undefined][] = [
      ['KOE_FLOOD_DENSITY', lim.floodDensity],
      ['KOE_BAN_SECONDS', lim.banSeconds],
      ['KOE_WS_PER_SOURCE', lim.wsPerSource],
      ['KOE_WS_UNAUTH_DEADLINE', lim.wsAuthDeadlineSeconds],
      ['KOE_TCP_MAX_CONNECTIONS', lim.tcpMaxConnections],
      ['KOE_TLS_MAX_CONNECTIONS', lim.tlsMaxConnections],
      ['KOE_SHM_RESERVE', lim.shmReserveBytes],
    ];
    for (const [name, v] of limitDefines) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new Error(`limits: ${name} must be a positive integer`);
    }
    if (opts.routeUrl !== undefined && !/^https?:\/\/[A-Za-z0-9.:\[\]/_-]+$/.test(opts.routeUrl)) throw new Error(`routeUrl: not a plain http(s) URL: ${opts.routeUrl}`);
    const nodes: StackNode[] = [];
    /** Each node's Kamailio and rtpengine, and how to start each again (restartKamailio, restartRtpengine). */
    const processes: { rtpengine: ChildProcess; kamailio: ChildProcess; startRtpengine(): Promise<ChildProcess>; startKamailio(): Promise<ChildProcess> }[] = [];
    for (let i = 0; i < nNodes; i++) {
      const p = ports[i]!;
      const sfx = i === 0 ? '' : `-${i}`;
      const nodeDir = i === 0 ? runDir : path.join(runDir, `node${i}`);
      if (i > 0) mkdirSync(nodeDir, { mode: 0o700 });

      const rtpConf = readFileSync(RTPENGINE_CONF, 'utf8')
        .replaceAll('@INTERFACE@', LOOPBACK)
        .replaceAll('@NG_HOST@', LOOPBACK)
        .replaceAll('@NG_PORT@', String(p.ng))
        .replaceAll('@PORT_MIN@', String(p.rtpBase))
        .replaceAll('@PORT_MAX@', String(p.rtpBase + 199))
        .replaceAll('@RUN_DIR@', nodeDir);
      writeFileSync(path.join(runDir, `rtpengine${sfx}.conf`), rtpConf);
      const rtpLog = path.join(runDir, `rtpengine${sfx}.log`);
      const startRtpengine = async (): Promise<ChildProcess> => {
        const rtpe = spawnLogged('/usr/bin/rtpengine', ['--config-file', path.join(runDir, `rtpengine${sfx}.conf`), '--config-section', 'rtpengine'], rtpLog);
        trackChild(rtpe);
        children.push(rtpe);
        await waitFor(
          `rtpengine ${i}`,
          async () => {
            const res = await udpExchange(LOOPBACK, p.ng, Buffer.from('ready d7:command4:pinge'));
            return !!res && res.toString().includes('pong');
          },
          rtpe,
          rtpLog,
        );
        return rtpe;
      };
      const rtpe = await startRtpengine();

      // koedlg over restarts (db_text: one file per table, its first line the columns)
      const stateDir = path.join(nodeDir, 'state');
      mkdirSync(stateDir, { mode: 0o700, recursive: true });
      writeFileSync(path.join(stateDir, 'koedlg'), 'id(int,auto) key_name(str) key_type(int) value_type(int) key_value(str) expires(int,null)\n', { mode: 0o600 });
      // the generated top-level cfg (defines + secrets, 0600) includes koe.cfg
      const peer = ports[(i + 1) % nNodes]!;
      const lines = [
        '#!KAMAILIO',
        '# generated by deploy/stack.ts: local addresses, ports and secrets (never commit)',
        `#!define KOE_SIP_DOMAIN "${domain}"`,
        ...(i > 0 ? [`# node ${i}: its own loopback address`] : []),
        `#!define KOE_SIP_PORT ${p.sip}`,
        `#!define KOE_WS_PORT ${p.ws}`,
        `#!define KOE_WSS_PORT ${p.wss}`,
        `#!define KOE_CONTROL_PORT ${p.control}`,
        `#!define KOE_CONTROL_HOST "${p.host}"`,
        `#!define KOE_TRUNK_IP "${LOOPBACK}"`,
        `#!define KOE_TRUNK_PORT ${trunkPort}`,
        `#!define KOE_TRUNK_URI "sip:${LOOPBACK}:${trunkPort};transport=udp"`,
        `#!define KOE_ORIGIN_RE "${originRegex(origins)}"`,
        ...gateways.map((g, n) => `#!define KOE_GATEWAY_URL${n + 1} "${g.url}"`),
        ...(opts.routeUrl ? [`#!define KOE_ROUTE_URL "${opts.routeUrl}"`] : []),
        `#!define KOE_TRANSFER_NUMBER_RE "${sipCfg.transferNumberPattern}"`,
        '#!define KOE_TRUNK_ID "default"',
        `#!define KOE_ROUTE_SECRET "${sipCfg.routeSecret}"`,
        `#!define KOE_RTPENGINE_SOCK "udp:${LOOPBACK}:${p.ng}"`,
        `#!define KOE_MEDIA_NODE "${LOOPBACK}:${p.ng}"`,
        `#!define KOE_STATE_DB "text://${stateDir}"`,
        ...(nNodes > 1
          ? [
              `#!define KOE_DMQ_ADDRESS "sip:${p.host}:${p.sip}"`,
              `#!define KOE_DMQ_PEER "sip:${peer.host}:${peer.sip}"`,
              `#!define KOE_PEER_RE "^(${ports.filter((o) => o !== p).map((o) => `${o.host.replaceAll('.', '[.]')}:${o.sip}`).join('|')})$"`,
            ]
          : []),
        `#!define KOE_TLS_CFG "${runDir}/tls.cfg"`,
        `#!define KOE_CTL_SOCK "unix:${runDir}/kamailio_ctl${sfx}"`,
        ...secrets.map((s, n) => `#!define KOE_AUTHEPH_SECRET${n + 1} "${s}"`),
        ...limitDefines.filter(([, v]) => v !== undefined).map(([name, v]) => `#!define ${name} ${v}`),
        `listen=udp:${p.host}:${p.sip}`,
        `listen=tcp:${p.host}:${p.ws}`,
        `listen=tls:${p.host}:${p.wss}`,
        `listen=tcp:${p.host}:${p.control}`,
        `include_file "${KAMAILIO_CFG}"`,
        '',
      ];
      const kamCfg = path.join(runDir, `kamailio${sfx}.cfg`);
      writeFileSync(kamCfg, lines.join('\n'), { mode: 0o600 });
      const kamLog = path.join(runDir, `kamailio${sfx}.log`);
      const shmMb = lim.shmMb ?? KAMAILIO_SHM_MB;
      const startKamailio = async (): Promise<ChildProcess> => {
        const kam = spawnLogged('/usr/sbin/kamailio', ['-f', kamCfg, '-DD', '-E', '-m', String(shmMb), '-M', String(KAMAILIO_PKG_MB), '-Y', nodeDir, '-P', path.join(nodeDir, 'kamailio.pid')], kamLog);
        trackChild(kam);
        children.push(kam);
        const pingPort = await freePort('udp');
        await waitFor(
          `kamailio ${i}`,
          async () => {
            const res = await udpExchange(p.host, p.sip, sipOptions(p.host, p.sip, pingPort));
            return !!res && res.toString().startsWith('SIP/2.0 200') && (await tcpOpen(p.host, p.ws)) && (await tcpOpen(p.host, p.wss));
          },
          kam,
          kamLog,
        );
        return kam;
      };
      const kam = await startKamailio();
      processes.push({ rtpengine: rtpe, kamailio: kam, startRtpengine, startKamailio });
      const ctl = `unix:${runDir}/kamailio_ctl${sfx}`;
      nodes.push({
        index: i,
        sip: { domain, wsUrl: `ws://${p.host}:${p.ws}`, wssUrl: `wss://${p.host}:${p.wss}`, trunk: { host: LOOPBACK, port: trunkPort }, udp: { host: p.host, port: p.sip } },
        rtpengine: { ngHost: LOOPBACK, ngPort: p.ng },
        controlUrl: `http://${p.host}:${p.control}/koe/access-cuts`,
        rpc: async (...args: string[]) => (await promisify(execFile)('/usr/sbin/kamcmd', ['-s', ctl, ...args])).stdout,
        logs: { kamailio: kamLog, rtpengine: rtpLog },
        kamailioPid: kam.pid,
      });
    }

    const rpc = nodes[0]!.rpc;
    const stack: Stack = {
      gateway,
      gatewayUrl,
      rpc,
      shmem: async () => parseShmem(await rpc('core.shmmem')),
      sip: nodes[0]!.sip,
      rtpengine: nodes[0]!.rtpengine,
      nodes,
      gateways,
      runDir,
      certificatePem,
      async restartKamailio(i: number, o: { downMs?: number; kill?: boolean } = {}) {
        const kam = await restartNodeProcess(i, 'kamailio', o);
        nodes[i]!.kamailioPid = kam.pid;
      },
      async restartRtpengine(i: number, o: { downMs?: number; kill?: boolean } = {}) {
        await restartNodeProcess(i, 'rtpengine', o);
      },
      async restartGateway(i: number, o: { downMs?: number } = {}) {
        const g = gateways[i];
        if (!g) throw new Error(`restartGateway: no gateway ${i}`);
        if (g.process) {
          await stopChild(g.process);
          await sleep(o.downMs ?? 0);
          const at = children.indexOf(g.process);
          const child = spawnGateway(path.join(runDir, `gateway-${i}.json`), g.log!);
          // Kamailio and rtpengine stop first (stop() walks the list backwards): the new process takes the old one's place, before them
          children.splice(children.indexOf(child), 1);
          children.splice(at, 1, child);
          g.process = child;
          await waitFor(`gateway ${i} (restarted)`, () => httpOk(`${g.url}/health`), child, g.log!, 60_000);
        } else {
          await gateway!.close();
          await sleep(o.downMs ?? 0);
          gateway = await createGateway({ db, config: gatewayConfig });
          await gateway.app.listen({ port: Number(new URL(g.url).port), host: LOOPBACK });
          stack.gateway = gateway;
        }
      },
      stop,
    };
    /** Stops node `i`'s Kamailio or rtpengine (stopProcess), waits `downMs`, starts it again with the same config; the new process. */
    async function restartNodeProcess(i: number, which: 'kamailio' | 'rtpengine', o: { downMs?: number; kill?: boolean }): Promise<ChildProcess> {
      const proc = processes[i];
      if (!proc) throw new Error(`restart ${which}: no node ${i}`);
      await stopProcess(proc[which], o.kill ?? false);
      await sleep(o.downMs ?? 0);
      proc[which] = which === 'kamailio' ? await proc.startKamailio() : await proc.startRtpengine();
      return proc[which];
    }
    /** Stops one of the stack's processes (SIGTERM, or SIGKILL to its whole group: a crash) and forgets it. */
    async function stopProcess(child: ChildProcess, kill: boolean): Promise<void> {
      if (kill) {
        const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
        killGroup(child, 'SIGKILL');
        await exited;
      } else await stopChild(child);
      await groupGone(child);
      children.splice(children.indexOf(child), 1);
    }
    return stack;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** kamcmd's `core.shmmem` answer ("total: 268435456\n\tfree: ..." lines) -> numbers. */
export function parseShmem(text: string): { total: number; free: number; used: number; realUsed: number; maxUsed: number; fragments: number } {
  const field = (name: string) => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\d+)`, 'm').exec(text);
    if (!m) throw new Error(`core.shmmem: no ${name} in ${JSON.stringify(text.slice(0, 200))}`);
    return Number(m[1]);
  };
  return { total: field('total'), free: field('free'), used: field('used'), realUsed: field('real_used'), maxUsed: field('max_used'), fragments: field('fragments') };
}

/** Log file paths in a run dir (for test failure output). */
export function stackLogs(stack: Pick<Stack, 'runDir'>, node = 0): { kamailio: string; rtpengine: string } {
  const sfx = node === 0 ? '' : `-${node}`;
  return { kamailio: path.join(stack.runDir, `kamailio${sfx}.log`), rtpengine: path.join(stack.runDir, `rtpengine${sfx}.log`) };
}
export { tail as logTail };
