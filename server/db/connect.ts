// Opens the gateway database: PostgreSQL when a URL is given, otherwise embedded PGlite
// (a data directory, or memory). Both speak the same SQL through Kysely.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { errorSummary } from '../log';
import { PGliteDialect } from './pglite-dialect';
import type { Database, Db } from './schema';

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize?: number }
  | { kind: 'pglite'; dataDir: string | null };

const INT8 = 20;

export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: target.url,
      max: target.poolSize ?? 10,
      // bigint columns (audit seq, counters) stay well below 2^53.
      types: { getTypeParser: (oid: number, format?: any) => (oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) } as any,
    });
    // A client dying (server restart, admin terminate) must not crash the gateway: the pool
    // replaces it and the next query reports any real failure (503 unavailable: server/errors.ts).
    // The pool listens to idle clients only; a client checked out (inside a transaction), or
    // just released after its query failed, emits its `error` when the socket ends, and with no
    // listener that would be an uncaught exception. So every client gets one for its lifetime.
    const logged = new WeakSet<Error>();
    const lost = (err: Error) => {
      if (logged.has(err)) return; // the pool re-emits an idle client's error: one line
      logged.add(err);
      const e = errorSummary(err);
      console.warn(`gateway: PostgreSQL connection lost: ${e.code ? `${e.code} ` : ''}${e.message}`);
    };
    pool.on('connect', (client) => client.on('error', lost));
    pool.on('error', lost);
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  const pglite = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
  await pglite.waitReady;
  return new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
}
