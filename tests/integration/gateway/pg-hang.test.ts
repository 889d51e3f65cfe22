// A PostgreSQL that accepts TCP and never answers (a hung primary, a half-open failover; issue
// 14 "Bad input and faults"): the pool's connect and query timeouts (server/db/connect.ts,
// config `database`) fail the request with 503 `unavailable` instead of hanging it.
//   (1) openDatabase on a server that accepts and never speaks: a query fails within the
//       connect timeout and is classified unavailable.
//   (2) a gateway whose database goes silent mid-shift (a TCP relay to the test PostgreSQL that
//       stops relaying, both directions, and holds new connections without a word): requests
//       answer 503 `unavailable` within the timeouts (the figures are printed), connections
//       that timed out are dropped, and the gateway serves again once the database answers.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../server/clock';
import { ConfigError, loadConfig, TEST_ARGON2 } from '../../../server/config';
import { openDatabase } from '../../../server/db/connect';
import type { Db } from '../../../server/db/schema';
import { databaseUnavailable } from '../../../server/errors';
import { createGateway, type Gateway } from '../../../server/gateway';
import { createOrg } from '../../../server/orgs';
import { GatewayTestClient } from '../../support/gateway-client';
import { createScratchDatabase } from '../../support/pg-database';
import { TcpProxy } from '../../support/tcp-proxy';
import { sql } from 'kysely';

const CONNECT_MS = 600;
const QUERY_MS = 900;

/** A TCP server that accepts every connection and never sends a byte. */
async function silentServer(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined); // the client giving up resets it: expected
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('a PostgreSQL that accepts TCP and never answers', () => {
  const base = process.env.KOE_TEST_DATABASE_URL;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let relay: TcpProxy;
  let db: Db;
  let gw: Gateway;
  beforeAll(async () => {
    if (!base) throw new Error('KOE_TEST_DATABASE_URL is not set: this test needs the throwaway PostgreSQL (scripts/pg-throwaway.sh; docs/gateway.md)');
    scratch = await createScratchDatabase(base, 'koe_hang', 2);
    const target = new URL(scratch.url);
    relay = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const via = new URL(scratch.url);
    via.port = String(relay.port);
    db = await openDatabase({ kind: 'postgres', url: via.toString(), poolSize: 4, timeouts: { connectMs: CONNECT_MS, queryMs: QUERY_MS } });
    // no databaseUrl: no LISTEN connection (the bus polls); this test is about the request path
    gw = await createGateway({
      db, clock: new ManualClock(),
      config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 } },
    });
    await createOrg(gw.ctx, 'テスト株式会社', { totpRequiredRoles: [] });
  }, 60_000);
  afterAll(async () => {
    relay.restore();
    await gw?.close();
    await db?.destroy();
    await relay?.close();
    await scratch?.drop();
  });

  it('openDatabase on a server that accepts and never speaks: a query fails within the connect timeout, as unavailable', async () => {
    const silent = await silentServer();
    const hung = await openDatabase({ kind: 'postgres', url: `postgres://koe@127.0.0.1:${silent.port}/koe`, poolSize: 2, timeouts: { connectMs: CONNECT_MS, queryMs: QUERY_MS } });
    try {
      const t0 = performance.now();
      const err = await sql`select 1`.execute(hung).then(() => null, (e: unknown) => e);
      const ms = performance.now() - t0;
      console.log(`silent server: the query failed after ${ms.toFixed(0)} ms (connect timeout ${CONNECT_MS} ms): ${String(err)}`);
      expect(err).toBeInstanceOf(Error);
      expect(databaseUnavailable(err)).toBe(true);
      expect(ms).toBeLessThan(CONNECT_MS + 2_000);
      expect(silent.accepted()).toBeGreaterThan(0); // TCP was accepted: the timeout, not a refusal, ended it
    } finally {
      await hung.destroy();
      await silent.close();
    }
  });

  it('the database goes silent mid-shift: requests answer 503 unavailable within the timeouts, and the gateway serves again when it answers', async () => {
    const client = GatewayTestClient.inject(gw.app, { ip: '10.0.0.7' });
    // healthy: a route that reads the database (the challenge reads the user and writes a row)
    const ok = await client.req('POST', '/auth/challenge', { body: { username: 'nobody', purpose: 'sign-in' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    relay.stall(); // the pooled connections stay open and get no answer; new ones get no answer either
    const times: number[] = [];
    const answers = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const t0 = performance.now();
        const res = await client.req('POST', '/auth/challenge', { body: { username: `nobody${i}`, purpose: 'sign-in' } });
        times.push(performance.now() - t0);
        return res;
      }),
    );
    console.log(`silent database: ${answers.map((a) => a.status).join(',')} after ${times.map((t) => t.toFixed(0)).join(', ')} ms (connect ${CONNECT_MS} ms, query ${QUERY_MS} ms)`);
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
    }
    // bounded: a query timeout, then at most a connect timeout for the rollback's connection, with margin
    for (const t of times) expect(t).toBeLessThan(QUERY_MS + CONNECT_MS + 3_000);

    relay.restore();
    const t0 = performance.now();
    let back = await client.req('POST', '/auth/challenge', { body: { username: 'nobody', purpose: 'sign-in' } });
    while (back.status !== 200 && performance.now() - t0 < 10_000) {
      await new Promise((r) => setTimeout(r, 100));
      back = await client.req('POST', '/auth/challenge', { body: { username: 'nobody', purpose: 'sign-in' } });
    }
    console.log(`the database answers again: served after ${(performance.now() - t0).toFixed(0)} ms`);
    expect(back.status, JSON.stringify(back.body)).toBe(200);
  });
});

describe('the database timeouts in the configuration', () => {
  it('defaults, environment variables, and bad values refused with the variable named', () => {
    expect(loadConfig({}).database).toEqual({ connectTimeoutMs: 5_000, queryTimeoutMs: 30_000 });
    expect(loadConfig({ KOE_GATEWAY_DB_CONNECT_TIMEOUT_MS: '1500', KOE_GATEWAY_DB_QUERY_TIMEOUT_MS: '12000' }).database).toEqual({ connectTimeoutMs: 1_500, queryTimeoutMs: 12_000 });
    for (const [name, value] of [['KOE_GATEWAY_DB_CONNECT_TIMEOUT_MS', 'soon'], ['KOE_GATEWAY_DB_QUERY_TIMEOUT_MS', '-5'], ['KOE_GATEWAY_DB_QUERY_TIMEOUT_MS', '10'], ['KOE_GATEWAY_DB_CONNECT_TIMEOUT_MS', '0']] as const) {
      let err: unknown = null;
      try {
        loadConfig({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect(String(err)).toContain(name);
    }
  });
});
