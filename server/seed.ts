// Demo data: one org, an admin, a team lead, three operators, one team. Idempotent.
import { randomUUID } from 'node:crypto';
import type { GatewayContext } from './context';
import { createOrg, createUser } from './orgs';

export const DEMO_ORG = 'Koe デモコールセンター';
export const DEMO_PASSWORD = 'Koe-Demo-2026!';
export const DEMO_USERS = [
  { username: 'kobayashi.yuki', displayName: '小林 由紀', role: 'admin' },
  { username: 'suzuki.kenta', displayName: '鈴木 健太', role: 'team_lead' },
  { username: 'sato.hanako', displayName: '佐藤 花子', role: 'operator' },
  { username: 'takahashi.ren', displayName: '高橋 蓮', role: 'operator' },
  { username: 'tanaka.aoi', displayName: '田中 葵', role: 'operator' },
] as const;

export async function seedDemo(ctx: GatewayContext): Promise<{ orgId: string; created: string[] }> {
  const existing = await ctx.db.selectFrom('orgs').select('id').where('name', '=', DEMO_ORG).executeTakeFirst();
  const orgId = existing?.id ?? (await createOrg(ctx, DEMO_ORG));
  const created: string[] = [];
  const hash = await ctx.hasher.hash(DEMO_PASSWORD);
  const ids: Record<string, string> = {};
  for (const u of DEMO_USERS) {
    const found = await ctx.db.selectFrom('users').select('id').where('username', '=', u.username).executeTakeFirst();
    ids[u.username] = found?.id ?? (await createUser(ctx, { orgId, ...u, password: DEMO_PASSWORD, passwordHash: hash }));
    if (!found) created.push(u.username);
  }
  const team = await ctx.db.selectFrom('teams').select('id').where('org_id', '=', orgId).where('name', '=', 'チームA').executeTakeFirst();
  if (!team) {
    const id = randomUUID();
    await ctx.db.insertInto('teams').values({ id, org_id: orgId, name: 'チームA' }).execute();
    await ctx.db
      .insertInto('team_members')
      .values([
        { team_id: id, user_id: ids['suzuki.kenta']!, member_role: 'lead' },
        { team_id: id, user_id: ids['sato.hanako']!, member_role: 'operator' },
        { team_id: id, user_id: ids['takahashi.ren']!, member_role: 'operator' },
        { team_id: id, user_id: ids['tanaka.aoi']!, member_role: 'operator' },
      ])
      .execute();
  }
  return { orgId, created };
}
