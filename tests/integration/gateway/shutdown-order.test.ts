// A gateway closed while sockets are still open (issue 14, "Bad input and faults"; server/gateway.ts
// close): close() closes every socket and waits for their last steps (the agent's
// `disconnected`, the registration report's removal and its board message) before it returns,
// so the database the caller destroys next is never written after: nothing is logged ("driver
// has already been destroyed") and the steps are stored.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setBackgroundReporter, type FailureReporter } from '../../../server/background';
import { ManualClock } from '../../../server/clock';
import { createGateway } from '../../../server/gateway';
import { errorSummary } from '../../../server/log';
import { createOrg } from '../../../server/orgs';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, Harness, openBackend, PASSWORD, testGatewayConfig } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('closing a gateway on %s with open sockets', (backend) => {
  const logged: string[] = [];
  let previous: FailureReporter;
  beforeEach(() => {
    logged.length = 0;
    previous = setBackgroundReporter((what, err) => logged.push(`${what}: ${errorSummary(err).message}`));
    for (const level of ['warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
    }
  });
  afterEach(() => {
    setBackgroundReporter(previous);
    vi.restoreAllMocks();
  });

  it('stores the sockets\' last steps before close() returns and logs nothing once the database is gone', async () => {
    const { db, drop, url } = await openBackend(backend);
    const clock = new ManualClock();
    const gw = await createGateway({
      db,
      clock,
      config: testGatewayConfig({}, url),
    });
    const orgId = await createOrg(gw.ctx, 'テスト株式会社', { totpRequiredRoles: [] });
    const h = new Harness(backend, gw, db, clock, orgId, await gw.ctx.hasher.hash(PASSWORD), drop, url);
    const base = await gw.app.listen({ host: '127.0.0.1', port: 0 });
    const ops = [await h.newUser('operator'), await h.newUser('operator'), await h.newUser('operator')];
    const sockets: GatewaySocket[] = [];
    for (const op of ops) {
      const s = await GatewaySocket.open(base, { token: await h.token(op), name: op.username });
      s.send({ type: 'registration', state: 'registered' });
      sockets.push(s);
    }
    const ids = ops.map((o) => o.id);
    const registered = async () => (await db.selectFrom('sip_registrations').select('user_id').where('user_id', 'in', ids).execute()).length;
    for (let i = 0; (await registered()) < ops.length; i++) {
      if (i > 200) throw new Error('the registration reports were not stored');
      await sleep(10);
    }
    const held = async () =>
      (await db.selectFrom('operator_connections').select('n').where('user_id', 'in', ids).execute()).reduce((sum, r) => sum + Number(r.n), 0);
    expect(await held()).toBe(ops.length);

    await gw.close(); // the sockets are still open here
    // their last steps are stored: connections released, registration reports removed
    expect(await held()).toBe(0);
    expect(await registered()).toBe(0);
    await db.destroy(); // the database goes, as the CLI does after close()
    await sleep(500); // a write still on its way would fail (and be logged) now
    expect(logged.filter((l) => /destroyed|closed/i.test(l))).toEqual([]);
    expect(logged).toEqual([]);
    // the clients were told why (1001 going away)
    for (const c of await Promise.all(sockets.map((s) => s.closed))) expect(c).toEqual({ code: 1001, reason: 'gateway shutting down' });
    await drop(); // (PostgreSQL: the scratch database; its forced drop may log the pool's last connections ending)
  });
});
