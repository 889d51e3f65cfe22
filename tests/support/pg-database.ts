import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../server/db/connect';
import type { Db } from '../../server/db/schema';

/** A fresh database on the throwaway PostgreSQL server at `baseUrl`, dropped by `drop()`. */
export async function createScratchDatabase(
  baseUrl: string,
  prefix: string,
  poolSize: number,
): Promise<{ db: Db; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize });
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.destroy();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
