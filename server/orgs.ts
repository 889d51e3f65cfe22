// Org and user provisioning shared by the admin API, the CLI and the demo seed.
import type { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { BUILTIN_ROLES } from '../shared/gateway/permissions';
import { DEFAULT_ORG_POLICY, OrgPolicySchema, type OrgPolicy } from '../shared/gateway/policy';
import { normalizeUsername } from '../shared/gateway/device-message';
import { appendAudit, type AuditEvent } from './audit/audit';
import { assertPolicy } from './auth/password-change';
import type { GatewayContext } from './context';
import { GatewayError } from './errors';
import { orgPolicy } from './policy';
import { toJsonColumn } from './db/json-column';

export async function createOrg(ctx: GatewayContext, name: string, policy: Partial<z.input<typeof OrgPolicySchema>> = {}): Promise<string> {
  const id = randomUUID();
  const full = OrgPolicySchema.parse({ ...DEFAULT_ORG_POLICY, ...policy });
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('orgs').values({ id, name, policy: toJsonColumn(full), created_at: ctx.clock.now() }).execute();
    for (const [key, role] of Object.entries(BUILTIN_ROLES)) {
      await tx
        .insertInto('roles')
        .values({ id: randomUUID(), org_id: id, key, name: role.name, permissions: toJsonColumn(role.permissions), builtin: true })
        .execute();
    }
    await appendAudit(tx, ctx.clock, { orgId: id, action: 'org.created', target: { type: 'org', id }, detail: { name } });
  });
  return id;
}

/** The only org, for the CLI on single-org installs (refuses to guess when there are several). */
export async function soleOrg(ctx: GatewayContext): Promise<string | null> {
  const rows = await ctx.db.selectFrom('orgs').select('id').limit(2).execute();
  if (rows.length > 1) throw new Error('several orgs exist: pass --org <id>');
  return rows[0]?.id ?? null;
}

export async function createUser(
  ctx: GatewayContext,
  input: {
    orgId: string;
    username: string;
    displayName: string;
    role: string;
    password: string;
    /** Precomputed hash (seeding many users with one password); the policy is still checked. */
    passwordHash?: string;
    actor?: AuditEvent['actor'];
    sourceIp?: string | null;
    /**
     * The password is a temporary one someone else chose (an admin creating the user): the
     * user must change it at first sign-in, as after an admin's reset (users.must_change_password).
     */
    temporary?: boolean;
  },
): Promise<string> {
  const policy = await orgPolicy(ctx.db, input.orgId);
  const username = normalizeUsername(input.username);
  assertPolicy(input.password, policy, username);
  const role = await ctx.db.selectFrom('roles').select('id').where('org_id', '=', input.orgId).where('key', '=', input.role).executeTakeFirst();
  if (!role) throw new GatewayError('validation_failed', `no role "${input.role}" in this org`);
  // An admin's request or the CLI, never an anonymous guess: the priority hashing lane.
  const hash = input.passwordHash ?? (await ctx.hasher.hash(input.password, 'priority'));
  const id = randomUUID();
  const now = ctx.clock.now();
  let holder: string | null = null;
  try {
    await ctx.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('users').select('org_id').where('username', '=', username).executeTakeFirst();
      if (taken) {
        holder = taken.org_id;
        throw new GatewayError('conflict', 'this username is not available');
      }
      await tx
        .insertInto('users')
        .values({
          id, org_id: input.orgId, username, display_name: input.displayName, role_id: role.id, password_hash: hash,
          password_changed_at: now, disabled: false, totp_secret: null, totp_enabled: false, totp_last_counter: null, created_at: now,
          must_change_password: input.temporary ?? false,
        })
        .execute();
      await appendAudit(tx, ctx.clock, {
        orgId: input.orgId, actor: input.actor ?? null, sourceIp: input.sourceIp ?? null, action: 'user.created',
        target: { type: 'user', id }, detail: { username, role: input.role, displayName: input.displayName, ...(input.temporary ? { mustChange: true } : {}) },
      });
    });
  } catch (err) {
    // the check above lost a race with a concurrent create: the unique index answered
    if (holder === null && (err as { code?: unknown }).code === '23505') {
      holder = (await ctx.db.selectFrom('users').select('org_id').where('username', '=', username).executeTakeFirst())?.org_id ?? null;
    }
    if (holder === null) throw err;
    await usernameRefused(ctx, input, username, holder);
    throw new GatewayError('conflict', 'this username is not available');
  }
  return id;
}

/**
 * Usernames are global (sign-in names no org), so a taken one is refused with the same
 * answer whether this org or another holds it. The refusal is audited in the creating org
 * without saying where the name is taken (its admins read that log); when another org holds
 * it, a platform-level entry (no org: read with the CLI) records both orgs.
 */
async function usernameRefused(ctx: GatewayContext, input: { orgId: string; actor?: AuditEvent['actor']; sourceIp?: string | null }, username: string, holder: string) {
  const base = { actor: input.actor ?? null, sourceIp: input.sourceIp ?? null, target: { type: 'username', id: username } };
  await ctx.db.transaction().execute(async (tx) => {
    await appendAudit(tx, ctx.clock, { ...base, orgId: input.orgId, action: 'user.create_refused', detail: { username, reason: 'username_unavailable' } });
    if (holder !== input.orgId) {
      await appendAudit(tx, ctx.clock, {
        ...base, orgId: null, action: 'access.cross_org_conflict', detail: { kind: 'username', username, orgId: input.orgId, holderOrgId: holder },
      });
    }
  });
}
