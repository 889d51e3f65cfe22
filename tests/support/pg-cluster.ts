// A PostgreSQL cluster a test owns (the commands of scripts/pg-throwaway.sh), so that it can
// stop it (`pg_ctl -m fast stop`: every backend is terminated, 57P01) and start it again on the
// same port and data. Needs the Debian package `postgresql` (PG_BIN or the newest
// /usr/lib/postgresql/*/bin); run as root, the server runs as the `postgres` user.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(a) - Number(b)) : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed (Debian package `postgresql`): this test starts and stops its own cluster');
  return join(root, versions[versions.length - 1]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:port/postgres */
  url: string;
  port: number;
  /** `pg_ctl -m fast stop`: every connection is terminated (57P01 admin_shutdown). */
  stop(): void;
  /** Starts it again (same port, same data); returns once it accepts connections. */
  start(): void;
  /** Stops it (immediate) and removes its directory. */
  remove(): void;
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBin();
  const dir = mkdtempSync('/tmp/koe-pg-fault.');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, cmd), args, { stdio: 'pipe' });
  const port = await freePort();
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const start = () => {
    try {
      run('pg_ctl', ['-D', data, '-l', join(dir, 'pg.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`, 'start']);
    } catch (err) {
      const log = existsSync(join(dir, 'pg.log')) ? readFileSync(join(dir, 'pg.log'), 'utf8').slice(-2000) : '';
      throw new Error(`pg_ctl start failed: ${(err as Error).message}\n${log}`);
    }
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    start,
    remove: () => {
      // running unless a test stopped it and failed before starting it again
      if (existsSync(join(data, 'postmaster.pid'))) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
