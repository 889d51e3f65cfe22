// Issue 18 item 6: the transfer directory. An operator sees only the colleagues they share a
// team or a campaign with (and their presence), the queues of their own campaigns, and the
// org's quick connects, which only campaigns:manage may add or remove (audited, per org).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser } from '../../../server/orgs';
import { BACKENDS, PASSWORD, setup, type Harness, type TestUser } from './harness';

describe.each(BACKENDS)('the transfer directory on %s', (backend) => {
  let h: Harness;
  let admin = '';
  beforeAll(async () => {
    h = await setup(backend);
    admin = await h.token(h.users.admin);
  });
  afterAll(async () => {
    await h?.close();
  });

  const teamOf = async (...users: TestUser[]) => {
    const id = randomUUID();
    await h.db.insertInto('teams').values({ id, org_id: h.orgId, name: `班-${id.slice(0, 6)}` }).execute();
    for (const u of users) await h.db.insertInto('team_members').values({ team_id: id, user_id: u.id, member_role: 'operator' }).execute();
  };
  const assign = async (campaignId: string, ...users: TestUser[]) => {
    for (const u of users) await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
  };

  it('lists only colleagues sharing a team or a campaign (with their presence), the operator\'s own queues and the org\'s quick connects', async () => {
    const [me, teammate, campaignMate, stranger] = [await h.newUser('operator', 'me'), await h.newUser('operator', 'team'), await h.newUser('operator', 'camp'), await h.newUser('operator', 'far')];
    await teamOf(me, teammate);
    await teamOf(stranger);
    const mine = await h.campaignWithDid('自分の窓口');
    const other = await h.campaignWithDid('他の窓口');
    await assign(mine.campaignId, me, campaignMate);
    await assign(other.campaignId, stranger);
    // the teammate is ready: presence comes from the operator model
    const who = { userId: teammate.id, orgId: h.orgId, username: teammate.username };
    for (const ev of [{ type: 'connected' }, { type: 'microphone', available: true }, { type: 'setAvailability', state: 'ready', reason: null }] as const) await h.gw.ctx.agents.apply(who, ev as never);

    const dir = await h.ok('GET', '/directory', await h.token(me));
    const names = dir.colleagues.map((c: { sipUser: string }) => c.sipUser).sort();
    expect(names).toEqual([teammate.username, campaignMate.username].map((n) => n.toLowerCase()).sort());
    expect(dir.colleagues.find((c: { userId: string }) => c.userId === teammate.id).state).toBe('ready');
    expect(dir.colleagues.find((c: { userId: string }) => c.userId === campaignMate.id).state).toBe('offline');
    expect(JSON.stringify(dir)).not.toContain(stranger.username);
    expect(dir.queues).toEqual([{ campaignId: mine.campaignId, name: '自分の窓口', number: mine.did }]);

    // the stranger sees neither of them, only their own campaign's queue
    const theirs = await h.ok('GET', '/directory', await h.token(stranger));
    expect(theirs.colleagues).toEqual([]);
    expect(theirs.queues.map((q: { campaignId: string }) => q.campaignId)).toEqual([other.campaignId]);
  });

  it('quick connects: campaigns:manage adds (E.164) and removes them, audited; operators cannot; another org\'s admin cannot touch them', async () => {
    const operator = await h.token(h.users.operator);
    const body = { name: `本社代表-${randomUUID().slice(0, 4)}`, number: '03-1111-2222' };
    expect((await h.req('POST', '/admin/quick-connects', { token: operator, body })).status).toBe(403);
    expect((await h.req('GET', '/admin/quick-connects', { token: operator })).status).toBe(403);
    expect((await h.req('POST', '/admin/quick-connects', { token: admin, body: { ...body, number: 'not a number' } })).status).toBe(400);

    const created = await h.ok('POST', '/admin/quick-connects', admin, body);
    expect(created).toMatchObject({ name: body.name, number: '+81311112222' });
    expect((await h.req('POST', '/admin/quick-connects', { token: admin, body })).status).toBe(409);
    expect((await h.ok('GET', '/directory', operator)).quickConnects.map((q: { id: string }) => q.id)).toContain(created.id);
    expect((await h.req('DELETE', `/admin/quick-connects/${created.id}`, { token: operator })).status).toBe(403);

    const orgB = await createOrg(h.gw.ctx, `B-${backend}`, { deviceBindingRoles: [], totpRequiredRoles: [] });
    const username = `qc-admin-${randomUUID().slice(0, 6)}`;
    await createUser(h.gw.ctx, { orgId: orgB, username, displayName: 'B 管理', role: 'admin', password: PASSWORD });
    const adminB = (await h.signIn({ username, device: null })).body.tokens.accessToken as string;
    expect((await h.req('DELETE', `/admin/quick-connects/${created.id}`, { token: adminB })).status).toBe(404);
    expect((await h.ok('GET', '/admin/quick-connects', adminB)).quickConnects).toEqual([]);

    expect(await h.ok('DELETE', `/admin/quick-connects/${created.id}`, admin)).toEqual({ ok: true });
    expect((await h.ok('GET', '/directory', operator)).quickConnects.map((q: { id: string }) => q.id)).not.toContain(created.id);
    expect(await h.auditActions({ targetId: created.id })).toEqual(['quick_connect.created', 'quick_connect.deleted']);
  });
});
