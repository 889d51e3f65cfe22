// /admin policy (read, change within what keeps the changer signed in) and the org's audit log.
import type { FastifyInstance } from 'fastify';
import { OrgPolicySchema, type OrgPolicy, type OrgPolicyPatch } from '../../shared/gateway/policy';
import { appendAudit, eventBy, exportAudit, toAuditView } from '../audit/audit';
import { allowedBy } from '../auth/net';
import type { GatewayContext } from '../context';
import { toJsonColumn } from '../db/json-column';
import { GatewayError } from '../errors';
import { route } from '../http';
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
        issues: merged.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    if (merged.data.password.minLength > merged.data.password.maxLength) throw new GatewayError('validation_failed', 'password.minLength exceeds maxLength');
    if (merged.data.ipAllowlist.org.length > 0 && !allowedBy(principal.sourceIp, merged.data.ipAllowlist.org)) {
      throw new GatewayError('validation_failed', 'this org allowlist would refuse your own address; include it first');
    }
    // Every request is checked against the org list and the caller's role list
    // (server/principal.ts), so a role list without the caller's address would lock them out too.
    const ownRoleList = merged.data.ipAllowlist.roles[principal.role] ?? [];
    if (ownRoleList.length > 0 && !allowedBy(principal.sourceIp, ownRoleList)) {
      throw new GatewayError('validation_failed', `the allowlist of your own role "${principal.role}" would refuse your own address; include it first`);
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
    if (query.action) q = query.action.endsWith('.*') ? q.where('action', 'like', `${query.action.slice(0, -1).replace(/[%_]/g, '')}%`) : q.where('action', '=', query.action);
    if (query.actorUserId) q = q.where('actor_user_id', '=', query.actorUserId);
    if (query.targetId) q = q.where('target_id', '=', query.targetId);
    if (query.from) q = q.where('at', '>=', new Date(query.from));
    if (query.to) q = q.where('at', '<', new Date(query.to));
    if (query.before !== undefined) q = q.where('seq', '<', query.before);
    return { entries: (await q.execute()).map(toAuditView) };
  });

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
