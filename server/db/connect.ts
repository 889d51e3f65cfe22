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
  | { kind: 'postgres'; url: string; poolSize?: number; timeouts?: DatabaseTimeouts }
  | { kind: 'pglite'; dataDir: string | null };

const INT8 = 20;

/**
 * How long the gateway waits for PostgreSQL (config `database`; docs/gateway.md): a new
 * connection (TCP + startup + authentication) within `connectMs`, each query's answer (and a
 * free pooled connection) within `queryMs`. A server that accepts TCP and never
 * answers (a hung primary, a half-open failover) then fails the request with 503
 * `unavailable` instead of hanging it; the connection that timed out is dropped, not reused.
 */
export interface DatabaseTimeouts {
  connectMs: number;
  queryMs: number;
}
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectMs: 5_000, queryMs: 30_000 };

export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  if (target.kind === 'postgres') {
    const timeouts = target.timeouts ?? DEFAULT_DATABASE_TIMEOUTS;
    const pool = new pg.Pool({
      connectionString: target.url,
      max: target.poolSize ?? 10,
      // waiting for a free pooled connection: as long as a query may take (a burst of steps
      // queues here; a hung server frees each connection within the query timeout)
      connectionTimeoutMillis: timeouts.queryMs,
      // a new connection: its own, shorter bound (pg.Client's connect timeout)
      Client: class extends pg.Client {
        constructor(config?: pg.ClientConfig) {
          super({ ...config, connectionTimeoutMillis: timeouts.connectMs });
        }
      },
      query_timeout: timeouts.queryMs,
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
    pool.on('connect', (client) => {
      client.on('error', lost);
      // A query timed out: the server may never answer it, and node-postgres keeps the
      // connection busy with it. Drop the connection (the pool replaces it at release) so the
      // next request does not queue behind a dead one.
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const r = query(...args);
        if (r && typeof (r as Promise<unknown>).catch === 'function') {
          (r as Promise<unknown>).catch((err: unknown) => {
            if (err instanceof Error && err.message === 'Query read timeout') {
              console.warn('gateway: a PostgreSQL query had no answer within the query timeout: its connection is dropped');
              (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
            }
          });
        }
        return r;
      };
    });
    pool.on('error', lost);
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  const pglite = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
  await pglite.waitReady;
  return new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
}
