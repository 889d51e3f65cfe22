// The koe-gateway CLI as an operator runs it (a child process via tsx), on both backends:
// migrate, seed --demo, user add from stdin, audit verify (ok, then after tampering),
// audit export with a cursor.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../../server/db/connect';
import type { Db } from '../../../server/db/schema';
import { BACKENDS, openBackend } from './harness';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
// Each test runs several CLI processes, each starting tsx and opening the database: on a
// loaded 2-core machine (the telephony suites run alongside) one test can pass 60 s.
vi.setConfig({ testTimeout: 240_000 });

describe.each(BACKENDS)('koe-gateway CLI on %s', (backend) => {
  let env: NodeJS.ProcessEnv;
  let dataDir = '';
  let drop: () => Promise<void> = async () => {};
  let withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;

  beforeAll(async () => {
    env = { ...process.env, KOE_GATEWAY_ARGON2: '1024,1,1' };
    delete env.DATABASE_URL;
    if (backend === 'postgres') {
      const b = await openBackend('postgres');
      await b.db.destroy();
      env.DATABASE_URL = b.url;
      drop = b.drop; // its pool is already closed; this drops the database
      withDb = async (fn) => {
        const db = await openDatabase({ kind: 'postgres', url: b.url! });
        try {
          return await fn(db);
        } finally {
          await db.destroy();
        }
      };
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'koe-cli-'));
      env.KOE_GATEWAY_DATA_DIR = dataDir;
      drop = async () => rmSync(dataDir, { recursive: true, force: true });
      withDb = async (fn) => {
        const db = await openDatabase({ kind: 'pglite', dataDir });
        try {
          return await fn(db);
        } finally {
          await db.destroy();
        }
      };
    }
  });
  afterAll(async () => drop());

  const run = (args: string[], input?: string) => {
    const r = spawnSync(TSX, ['server/cli.ts', ...args], { env, input, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('migrates, seeds the demo org, adds a user and verifies the chain', async () => {
    expect(run(['migrate']).out).toContain('applied: 0001_identity_sessions_audit');
    const seed = run(['seed', '--demo']);
    expect(seed.code, seed.err).toBe(0);
    expect(seed.out).toContain('DEMO DATA: NOT FOR PRODUCTION');
    expect(seed.out).toMatch(/DEMO\s+sato\.hanako\s+佐藤 花子\s+\(operator\)/);
    const weak = run(['user', 'add', '--username', 'yamada.taro', '--role', 'operator', '--password-stdin'], 'password\n');
    expect(weak.code).toBe(1);
    expect(weak.err).toContain('password_policy');
    const add = run(['user', 'add', '--username', 'yamada.taro', '--role', 'operator', '--display-name', '山田 太郎', '--password-stdin'], 'Yamada-Strong-Pass-1!\n');
    expect(add.code, add.err).toBe(0);
    const verify = run(['audit', 'verify']);
    expect(verify.code, verify.err).toBe(0);
    expect(verify.out).toMatch(/audit chain OK: \d+ entries/);
  });

  it('exports JSON lines after a cursor and reports the next cursor', () => {
    const r = run(['audit', 'export', '--cursor', '2', '--limit', '3']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(r.err).toContain('next-cursor: 5');
  });

  it('audit verify exits 1 naming the first broken seq after an edit in SQL', async () => {
    await withDb(async (db) => {
      await sql.raw('alter table audit_log disable trigger user').execute(db);
      await sql.raw(`update audit_log set actor_username = 'mallory' where seq = 3`).execute(db);
      await sql.raw('alter table audit_log enable trigger user').execute(db);
    });
    const r = run(['audit', 'verify']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('BROKEN at seq 3');
  });

  it('names the bad configuration key', () => {
    const r = spawnSync(TSX, ['server/cli.ts', 'migrate'], { env: { ...env, KOE_GATEWAY_JWT_SECRET: 'short' }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('KOE_GATEWAY_JWT_SECRET');
  });
});
