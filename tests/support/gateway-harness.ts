import type { AddressInfo } from 'node:net';
import { TEST_ARGON2 } from '../../server/config';
import { openDatabase } from '../../server/db/connect';
import { createGateway, type Gateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import type { OrgPolicy } from '../../shared/gateway/policy';
import { GatewayTestClient } from './gateway-client';

export const DEMO_PASSWORD = 'Sakura-Koe-2026!';

/** A real gateway (PGlite in memory) listening on loopback, with one org, for e2e tests. */
/** `corsOrigins`: the dev hosts' origins whose renderer calls the gateway directly (screen pop, self-service). */
export async function startLoopbackGateway(policy: Partial<OrgPolicy> = {}, opts: { corsOrigins?: string[] } = {}) {
  const db = await openDatabase({ kind: 'pglite', dataDir: null });
  const config = {
    argon2: TEST_ARGON2,
    jwt: { secret: 'e2e-secret-e2e-secret-e2e-secret-0123456789' },
    authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
    // alert webhooks to a local receiver in the test (issue 17); never in production
    webhooks: { allowLoopbackHttp: true },
    ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}),
  };
  const gw: Gateway = await createGateway({ db, config });
  const orgId = await createOrg(gw.ctx, 'テスト株式会社', { totpRequiredRoles: [], ...policy });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (gw.app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let n = 0;
  let current = gw;
  // follows restart(): every request goes to the running gateway
  const client = GatewayTestClient.inject({ inject: (o) => current.app.inject(o) });
  let adminCreated: Promise<unknown> | null = null;
  return {
    /** The running gateway (a new one after restart()). */
    get gw() {
      return current;
    },
    url,
    orgId,
    /** Stops the gateway (its sockets close as in a real restart), then starts a new one on the same port and database. */
    async restart(beforeStart: () => Promise<void> = async () => undefined) {
      await current.close();
      await beforeStart();
      current = await createGateway({ db, config });
      await current.app.listen({ port, host: '127.0.0.1' });
    },
    /** The one gateway test client (tests/support/gateway-client.ts), in-process. */
    client,
    async addUser(role: string, displayName: string) {
      const username = `${role.replace(/_/g, '-')}-${++n}`;
      const id = await createUser(current.ctx, { orgId, username, displayName, role, password: DEMO_PASSWORD });
      return { id, username, password: DEMO_PASSWORD };
    },
    /** Calls the gateway's admin API the way an admin's client would. */
    async asAdmin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
      const res = await client.req(method, path, { token: await this.adminToken(), ...(body ? { body } : {}) });
      return { status: res.status, body: res.body as T };
    },
    async adminToken(): Promise<string> {
      // Admins are not device-bound in this org so the test can act as one without a second keychain.
      const username = 'it-admin';
      adminCreated ??= createUser(current.ctx, { orgId, username, displayName: '管理者', role: 'admin', password: DEMO_PASSWORD });
      await adminCreated;
      return client.token(username, DEMO_PASSWORD);
    },
    async auditActions(): Promise<string[]> {
      return (await db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);
    },
    async close() {
      await current.close();
      await db.destroy();
    },
  };
}
