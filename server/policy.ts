import { DEFAULT_ORG_POLICY, OrgPolicySchema, type OrgPolicy } from '../shared/gateway/policy';
import type { Executor } from './db/schema';

export async function orgPolicy(db: Executor, orgId: string): Promise<OrgPolicy> {
  const row = await db.selectFrom('orgs').select('policy').where('id', '=', orgId).executeTakeFirst();
  if (!row) return DEFAULT_ORG_POLICY;
  const raw = typeof row.policy === 'string' ? JSON.parse(row.policy) : row.policy;
  return OrgPolicySchema.parse(raw ?? {});
}
