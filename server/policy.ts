import { DEFAULT_ORG_POLICY, OrgPolicySchema, type OrgPolicy } from '../shared/gateway/policy';
import type { Executor } from './db/schema';
import { jsonColumn } from './db/json-column';

/** An orgs.policy column as stored, parsed (routing reads the column in its DID statement). */
export const parsePolicy = (value: unknown): OrgPolicy => OrgPolicySchema.parse(jsonColumn<unknown>(value) ?? {});

export async function orgPolicy(db: Executor, orgId: string): Promise<OrgPolicy> {
  const row = await db.selectFrom('orgs').select('policy').where('id', '=', orgId).executeTakeFirst();
  return row ? parsePolicy(row.policy) : DEFAULT_ORG_POLICY;
}

/** Every org's policy, in one query (the sign-in allowlist asks before it knows the org). */
export async function allOrgPolicies(db: Executor): Promise<OrgPolicy[]> {
  const rows = await db.selectFrom('orgs').select('policy').execute();
  return rows.map((r) => parsePolicy(r.policy));
}
