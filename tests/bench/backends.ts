// Shared by bench modules (run.ts runs the benches when imported, so helpers live here).
import type { Bench, Table } from './run';
/** A bench run per backend: PGlite always, then PostgreSQL when `npm run bench` started one (scripts/bench.sh). */
export function onEachBackend(benchBackend: (kind: 'pglite' | 'postgres', log: (line: string) => void) => Promise<Table[]>): Bench {
  return async (log) => {
    const tables = await benchBackend('pglite', log);
    if (process.env.KOE_BENCH_DATABASE_URL) tables.push(...(await benchBackend('postgres', log)));
    else log('PostgreSQL skipped: KOE_BENCH_DATABASE_URL is not set (npm run bench sets it via scripts/bench.sh)');
    return tables;
  };
}
