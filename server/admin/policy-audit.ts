// /admin policy (read, change within what keeps the changer signed in) and the org's audit log.
import type { FastifyInstance } from 'fastify';
import { OrgPolicySchema, type OrgPolicy, type OrgPolicyPatch } from '../../shared/gateway/policy';
import { appendAudit, eventBy, exportAudit, toAuditView } from '../audit/audit';
import { sql } from 'kysely';
import type { PolicyLockout } from '../../shared/gateway/admin-policy';
import { auditChainStatus } from '../audit/chain-status';
import { allowedBy, normalAddress } from '../auth/net';
import type { GatewayContext } from '../context';
import { toJsonColumn } from '../db/json-column';
import { GatewayError } from '../errors';
import { boundedIssues, route } from '../http';
import { orgPolicy } from '../policy';

export function registerAdminPolicyAuditRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  // Policy
  route(app, ctx, 'getPolicy', async ({ principal }) => ({ policy: await orgPolicy(db, principal.orgId) }));

  route(app, ctx, 'patchPolicy', async ({ principal, body }) => {
    const current = await orgPolicy(db, principal.orgId);
    const merged = OrgPolicySchema.safeParse(patchPolicy(current, body));
    if (!merged.success) {
      throw new GatewayError('validation_failed', 'resulting policy is invalid', {
        issues: boundedIssues(merged.error),
      });
    }
    if (merged.data.password.minLength > merged.data.password.maxLength) throw new GatewayError('validation_failed', 'password.minLength exceeds maxLength');
    const lockout = policyLockout(principal.sourceIp, principal.role, merged.data);
    if (lockout) {
      const lists = [lockout.org ? 'the org allowlist' : null, lockout.role ? `the allowlist of your own role "${lockout.role}"` : null].filter(Boolean).join(' and ');
      throw new GatewayError('policy_lockout', `your address ${lockout.address} is not in ${lists} you are saving: add it first`, { lockout });
    }
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('orgs').set({ policy: toJsonColumn(merged.data) }).where('id', '=', principal.orgId).execute();
      await appendAudit(tx, clock, eventBy(principal, 'policy.changed', { type: 'org', id: principal.orgId }, { change: body }));
    });
    ctx.sessionEvents.publish({ kind: 'policy_changed', orgId: principal.orgId });
    return { policy: merged.data };
  });

  // Audit
  route(app, ctx, 'audit', async ({ principal, query }) => {
    let q = db
      .selectFrom('audit_log')
      .selectAll()
      // the org's own entries only: org-less (platform) entries are read with the CLI
      .where('org_id', '=', principal.orgId)
      .orderBy('seq', 'desc')
      .limit(query.limit);
    if (query.action) {
      // a prefix on the C-collated index (migration 0022): a range on any database locale
      q = query.action.endsWith('.*')
        ? q.where(sql<string>`action collate "C"`, 'like', `${likeLiteral(query.action.slice(0, -1))}%`)
        : q.where('action', '=', query.action);
    }
    if (query.actorUserId) q = q.where('actor_user_id', '=', query.actorUserId);
    if (query.targetId) q = q.where('target_id', '=', query.targetId);
    // stored as the gateway formats addresses (server/auth/net.ts): the filter is compared the same way
    if (query.sourceIp) q = q.where('source_ip', '=', normalAddress(query.sourceIp));
    if (query.from) q = q.where('at', '>=', new Date(query.from));
    if (query.to) q = q.where('at', '<', new Date(query.to));
    if (query.before !== undefined) q = q.where('seq', '<', query.before);
    return { entries: (await q.execute()).map(toAuditView) };
  });

  route(app, ctx, 'auditStatus', async () => auditChainStatus(db, clock));

  route(app, ctx, 'auditExport', async ({ principal, query }) => exportAudit(db, { ...query, orgId: principal.orgId }));
}

/**
 * The policy after a PATCH, one rule for every field: a section (an object) given in the body is
 * replaced field-wise (fields not given keep their value), anything else given is replaced. A
 * field added to the schema needs no change here (a hand-written merge once dropped one).
 */
export function patchPolicy(current: OrgPolicy, body: OrgPolicyPatch): unknown {
  const isSection = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    const now = merged[key];
    merged[key] = isSection(now) && isSection(value) ? { ...now, ...value } : value;
  }
  return merged;
}

/** LIKE pattern text for a literal string (%, _ and the escape itself taken literally). */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Whether saving `policy` would refuse the caller's own address: every request is checked
 * against the org list and the caller's role list (server/principal.ts), so either would lock
 * them out. Null when neither does.
 */
export function policyLockout(address: string, role: string, policy: OrgPolicy): PolicyLockout | null {
  const org = !allowedBy(address, policy.ipAllowlist.org);
  const roleList = policy.ipAllowlist.roles[role] ?? [];
  const byRole = !allowedBy(address, roleList);
  return org || byRole ? { address, org, role: byRole ? role : null } : null;
}
