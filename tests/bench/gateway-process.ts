// A gateway instance as its own Node process for the benches (as deploy/stack.ts starts its
// gateways 1..: `node --import tsx server/cli.ts serve`, a JSON config file, DATABASE_URL), so
// the figures are the gateway's alone: the simulated clients stay in the bench process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfigInput } from '../../server/config';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** CPU time (user + system, ms) of process `pid`, with its waited-for children's if `children`; NaN when it is gone. */
export function cpuMs(pid: number, children = false): number {
  try {
    // fields after "(comm)": state is [0]; utime [11], stime [12], cutime [13], cstime [14] (clock ticks: 100/s on Linux)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0)) * 10;
  } catch {
    return NaN;
  }
}

/** CPU time (ms) of a PostgreSQL cluster: the postmaster with its exited backends, and every live backend. */
export function postgresCpuMs(dataDir: string): number {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = cpuMs(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) total += cpuMs(Number(entry));
    } catch {
      // the process ended while the list was read: its time is in the postmaster's children's now
    }
  }
  return total;
}

export interface GatewayProcess {
  url: string;
  pid: number;
  log: string;
  /** The process's resident memory now (VmRSS), KiB. */
  rssKiB(): number;
  /** The process's CPU time so far, ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startGatewayProcess(config: GatewayConfigInput, databaseUrl: string): Promise<GatewayProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'koe-bench-gw-'));
  const port = await freePort();
  const cfg = path.join(dir, 'gateway.json');
  writeFileSync(cfg, JSON.stringify({ ...config, host: '127.0.0.1', port }), { mode: 0o600 });
  const log = path.join(dir, 'gateway.log');
  const fd = openSync(log, 'a');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KOE_GATEWAY_') && k !== 'DATABASE_URL') env[k] = v;
  const extra = (process.env.KOE_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof --cpu-prof-dir=/tmp/prof
  const child: ChildProcess = spawn(process.execPath, [...extra, '--import', 'tsx', path.join(REPO, 'server', 'cli.ts'), 'serve'], {
    cwd: REPO, stdio: ['ignore', fd, fd], env: { ...env, KOE_GATEWAY_CONFIG: cfg, DATABASE_URL: databaseUrl },
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  for (;;) {
    const up = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => (void r.body?.cancel(), r.status === 200), () => false);
    if (up) break;
    if (child.exitCode !== null || Date.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`gateway process did not start (exit ${child.exitCode}):\n${readFileSync(log, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    log,
    cpuMs: () => cpuMs(child.pid!),
    rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      if (!process.env.KOE_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}
