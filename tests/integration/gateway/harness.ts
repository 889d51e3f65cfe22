// Runs gateway suites on both backends: PGlite in memory and PostgreSQL in a fresh database
// per suite (created on the server named by KOE_TEST_DATABASE_URL, dropped afterwards).
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { deviceSignatureMessage, type DeviceSignaturePurpose } from '../../../shared/gateway/device-message';
import type { OrgPolicyPatch } from '../../../shared/gateway/policy';
import { ManualClock } from '../../../server/clock';
import { TEST_ARGON2, type GatewayConfigInput } from '../../../server/config';
import { sql } from 'kysely';
import { openDatabase } from '../../../server/db/connect';
import type { Db } from '../../../server/db/schema';
import { createGateway, type Gateway } from '../../../server/gateway';
import { createOrg, createUser } from '../../../server/orgs';
import { GatewayTestClient, type GatewayResponse, type RequestOptions } from '../../support/gateway-client';
import { createScratchDatabase } from '../../support/pg-database';

export const BACKENDS = ['pglite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

export const PASSWORD = 'Sakura-Koe-2026!';

/** Runs a tampering statement on the audit log with its append-only triggers off, then turns them back on (an attacker with SQL access). */
export async function tamperAudit(db: Db, statement: string): Promise<void> {
  await sql.raw('alter table audit_log disable trigger user').execute(db);
  try {
    await sql.raw(statement).execute(db);
  } finally {
    await sql.raw('alter table audit_log enable trigger user').execute(db);
  }
}

export async function openBackend(backend: Backend): Promise<{ db: Db; drop: () => Promise<void>; url?: string }> {
  if (backend === 'pglite') {
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    return { db, drop: () => db.destroy() };
  }
  const base = process.env.KOE_TEST_DATABASE_URL;
  if (!base) {
    throw new Error(
      'KOE_TEST_DATABASE_URL is not set, so the PostgreSQL variant cannot run. Install the Debian package ' +
        '`postgresql` and run `npm test` (scripts/test.sh starts a throwaway cluster and sets the variable).',
    );
  }
  return createScratchDatabase(base, 'koe_t', 8);
}

export interface DeviceKey {
  publicKey: string;
  privateKey: KeyObject;
  name: string;
}

export function newDeviceKey(name = 'KOE-PC-01'): DeviceKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return { publicKey: jwk.x, privateKey, name };
}

export function signChallenge(key: DeviceKey, purpose: DeviceSignaturePurpose, username: string, challenge: string): string {
  return sign(null, Buffer.from(deviceSignatureMessage({ purpose, username, challenge, publicKey: key.publicKey })), key.privateKey).toString('base64url');
}

export type Res = GatewayResponse;

export interface TestUser {
  id: string;
  username: string;
  password: string;
  device: DeviceKey;
}

export class Harness {
  private seq = 0;
  readonly users: Record<'admin' | 'lead' | 'operator', TestUser> = {} as never;
  adminToken = '';

  constructor(
    readonly backend: Backend,
    readonly gw: Gateway,
    readonly db: Db,
    readonly clock: ManualClock,
    readonly orgId: string,
    private readonly sharedHash: string,
    private readonly dropDb: () => Promise<void>,
    readonly url?: string,
  ) {
    this.client = GatewayTestClient.inject(gw.app, { ip: '10.0.0.1' });
  }

  async close() {
    await this.gw.close();
    await this.dropDb();
  }

  /** The one gateway test client (tests/support/gateway-client.ts), in-process; source address 10.0.0.1 unless a request says otherwise. */
  readonly client: GatewayTestClient;

  /** A request that must answer 200: its body, or an error naming the route and the answer. */
  ok(method: string, url: string, token: string, body?: unknown): Promise<any> {
    return this.client.ok(method, url, token, body);
  }

  req(method: string, url: string, opts: RequestOptions = {}): Promise<Res> {
    return this.client.req(method, url, opts);
  }

  /** A fresh user in the org (shared precomputed hash of PASSWORD: no argon2 cost per user). */
  /** A campaign of the org (Tokyo, no hours, one disposition) with a random DID of its own. */
  async campaignWithDid(name: string): Promise<{ campaignId: string; did: string }> {
    const campaignId = randomUUID();
    const did = `+81312${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    const now = this.clock.now();
    await this.db
      .insertInto('campaigns')
      .values({
        id: campaignId, org_id: this.orgId, name, time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
        dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now,
      })
      .execute();
    await this.db.insertInto('campaign_dids').values({ org_id: this.orgId, e164: did, campaign_id: campaignId }).execute();
    return { campaignId, did };
  }

  async newUser(role: string, prefix = role): Promise<TestUser> {
    const username = `${prefix.replace(/_/g, '-')}-${++this.seq}-${randomBytes(3).toString('hex')}`;
    const id = await createUser(this.gw.ctx, {
      orgId: this.orgId, username, displayName: `テスト ${username}`, role, password: PASSWORD, passwordHash: this.sharedHash,
    });
    return { id, username, password: PASSWORD, device: newDeviceKey(`PC of ${username}`) };
  }

  async challenge(username: string, purpose: DeviceSignaturePurpose = 'sign-in', ip?: string): Promise<string> {
    const res = await this.req('POST', '/auth/challenge', { body: { username, purpose }, ...(ip ? { ip } : {}) });
    if (res.status !== 200) throw new Error(`challenge failed: ${JSON.stringify(res.body)}`);
    return res.body.challenge;
  }

  /** Full sign-in: challenge, device signature (unless device: null), password, optional TOTP. */
  async signIn(
    user: { username: string; password?: string; device?: DeviceKey | null },
    extra: { password?: string; totp?: string; recoveryCode?: string; ip?: string; device?: DeviceKey | null } = {},
  ): Promise<Res> {
    const device = extra.device !== undefined ? extra.device : user.device;
    const body: Record<string, unknown> = { username: user.username, password: extra.password ?? user.password ?? PASSWORD };
    if (extra.totp) body.totp = extra.totp;
    if (extra.recoveryCode) body.recoveryCode = extra.recoveryCode;
    if (device) {
      const challenge = await this.challenge(user.username, 'sign-in', extra.ip);
      body.device = { publicKey: device.publicKey, name: device.name, challenge, signature: signChallenge(device, 'sign-in', user.username, challenge) };
    }
    return this.req('POST', '/auth/sign-in', { body, ...(extra.ip ? { ip: extra.ip } : {}) });
  }

  async token(user: TestUser): Promise<string> {
    const res = await this.signIn(user);
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.tokens.accessToken;
  }

  async refresh(user: TestUser, refreshToken: string, opts: { device?: DeviceKey | null; ip?: string } = {}): Promise<Res> {
    const device = opts.device !== undefined ? opts.device : user.device;
    const body: Record<string, unknown> = { refreshToken };
    if (device) {
      const challenge = await this.challenge(user.username, 'refresh');
      body.device = { publicKey: device.publicKey, challenge, signature: signChallenge(device, 'refresh', user.username, challenge) };
    }
    return this.req('POST', '/auth/refresh', { body, ...(opts.ip ? { ip: opts.ip } : {}) });
  }

  async patchPolicy(patch: OrgPolicyPatch): Promise<void> {
    const res = await this.req('PATCH', '/admin/policy', { token: await this.token(this.users.admin), body: patch });
    if (res.status !== 200) throw new Error(`policy patch failed: ${JSON.stringify(res.body)}`);
  }

  async auditActions(filter: { targetId?: string; action?: string } = {}): Promise<string[]> {
    let q = this.db.selectFrom('audit_log').select('action').orderBy('seq');
    if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
    if (filter.action) q = q.where('action', '=', filter.action);
    return (await q.execute()).map((r) => r.action);
  }
}

/** The gateway configuration every gateway integration test starts from: fast argon2, a fixed
 *  JWT secret (so several instances on one database accept each other's tokens), no sign-in
 *  throttle in the way of a test's many sign-ins; `extra` on top. */
export function testGatewayConfig(extra: GatewayConfigInput = {}, url?: string): GatewayConfigInput {
  return {
    argon2: TEST_ARGON2,
    jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' },
    authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
    ...(url ? { databaseUrl: url } : {}),
    ...extra,
  };
}

/**
 * A gateway on `backend` with one org whose admins need no TOTP (tests turn it on where it
 * matters), an admin, a team lead and an operator, and a settable clock. `logger`: the
 * gateway's log lines go to this stream (at config.logLevel), else it logs nothing.
 */
export async function setup(backend: Backend, config: GatewayConfigInput = {}, opts: { logger?: { stream: NodeJS.WritableStream } } = {}): Promise<Harness> {
  const { db, drop, url } = await openBackend(backend);
  const clock = new ManualClock();
  const gw = await createGateway({ db, clock, config: testGatewayConfig(config), ...(opts.logger ? { logger: opts.logger } : {}) });
  const orgId = await createOrg(gw.ctx, 'テスト株式会社');
  await db
    .updateTable('orgs')
    .set({ policy: JSON.stringify({ ...(await import('../../../shared/gateway/policy')).DEFAULT_ORG_POLICY, totpRequiredRoles: [] }) })
    .where('id', '=', orgId)
    .execute();
  const hash = await gw.ctx.hasher.hash(PASSWORD);
  const h = new Harness(backend, gw, db, clock, orgId, hash, drop, url);
  h.users.admin = await h.newUser('admin');
  h.users.lead = await h.newUser('team_lead', 'lead');
  h.users.operator = await h.newUser('operator');
  return h;
}
