// Two teams in one org, each with its lead and one operator: the world of the lead actions'
// tests (a lead acts on their own team's operator; the other team's lead and operator are the
// "outside the team" cases).
import { randomUUID } from 'node:crypto';
import type { Harness, TestUser } from '../gateway/harness';

export async function twoTeams(h: Harness): Promise<{ op: TestUser; otherOp: TestUser; lead: TestUser; leadB: TestUser }> {
  const op = await h.newUser('operator');
  const otherOp = await h.newUser('operator');
  const lead = await h.newUser('team_lead', 'lead');
  const leadB = await h.newUser('team_lead', 'lead');
  const [teamA, teamB] = [randomUUID(), randomUUID()];
  await h.db.insertInto('teams').values([{ id: teamA, org_id: h.orgId, name: 'A' }, { id: teamB, org_id: h.orgId, name: 'B' }]).execute();
  await h.db
    .insertInto('team_members')
    .values([
      { team_id: teamA, user_id: lead.id, member_role: 'lead' },
      { team_id: teamA, user_id: op.id, member_role: 'operator' },
      { team_id: teamB, user_id: leadB.id, member_role: 'lead' },
      { team_id: teamB, user_id: otherOp.id, member_role: 'operator' },
    ])
    .execute();
  return { op, otherOp, lead, leadB };
}
