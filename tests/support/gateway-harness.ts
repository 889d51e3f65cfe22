import type { AddressInfo } from 'node:net';
import { TEST_ARGON2 } from '../../server/config';
import { openDatabase } from '../../server/db/connect';
import { createGateway, type Gateway } from '../../server/gateway';
import { createOrg, createUser } from '../../server/orgs';
import type { OrgPolicy } from '../../shared/gateway/policy';

export const DEMO_PASSWORD = 'Sakura-Koe-2026!';

/** A real gateway (PGlite in memory) listening on loopback, with one org, for e2e tests. */
export async function startLoopbackGateway(policy: Partial<OrgPolicy> = {}) {
  const db = await openDatabase({ kind: 'pglite', dataDir: null });
  const config = {
    argon2: TEST_ARGON2,
    jwt: { secret: 'e2e-secret-e2e-secret-e2e-secret-0123456789' },
    authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
  };
  const gw: Gateway = await createGateway({ db, config });
  const orgId = await createOrg(gw.ctx, 'テスト株式会社', { totpRequiredRoles: [], ...policy });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (gw.app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let n = 0;
  let current = gw;
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
    async addUser(role: string, displayName: string) {
      const username = `${role.replace(/_/g, '-')}-${++n}`;
      const id = await createUser(current.ctx, { orgId, username, displayName, role, password: DEMO_PASSWORD });
      return { id, username, password: DEMO_PASSWORD };
    },
    /** Calls the gateway's admin API the way an admin's client would. */
    async asAdmin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
      const admin = await this.adminToken();
      const res = await current.app.inject({
        method: method as 'GET',
        url: path,
        headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: res.statusCode, body: JSON.parse(res.body) as T };
    },
    adminTokenCache: null as string | null,
    async adminToken(): Promise<string> {
      if (this.adminTokenCache) return this.adminTokenCache;
      // Admins are not device-bound in this org so the test can act as one without a second keychain.
      const username = 'it-admin';
      await createUser(current.ctx, { orgId, username, displayName: '管理者', role: 'admin', password: DEMO_PASSWORD }).catch(() => undefined);
      const res = await current.app.inject({
        method: 'POST',
        url: '/auth/sign-in',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username, password: DEMO_PASSWORD }),
      });
      if (res.statusCode !== 200) throw new Error(`admin sign-in failed: ${res.body}`);
      this.adminTokenCache = (JSON.parse(res.body) as { tokens: { accessToken: string } }).tokens.accessToken;
      return this.adminTokenCache;
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
