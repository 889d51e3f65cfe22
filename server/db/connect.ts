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
    // An idle client dying (server restart, admin terminate) must not crash the gateway;
    // the pool replaces it and the next query reports any real failure.
    pool.on('error', (err) => {
      const e = errorSummary(err);
      console.warn(`gateway: idle PostgreSQL connection lost: ${e.code ? `${e.code} ` : ''}${e.message}`);
    });
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  const pglite = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
  await pglite.waitReady;
  return new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
}
