// A throwaway PostgreSQL cluster for `npm run stack -- --postgres` (the TypeScript twin of
// scripts/pg-throwaway.sh): initdb in a temp dir, started on a free loopback port, durability
// off, removed by stop(). Needs the Debian package `postgresql` (PG_BIN or the newest
// /usr/lib/postgresql/<n>/bin). As root it runs the server as the `postgres` user.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './stack';

const run = promisify(execFile);

export interface ThrowawayPostgres {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(a) - Number(b)) : [];
  const bin = versions.length ? path.join(base, versions.at(-1)!, 'bin') : null;
  if (!bin || !existsSync(path.join(bin, 'initdb'))) throw new Error('--postgres needs PostgreSQL (Debian package: postgresql) or PG_BIN=<its bin directory>');
  return bin;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = pgBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'koe-pg-'));
  const root = userInfo().uid === 0;
  if (root) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (cmd: string, args: string[]) => (root ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  const port = await freePort('tcp');
  const data = path.join(dir, 'data');
  try {
    await as(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    await as(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'pg.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`, 'start']);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`throwaway PostgreSQL did not start: ${(e as Error).message}`);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    async stop() {
      await as(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch((e: Error) => console.warn(`throwaway PostgreSQL: stop failed: ${e.message}`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
