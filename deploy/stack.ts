// The whole local telephony stack on loopback: the Koe gateway (in process), rtpengine and
// Kamailio (child processes, foreground, run dir with generated config, certificate, secrets
// and logs). Free ports are probed, so parallel test files do not clash. Used by
// `npm run stack` (deploy/stack-cli.ts), the telephony tests and the bench.
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
  /** Where Kamailio asks for DID routes (default: the gateway's /sip/route); tests put a proxy here. */
  routeUrl?: string;
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
  runDir: string;
  /** The certificate Kamailio serves on WSS (PEM), for clients that pin it. */
  certificatePem: string;
  /** Kamailio RPC over its ctl socket (kamcmd), e.g. rpc('core.shmmem'). */
  rpc(...args: string[]): Promise<string>;
  /** Kamailio's shared memory now (core.shmmem), bytes. */
  shmem(): Promise<{ total: number; free: number; used: number; realUsed: number; maxUsed: number; fragments: number }>;
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

function spawnLogged(cmd: string, args: string[], log: string): ChildProcess {
  const fd = openSync(log, 'a');
  // own process group: Kamailio forks workers; stopping the group leaves no orphan behind
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
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

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  assertTelephonyPackages();
  const runDir = mkdtempSync(path.join(tmpdir(), 'koe-stack-'));
  const keep = opts.keepRunDir || process.env.KOE_STACK_KEEP === '1';
  let gateway: Gateway | null = null;
  let rtpe: ChildProcess | null = null;
  let kam: ChildProcess | null = null;

  const stop = async () => {
    await stopChild(kam);
    await stopChild(rtpe);
    if (gateway) {
      await gateway.close().catch(() => {});
      await gateway.ctx.db.destroy().catch(() => {});
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
      '-subj', '/CN=Koe dev stack', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    const certificatePem = readFileSync(path.join(runDir, 'tls', 'cert.pem'), 'utf8');

    // -- ports
    const sipPort = await freePort('both');
    const wsPort = await freePort('tcp');
    const wssPort = await freePort('tcp');
    const trunkPort = await freePort('both');
    const ngPort = await freePort('udp');
    const controlPort = await freePort('tcp');
    const rtpBase = 20_000 + Math.floor(Math.random() * 200) * 200;

    // -- gateway (in process)
    const domain = opts.gatewayConfig?.sip?.domain ?? 'koe.local';
    const wsUrl = `ws://${LOOPBACK}:${wsPort}`;
    const wssUrl = `wss://${LOOPBACK}:${wssPort}`;
    const gc = opts.gatewayConfig ?? {};
    const db = await openDatabase({ kind: 'pglite', dataDir: opts.dataDir ?? null });
    gateway = await createGateway({
      db,
      config: {
        argon2: TEST_ARGON2,
        ...gc,
        host: LOOPBACK,
        port: 0,
        sip: {
          ...gc.sip,
          domain,
          authephSecrets: gc.sip?.authephSecrets?.length ? gc.sip.authephSecrets : [authephSecret],
          routeSecret: gc.sip?.routeSecret ?? routeSecret,
          wsServers: gc.sip?.wsServers ?? [wssUrl, wsUrl],
          rtpengineNg: gc.sip?.rtpengineNg ?? `${LOOPBACK}:${ngPort}`,
          kamailioControlUrl: gc.sip?.kamailioControlUrl ?? `http://${LOOPBACK}:${controlPort}/koe/access-cuts`,
        },
      },
    });
    const gatewayUrl = await gateway.app.listen({ port: opts.gatewayPort ?? 0, host: LOOPBACK });
    const sipCfg = gateway.ctx.config.sip;
    if (opts.seedDemo) {
      const { seedDemo } = await import('../server/seed');
      const { seedDemoCrm } = await import('../server/crm/seed');
      const { orgId } = await seedDemo(gateway.ctx);
      await seedDemoCrm(gateway.ctx, orgId);
    }

    // -- rtpengine
    const rtpConf = readFileSync(RTPENGINE_CONF, 'utf8')
      .replaceAll('@INTERFACE@', LOOPBACK)
      .replaceAll('@NG_HOST@', LOOPBACK)
      .replaceAll('@NG_PORT@', String(ngPort))
      .replaceAll('@PORT_MIN@', String(rtpBase))
      .replaceAll('@PORT_MAX@', String(rtpBase + 199))
      .replaceAll('@RUN_DIR@', runDir);
    writeFileSync(path.join(runDir, 'rtpengine.conf'), rtpConf);
    const rtpLog = path.join(runDir, 'rtpengine.log');
    rtpe = spawnLogged('/usr/bin/rtpengine', ['--config-file', path.join(runDir, 'rtpengine.conf'), '--config-section', 'rtpengine'], rtpLog);
    trackChild(rtpe);
    await waitFor(
      'rtpengine',
      async () => {
        const res = await udpExchange(LOOPBACK, ngPort, Buffer.from('ready d7:command4:pinge'));
        return !!res && res.toString().includes('pong');
      },
      rtpe,
      rtpLog,
    );

    // -- Kamailio: the generated top-level cfg (defines + secrets, 0600) includes koe.cfg
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
    const lines = [
      '#!KAMAILIO',
      '# generated by deploy/stack.ts: local addresses, ports and secrets (never commit)',
      `#!define KOE_SIP_DOMAIN "${domain}"`,
      `#!define KOE_SIP_PORT ${sipPort}`,
      `#!define KOE_WS_PORT ${wsPort}`,
      `#!define KOE_WSS_PORT ${wssPort}`,
      `#!define KOE_CONTROL_PORT ${controlPort}`,
      `#!define KOE_TRUNK_IP "${LOOPBACK}"`,
      `#!define KOE_TRUNK_PORT ${trunkPort}`,
      `#!define KOE_TRUNK_URI "sip:${LOOPBACK}:${trunkPort};transport=udp"`,
      `#!define KOE_ORIGIN_RE "${originRegex(origins)}"`,
      `#!define KOE_ROUTE_URL "${opts.routeUrl ?? `${gatewayUrl}/sip/route`}"`,
      `#!define KOE_CALL_ENDED_URL "${gatewayUrl}/sip/call-ended"`,
      `#!define KOE_TRANSFER_URL "${gatewayUrl}/sip/transfer"`,
      `#!define KOE_TRANSFER_NUMBER_RE "${sipCfg.transferNumberPattern}"`,
      '#!define KOE_TRUNK_ID "default"',
      `#!define KOE_ROUTE_SECRET "${sipCfg.routeSecret}"`,
      `#!define KOE_RTPENGINE_SOCK "udp:${LOOPBACK}:${ngPort}"`,
      `#!define KOE_TLS_CFG "${runDir}/tls.cfg"`,
      `#!define KOE_CTL_SOCK "unix:${runDir}/kamailio_ctl"`,
      ...secrets.map((s, i) => `#!define KOE_AUTHEPH_SECRET${i + 1} "${s}"`),
      ...limitDefines.filter(([, v]) => v !== undefined).map(([name, v]) => `#!define ${name} ${v}`),
      `listen=udp:${LOOPBACK}:${sipPort}`,
      `listen=tcp:${LOOPBACK}:${wsPort}`,
      `listen=tls:${LOOPBACK}:${wssPort}`,
      `listen=tcp:${LOOPBACK}:${controlPort}`,
      `include_file "${KAMAILIO_CFG}"`,
      '',
    ];
    const kamCfg = path.join(runDir, 'kamailio.cfg');
    writeFileSync(kamCfg, lines.join('\n'), { mode: 0o600 });
    const kamLog = path.join(runDir, 'kamailio.log');
    const shmMb = lim.shmMb ?? KAMAILIO_SHM_MB;
    kam = spawnLogged('/usr/sbin/kamailio', ['-f', kamCfg, '-DD', '-E', '-m', String(shmMb), '-M', String(KAMAILIO_PKG_MB), '-Y', runDir, '-P', path.join(runDir, 'kamailio.pid')], kamLog);
    trackChild(kam);
    const pingPort = await freePort('udp');
    await waitFor(
      'kamailio',
      async () => {
        const res = await udpExchange(LOOPBACK, sipPort, sipOptions(LOOPBACK, sipPort, pingPort));
        return !!res && res.toString().startsWith('SIP/2.0 200') && (await tcpOpen(LOOPBACK, wsPort)) && (await tcpOpen(LOOPBACK, wssPort));
      },
      kam,
      kamLog,
    );

    const rpc = async (...args: string[]) => (await promisify(execFile)('/usr/sbin/kamcmd', ['-s', `unix:${runDir}/kamailio_ctl`, ...args])).stdout;
    return {
      gateway,
      gatewayUrl,
      rpc,
      shmem: async () => parseShmem(await rpc('core.shmmem')),
      sip: { domain, wsUrl, wssUrl, trunk: { host: LOOPBACK, port: trunkPort }, udp: { host: LOOPBACK, port: sipPort } },
      rtpengine: { ngHost: LOOPBACK, ngPort },
      runDir,
      certificatePem,
      stop,
    };
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
export function stackLogs(stack: Pick<Stack, 'runDir'>): { kamailio: string; rtpengine: string } {
  return { kamailio: path.join(stack.runDir, 'kamailio.log'), rtpengine: path.join(stack.runDir, 'rtpengine.log') };
}
export { tail as logTail };
