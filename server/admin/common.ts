// What the /admin routes share: the org's user, role and target lookups (every route is scoped
// to the caller's org: a row of another org answers like a nonexistent one and the probe is
// audited, server/auth/tenancy.ts; who may act on whom is server/auth/authority.ts).
import { assertMayActOn, userWithPermissions } from '../auth/authority';
import type { Principal } from '../auth/principal-type';
import { notFound } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';

/** A user of p's org, with role and permissions (for the authority checks). A deleted user (a tombstone) is not found. */
export async function orgUser(ctx: GatewayContext, p: Principal, id: string) {
  const u = await userWithPermissions(ctx.db).where('users.id', '=', id).where('users.org_id', '=', p.orgId).where('users.deleted_at', 'is', null).executeTakeFirst();
  if (!u) throw await notFound(ctx.db, p, 'users', id, new GatewayError('not_found', 'no such user'));
  return u;
}

/** A user of p's org that p may act on (their permissions ⊆ p's). */
export async function targetUser(ctx: GatewayContext, p: Principal, id: string, attempted: string) {
  const u = await orgUser(ctx, p, id);
  assertMayActOn(p, u, attempted);
  return u;
}

export async function orgRole(ctx: GatewayContext, p: Principal, key: string) {
  const r = await ctx.db.selectFrom('roles').select(['id', 'key', 'permissions']).where('org_id', '=', p.orgId).where('key', '=', key).executeTakeFirst();
  if (!r) throw new GatewayError('validation_failed', `no role "${key}" in this org`);
  return r;
}
