// A PostgreSQL restart under two gateway instances (issue 14, "Bad input and faults"). The
// test owns its cluster (tests/support/pg-cluster.ts) and stops it with `pg_ctl -m fast`
// (every backend terminated: 57P01, then ECONNREFUSED):
//   - requests during the outage, on both instances, HTTP and /ws, answer 503 `unavailable`
//     (never a 500, never an internal message); a request in flight when the server stops is
//     rolled back (nothing half-written) and answered 503 too; main's session service keeps its
//     session through a refresh that met the outage;
//   - after the restart both instances serve again within a few seconds (the figure is
//     printed), B's LISTEN connection is back, an operator's change through A reaches their
//     socket on B, a fire-and-forget message published during the outage reaches B, and a
//     revocation committed just before the stop (B had not read it) still closes the socket on B.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { DeviceIdentity } from '../../../main/identity/device-identity';
import { SessionService } from '../../../main/session/session-service';
import { GatewayClient } from '../../../shared/gateway-client';
import { ManualClock } from '../../../server/clock';
import { TEST_ARGON2 } from '../../../server/config';
import { openDatabase } from '../../../server/db/connect';
import type { Db } from '../../../server/db/schema';
import { createGateway, type Gateway } from '../../../server/gateway';
import { createOrg } from '../../../server/orgs';
import { GatewayTestClient } from '../../support/gateway-client';
import { startPgCluster, type PgCluster } from '../../support/pg-cluster';
import { createScratchDatabase } from '../../support/pg-database';
import { GatewaySocket } from '../../support/ws-waiter';
import { Harness, PASSWORD, type TestUser } from './harness';
import { MemoryVault } from '../../support/memory-vault';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Polls `probe` every 25 ms until it is true; the milliseconds it took. */
async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe('a PostgreSQL restart under two gateway instances', () => {
  let cluster: PgCluster;
  let h: Harness;
  let b: Gateway;
  let dbB: Db;
  let urlA = '';
  let urlB = '';
  const sockets: GatewaySocket[] = [];
  const open = async (base: string, token: string, name: string) => {
    const s = await GatewaySocket.open(base, { token, name });
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    cluster = await startPgCluster();
    const scratch = await createScratchDatabase(cluster.url, 'koe_f', 8);
    const clock = new ManualClock();
    const config = {
      argon2: TEST_ARGON2,
      jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      ws: { revalidateSeconds: 600 },
      databaseUrl: scratch.url, // both instances LISTEN
    };
    const a = await createGateway({ db: scratch.db, clock, config });
    const orgId = await createOrg(a.ctx, 'テスト株式会社', { totpRequiredRoles: [] });
    h = new Harness('postgres', a, scratch.db, clock, orgId, await a.ctx.hasher.hash(PASSWORD), scratch.drop, scratch.url);
    h.users.admin = await h.newUser('admin');
    h.users.lead = await h.newUser('team_lead', 'lead');
    h.users.operator = await h.newUser('operator');
    // B: its own pool on the same database, as a second process would have
    dbB = await openDatabase({ kind: 'postgres', url: scratch.url, poolSize: 8 });
    b = await createGateway({ db: dbB, clock, migrate: false, config });
    urlA = await a.app.listen({ host: '127.0.0.1', port: 0 });
    urlB = await b.app.listen({ host: '127.0.0.1', port: 0 });
    await until('both LISTEN connections up', () => a.ctx.bus.listening && b.ctx.bus.listening, 10_000);
  });
  afterAll(async () => {
    for (const s of sockets) await s.close();
    await b?.close();
    await dbB?.destroy();
    await h?.close();
    cluster?.remove();
  });

  it('the outage answers 503 unavailable (HTTP and /ws, both instances), rolls back the request in flight, and both instances serve again after the restart; nothing published before or during it is lost', async () => {
    const adminToken = await h.token(h.users.admin);
    const op = h.users.operator;
    const lead = h.users.lead;
    const teamId = randomUUID();
    await h.db.insertInto('teams').values({ id: teamId, org_id: h.orgId, name: 'team-restart' }).execute();
    await h.db.insertInto('team_members').values([{ team_id: teamId, user_id: lead.id, member_role: 'lead' }, { team_id: teamId, user_id: op.id, member_role: 'operator' }]).execute();
    const opToken = await h.token(op);
    const opA = await open(urlA, opToken, 'operator on A');
    const opB = await open(urlB, await h.token(op), 'operator on B');
    const leadB = await open(urlB, await h.token(lead), 'lead on B');
    leadB.send({ type: 'boardSubscribe' });
    await leadB.next((m) => m.type === 'board' && m.operators.some((o: any) => o.userId === op.id));
    // a revocation committed just before the stop, which B has not read (B's reader is held)
    const victim: TestUser = await h.newUser('operator', 'victim');
    const victimB = await open(urlB, await h.token(victim), 'victim on B');
    // a user whose revocation will be in flight (blocked) when the server stops
    const inflight = await h.newUser('operator', 'inflight');
    await h.token(inflight);
    // main's session service (the desktop client) signed in through A
    const vault = new MemoryVault();
    const mainUser = await h.newUser('operator', 'main');
    const session = new SessionService({
      gateway: new GatewayClient(() => urlA, (url, init) => fetch(url, init)),
      vault,
      identity: new DeviceIdentity(vault),
      deviceName: () => 'KOE-PC',
      clock: { now: () => Date.now() },
      timers: { setTimeout: () => null, clearTimeout: () => undefined },
    });
    expect((await session.signIn({ username: mainUser.username, password: PASSWORD })).outcome).toBe('signed-in');
    const refreshBefore = vault.data.get('refresh-token');

    const busB = b.ctx.bus as unknown as { read: () => void };
    busB.read = () => undefined; // B reads nothing until the database is back
    const clientA = h.client;
    const clientB = GatewayTestClient.inject(b.app, { ip: '10.0.0.1' });
    expect((await clientA.req('POST', `/admin/users/${victim.id}/sessions/revoke`, { token: adminToken })).status).toBe(200);

    // the request in flight: its transaction revokes the sessions, then waits on a lock for its bus row
    const locker = new pg.Client({ connectionString: h.url });
    const lockerErrors: string[] = [];
    locker.on('error', (err) => lockerErrors.push(err.message)); // the stop below terminates it
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table bus_events in exclusive mode');
    const blocked = clientA.req('POST', `/admin/users/${inflight.id}/sessions/revoke`, { token: adminToken });
    await until('the revoke waits on the lock', async () => Number((await locker.query(`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).rows[0].n) > 0, 5000);

    const tStop = performance.now();
    cluster.stop();
    const stopMs = performance.now() - tStop;
    const cut = await blocked;
    expect(cut.status, JSON.stringify(cut.body)).toBe(503);
    expect(cut.body.error.code).toBe('unavailable');
    expect(cut.headers['retry-after']).toBe('2');
    expect(lockerErrors.length).toBeGreaterThan(0);
    await locker.end().catch((err: unknown) => lockerErrors.push(String(err)));

    // the outage: every route that needs the database answers 503 unavailable, never 500
    const during = [
      await clientA.req('GET', '/me', { token: adminToken }),
      await clientB.req('GET', '/me', { token: adminToken }),
      await clientA.req('POST', '/auth/challenge', { body: { username: op.username, purpose: 'sign-in' } }),
      await clientB.req('POST', '/auth/sign-in', { body: { username: op.username, password: PASSWORD } }),
      await clientB.req('GET', '/admin/users', { token: adminToken }),
      await clientA.req('PATCH', '/admin/policy', { token: adminToken, body: { agents: { wrapUpSeconds: 30 } } }),
      await clientB.req('POST', `/admin/users/${op.id}/sessions/revoke`, { token: adminToken }),
    ];
    for (const res of during) {
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body).toEqual({ error: { code: 'unavailable', message: 'the database is unavailable for a moment: try again', retryAfterSeconds: 2 } });
    }
    expect((await clientB.req('GET', '/health')).status).toBe(200); // the process itself is fine
    // a /ws message: a typed error, the socket stays
    opA.send({ type: 'operator', id: 'down-1', intent: { kind: 'setAvailability', state: 'break' } });
    await opA.next((m) => m.type === 'error' && m.code === 'unavailable', 5000);
    expect(opA.isClosed()).toBe(false);
    // a /ws opened during the outage: refused `unavailable`, close 1013 (try again later), not 4401
    const late = await GatewaySocket.open(urlB, { name: 'opened during the outage' });
    sockets.push(late);
    late.send({ type: 'auth', accessToken: opToken });
    expect(await late.closed).toEqual({ code: 1013, reason: 'unavailable' });
    expect(late.messages).toEqual([{ type: 'error', code: 'unavailable', message: 'the database is unavailable for a moment: reconnect' }]);
    // main's refresh meets the outage: the session is kept (not signed out), its token unchanged
    await session.refresh();
    expect(session.current().status).toBe('signed-in');
    expect(vault.data.get('refresh-token')).toBe(refreshBefore);
    // a fire-and-forget message published during the outage (A re-reads the operator's board row)
    h.gw.ctx.supervision.touch(op.id);
    const boardFrom = leadB.messages.length;
    await sleep(300); // a few of B's poll ticks fail meanwhile
    expect(victimB.isClosed()).toBe(false); // B could not have heard of the revocation yet
    delete (busB as { read?: unknown }).read; // B's reader is back (the prototype's)

    const tStart = performance.now();
    cluster.start();
    const startMs = performance.now() - tStart;
    const serveA = await until('A serves', async () => (await clientA.req('GET', '/me', { token: adminToken })).status === 200, 10_000);
    const serveB = await until('B serves', async () => (await clientB.req('GET', '/me', { token: adminToken })).status === 200, 10_000);
    const listenB = await until('B listens again', () => b.ctx.bus.listening, 20_000);
    console.log(`pg restart: stop ${stopMs.toFixed(0)} ms, start ${startMs.toFixed(0)} ms; after it A served in ${serveA.toFixed(0)} ms, B in ${(serveA + serveB).toFixed(0)} ms; B's LISTEN back after ${(serveA + serveB + listenB).toFixed(0)} ms`);
    expect(serveA + serveB).toBeLessThan(5_000);

    // nothing of the cut request was written: its sessions live, no audit row, no bus row
    const inflightSessions = await h.db.selectFrom('sessions').select(['revoked_at']).where('user_id', '=', inflight.id).execute();
    expect(inflightSessions.length).toBeGreaterThan(0);
    expect(inflightSessions.every((s) => s.revoked_at === null)).toBe(true);
    expect(await h.db.selectFrom('audit_log').select('seq').where('action', '=', 'session.revoked_all').where('target_id', '=', inflight.id).execute()).toEqual([]);
    // the victim's revocation (committed before the stop) is read by B after it
    const closedB = await Promise.race([victimB.closed, sleep(5_000).then(() => null)]);
    expect(closedB).toEqual({ code: 4401, reason: 'session_revoked' });
    // the board message published during the outage reaches the lead on B
    await leadB.next((m) => m.type === 'boardUpdate' && m.operator.userId === op.id, 5_000, boardFrom);
    // an operator's change through A after the restart reaches their socket on B
    const t0 = performance.now();
    opA.send({ type: 'operator', id: 'up-1', intent: { kind: 'setAvailability', state: 'break' } });
    await opA.next((m) => m.type === 'operatorState' && m.id === 'up-1', 5_000);
    await opB.next((m) => m.type === 'operatorState' && m.view.agent === 'break', 5_000);
    console.log(`pg restart: a state change through A reached the socket on B ${(performance.now() - t0).toFixed(0)} ms after it was sent`);
    // main's next refresh works again
    await session.refresh();
    expect(session.current().status).toBe('signed-in');
    expect(vault.data.get('refresh-token')).not.toBe(refreshBefore);
  });
});
