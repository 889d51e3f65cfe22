// Campaign scope: the one place that decides which campaigns a principal may see.
//
//   campaigns:all                 -> every campaign of the principal's org (admins)
//   otherwise                     -> the campaigns the user is assigned to
//     + team:read (team leads)    -> plus the campaigns assigned to the operators of the
//                                    teams the user leads
//
// Never across orgs: every predicate also pins the row's org_id to the principal's org.
// Scope is applied in SQL (`inScope` below goes into the WHERE clause of the query that
// reads the rows), never by filtering rows after fetching them, so a row outside the scope
// and a row that does not exist take the same query and give the same zero rows.
import { sql, type RawBuilder } from 'kysely';
import type { Principal } from '../auth/principal-type';

export type CampaignScope =
  | { kind: 'org'; orgId: string }
  | { kind: 'assigned'; orgId: string; userId: string; viaTeams: boolean };

export function campaignScope(p: Principal): CampaignScope {
  if (p.permissions.has('campaigns:all')) return { kind: 'org', orgId: p.orgId };
  return { kind: 'assigned', orgId: p.orgId, userId: p.userId, viaTeams: p.permissions.has('team:read') };
}

/** The ids of the campaigns in scope, as a SQL subquery (for `campaign_id in (...)`). */
export function scopedCampaignIds(scope: CampaignScope): RawBuilder<unknown> {
  if (scope.kind === 'org') return sql`select c.id from campaigns c where c.org_id = ${scope.orgId}`;
  const own = sql`select a.campaign_id from campaign_assignments a where a.user_id = ${scope.userId} and a.org_id = ${scope.orgId}`;
  if (!scope.viaTeams) return own;
  return sql`${own} union select a.campaign_id from campaign_assignments a
    join team_members op on op.user_id = a.user_id and op.member_role = 'operator'
    join team_members ld on ld.team_id = op.team_id and ld.member_role = 'lead'
    where ld.user_id = ${scope.userId} and a.org_id = ${scope.orgId}`;
}

/**
 * WHERE predicate: the row (table alias `t`, with columns org_id and `column`) is in scope.
 * For the whole-org scope that is the org alone: every campaign_id of a row belongs to the
 * row's org, and a call that matched no campaign (campaign_id null) is the org's too. A
 * user scoped by assignment never sees rows without a campaign.
 */
export function inScope(scope: CampaignScope, t: string, column = 'campaign_id'): RawBuilder<boolean> {
  const org = sql`${sql.ref(`${t}.org_id`)} = ${scope.orgId}`;
  if (scope.kind === 'org') return sql<boolean>`(${org})`;
  return sql<boolean>`(${org} and ${sql.ref(`${t}.${column}`)} in (${scopedCampaignIds(scope)}))`;
}
