// koe-gateway CLI: `npm run gateway -- <command>`.
//   serve [--port N] [--host H] [--data-dir DIR]     (DATABASE_URL selects PostgreSQL)
//   migrate
//   user add --username U --role R [--display-name N] [--password-stdin] [--org ID]
//   seed --demo
//   audit verify
//   audit export [--cursor N] [--limit N]            (JSON lines on stdout, next cursor on stderr)
//   recordings rewrap                                (after a KEK rotation: every data key under the first KEK)
//   recordings purge                                 (run the retention purge once)
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { exportAudit, verifyAuditChain } from './audit/audit';
import { ConfigError, loadConfig, type GatewayConfig } from './config';
import { createContext } from './context';
import { openDatabase } from './db/connect';
import { migrateToLatest } from './db/migrations';
import type { Db } from './db/schema';
import { GatewayError } from './errors';
import { createGateway } from './gateway';
import { errorSummary } from './log';
import { createOrg, createUser, soleOrg } from './orgs';
import { DEMO_PASSWORD, DEMO_USERS, seedDemo } from './seed';
import { DEMO_CAMPAIGNS, seedDemoCrm } from './crm/seed';
import { systemClock } from './clock';
import { RecordingsService } from './recordings/service';

const USAGE = `usage: npm run gateway -- <command>
  serve [--port N] [--host H] [--data-dir DIR]   run the gateway (PGlite in DIR, or PostgreSQL if DATABASE_URL is set)
  migrate                                       apply database migrations
  user add --username U --role R [--display-name NAME] [--password-stdin] [--org ORG_ID]
  seed --demo                                   create the demo org and users (prints DEMO credentials)
  audit verify                                  check the audit hash chain (exit 1 if broken)
  audit export [--cursor N] [--limit N]         JSON lines after seq N; next cursor on stderr
  recordings rewrap                             re-wrap every recording's data key under the first KEK (after a rotation)
  recordings purge                              run the retention purge once (recordings, calls, notes, customers)`;

async function open(config: GatewayConfig): Promise<Db> {
  const timeouts = { connectMs: config.database.connectTimeoutMs, queryMs: config.database.queryTimeoutMs };
  return openDatabase(config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl, timeouts } : { kind: 'pglite', dataDir: config.dataDir });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function generatedPassword(): string {
  return `Koe-${randomBytes(12).toString('base64url')}-7!`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' },
      username: { type: 'string' }, role: { type: 'string' }, 'display-name': { type: 'string' }, org: { type: 'string' },
      'password-stdin': { type: 'boolean' }, demo: { type: 'boolean' },
      cursor: { type: 'string' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const overrides: Record<string, unknown> = {};
  if (values.port) overrides.port = Number(values.port);
  if (values.host) overrides.host = values.host;
  if (values['data-dir']) overrides.dataDir = values['data-dir'];
  const config = loadConfig(process.env, overrides);
  const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`;

  if (command === 'serve') {
    const db = await open(config);
    const gw = await createGateway({ db, config, logger: true });
    const url = await gw.app.listen({ port: config.port, host: config.host });
    console.log(`koe gateway ${url} (database: ${where})`);
    const stop = async () => {
      await gw.close();
      await db.destroy();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return -1; // keep running
  }

  const db = await open(config);
  try {
    const applied = await migrateToLatest(db);
    if (command === 'migrate') {
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return 0;
    }
    const ctx = await createContext(db, config, systemClock);

    if (command === 'user' && sub === 'add') {
      if (!values.username || !values.role) throw new UsageError('user add needs --username and --role');
      const orgId = values.org ?? (await soleOrg(ctx)) ?? (await createOrg(ctx, 'Koe'));
      const password = values['password-stdin'] ? await readStdin() : generatedPassword();
      const id = await createUser(ctx, {
        orgId, username: values.username, displayName: values['display-name'] ?? values.username, role: values.role, password,
        actor: { userId: null, username: 'cli' },
      });
      console.log(`created user ${values.username} (${id}) with role ${values.role}`);
      if (!values['password-stdin']) console.log(`initial password (shown once): ${password}`);
      return 0;
    }

    if (command === 'seed') {
      if (!values.demo) throw new UsageError('seed needs --demo');
      const { created, orgId } = await seedDemo(ctx);
      const crm = await seedDemoCrm(ctx, orgId);
      console.log('==================== DEMO DATA: NOT FOR PRODUCTION ====================');
      console.log(`DEMO org "Koe デモコールセンター" (${where}); created ${created.length} user(s)`);
      console.log(`DEMO password for every demo user: ${DEMO_PASSWORD}`);
      for (const u of DEMO_USERS) console.log(`  DEMO  ${u.username.padEnd(16)} ${u.displayName}  (${u.role})`);
      console.log('Admins must enrol TOTP at first sign-in (org policy default).');
      for (const [i, c] of crm.campaigns.entries()) {
        const assigned = DEMO_CAMPAIGNS[i]!.assigned.join(', ');
        console.log(`  DEMO campaign ${c.name}: DIDs ${c.dids.join(', ')}; assigned: ${assigned}; known callers: ${c.callers.join(', ')}`);
      }
      console.log('  (suzuki.kenta leads all three operators; kobayashi.yuki sees every campaign.)');
      console.log('=======================================================================');
      return 0;
    }

    if (command === 'audit' && sub === 'verify') {
      const result = await verifyAuditChain(db);
      if (result.ok) {
        console.log(`audit chain OK: ${result.entries} entries, head ${result.headHash}`);
        return 0;
      }
      console.error(`audit chain BROKEN at seq ${result.firstBrokenSeq}: ${result.reason}`);
      return 1;
    }

    if (command === 'audit' && sub === 'export') {
      let cursor = Number(values.cursor ?? 0);
      const limit = Number(values.limit ?? 1000);
      if (!Number.isInteger(cursor) || cursor < 0 || !Number.isInteger(limit) || limit < 1) throw new UsageError('--cursor and --limit must be non-negative integers');
      const page = await exportAudit(db, { cursor, limit });
      for (const e of page.entries) process.stdout.write(`${JSON.stringify(e)}\n`);
      cursor = page.nextCursor;
      console.error(`next-cursor: ${cursor}`);
      return 0;
    }
    if (command === 'recordings' && (sub === 'rewrap' || sub === 'purge')) {
      // no capability is issued from here: the key it would sign with is a throwaway
      const rec = new RecordingsService(db, systemClock, config, randomBytes(32).toString('hex'), randomUUID());
      if (sub === 'purge') {
        console.log(`recordings purged: ${await rec.purgeDue()}`);
        const data = await rec.purgeDueData();
        console.log(`calls purged: ${data.calls}, notes purged: ${data.notes}, customers purged: ${data.customers}; files removed: ${await rec.removeFiles()}`);
        return 0;
      }
      if (!rec.keys) throw new UsageError('no recordings KEK configured (recordings.keks / KOE_GATEWAY_RECORDINGS_KEKS)');
      const out = await rec.rewrapAll();
      console.log(`recordings re-wrapped under ${rec.keys.activeId}: ${out.rewrapped}${out.failed.length ? `; FAILED: ${out.failed.join(', ')}` : ''}`);
      return out.failed.length ? 1 : 0;
    }
    throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(' ')}`);
  } finally {
    await db.destroy();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
    else if (err instanceof ConfigError) console.error(`configuration error:\n${err.message}`);
    else if (err instanceof GatewayError) console.error(`${err.code}: ${err.message}${err.extra.violations ? ` (${(err.extra.violations as string[]).join(', ')})` : ''}`);
    else {
      // Never the error object itself: a database error can carry the query and its values.
      // The message is shown whole (the operator at this terminal needs it: a migration names
      // the DIDs it stops on), the rest as errorSummary() has it.
      const e = errorSummary(err);
      const message = err instanceof Error ? err.message : e.message;
      console.error(`${e.type}${e.code ? ` (${e.code})` : ''}: ${message}${e.stack ? `\n${e.stack}` : ''}`);
    }
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
