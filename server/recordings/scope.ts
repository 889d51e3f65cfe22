// Who may hear a recording: the one predicate every recording path (list, play, stream)
// puts in the WHERE clause of the query that reads the row, so a recording out of scope and
// one that does not exist take the same query, give zero rows and the same answer.
//
//   recordings:play is required (the route's permission), and the call's campaign is in the
//   caller's campaign scope (server/crm/scope.ts), and
//     campaigns:all                      -> every call of the org
//     team:read (team leads)             -> calls of the operators of the teams they lead
//     org policy recordings.operatorsHearOwnCalls -> the caller's own calls
import { sql, type RawBuilder } from 'kysely';
import type { OrgPolicy } from '../../shared/gateway/policy';
import type { Principal } from '../auth/principal-type';
import { campaignScope, inScope } from '../crm/scope';

/** WHERE predicate over `calls as c` (the recording's call). */
export function recordingVisible(p: Principal, policy: OrgPolicy): RawBuilder<boolean> {
  const scope = campaignScope(p);
  const campaigns = inScope(scope, 'c');
  if (scope.kind === 'org') return campaigns;
  const ways: RawBuilder<boolean>[] = [];
  if (p.permissions.has('team:read')) {
    ways.push(sql<boolean>`c.operator_id in (select op.user_id from team_members op
      join team_members ld on ld.team_id = op.team_id and ld.member_role = 'lead'
      where ld.user_id = ${p.userId} and op.member_role = 'operator')`);
  }
  if (policy.recordings.operatorsHearOwnCalls) ways.push(sql<boolean>`c.operator_id = ${p.userId}`);
  if (!ways.length) return sql<boolean>`false`;
  return sql<boolean>`(${campaigns} and (${sql.join(ways, sql` or `)}))`;
}
