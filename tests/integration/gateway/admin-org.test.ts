// The admin console's teams, roles and campaigns routes (issue 17; server/admin/org.ts,
// shared/gateway/admin-org.ts): rename and delete a team, delete a custom role, a campaign's
// admin view, disable/enable and delete a campaign, user names by id. Asserted on both backends:
// an operator and a team lead are refused by the gateway (403) on every route; another org's ids
// answer exactly like nonexistent ones (and the probe is audited); every change is audited in its
// transaction; a role in use is refused with in_use naming how many hold it; a campaign with
// calls is refused with in_use (disable it); a disabled campaign is not routed
// (server/sip/routing.ts: its DID answers like an unknown number) and is routed again once enabled.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser } from '../../../server/orgs';
import { routeInbound } from '../../../server/sip/routing';
import { BACKENDS, PASSWORD, setup, type Harness, type Res } from './harness';

const show = (r: Res) => JSON.stringify(r.body);

describe.each(BACKENDS)('admin console: teams, roles, campaigns on %s', (backend) => {
  let h: Harness;
  let admin = '';
  let lead = '';
  let operator = '';
  let adminB = '';
  const b: { team: string; role: string; campaign: string; user: string } = { team: '', role: '', campaign: '', user: '' };
  const headSeq = async () => Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
  const auditSince = async (seq: number) =>
    (await h.db.selectFrom('audit_log').selectAll().where('seq', '>', seq).orderBy('seq').execute()).map((r) => ({
      action: r.action, org: r.org_id, actor: r.actor_user_id, target: r.target_id,
      detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    }));
  const campaignBody = (name: string, dids: string[] = []) => ({
    name, dids, dispositions: ['解決'],
    hours: { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '00:00', close: '24:00' }], tue: [{ open: '00:00', close: '24:00' }], wed: [{ open: '00:00', close: '24:00' }], thu: [{ open: '00:00', close: '24:00' }], fri: [{ open: '00:00', close: '24:00' }], sat: [{ open: '00:00', close: '24:00' }], sun: [{ open: '00:00', close: '24:00' }] } },
    routing: { enforceHours: false },
  });

  beforeAll(async () => {
    h = await setup(backend);
    admin = await h.token(h.users.admin);
    lead = await h.token(h.users.lead);
    operator = await h.token(h.users.operator);
    // org B and its rows, to probe for from org A
    const orgB = await createOrg(h.gw.ctx, 'B株式会社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const username = `b-admin-${backend}-${randomUUID().slice(0, 6)}`;
    b.user = await createUser(h.gw.ctx, { orgId: orgB, username, displayName: 'B 管理', role: 'admin', password: PASSWORD });
    const signed = await h.signIn({ username, device: null });
    expect(signed.status, show(signed)).toBe(200);
    adminB = signed.body.tokens.accessToken;
    b.team = (await h.ok('POST', '/admin/teams', adminB, { name: 'B班' })).id;
    b.role = (await h.ok('POST', '/admin/roles', adminB, { key: 'b_viewer', name: 'B閲覧', permissions: ['users:read'] })).id;
    b.campaign = (await h.ok('POST', '/campaigns', adminB, campaignBody('B案件'))).id;
  });
  afterAll(async () => h?.close());

  it('an operator and a team lead are refused by the gateway on every route (403), and nothing changes', async () => {
    const team = (await h.ok('POST', '/admin/teams', admin, { name: `守る班-${randomUUID().slice(0, 4)}` })).id;
    const role = (await h.ok('POST', '/admin/roles', admin, { key: `keep_${randomUUID().slice(0, 4)}`, name: '守る', permissions: ['users:read'] })).id;
    const campaign = (await h.ok('POST', '/campaigns', admin, campaignBody(`守る案件-${randomUUID().slice(0, 4)}`))).id;
    const calls: [string, string, unknown?][] = [
      ['PATCH', `/admin/teams/${team}`, { name: '乗っ取り' }],
      ['DELETE', `/admin/teams/${team}`],
      ['DELETE', `/admin/roles/${role}`],
      ['GET', `/campaigns/${campaign}/admin`],
      ['PUT', `/campaigns/${campaign}/disabled`, { disabled: true }],
      ['DELETE', `/campaigns/${campaign}`],
      ['POST', '/admin/users/names', { ids: [h.users.admin.id] }],
    ];
    for (const token of [operator, lead]) {
      for (const [method, url, body] of calls) {
        const res = await h.req(method, url, { token, ...(body ? { body } : {}) });
        expect(res.status, `${method} ${url}: ${show(res)}`).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
    }
    expect((await h.db.selectFrom('teams').select('name').where('id', '=', team).executeTakeFirstOrThrow()).name).toMatch(/^守る班/);
    expect(await h.db.selectFrom('roles').select('id').where('id', '=', role).executeTakeFirst()).toBeTruthy();
    expect((await h.db.selectFrom('campaigns').select('disabled_at').where('id', '=', campaign).executeTakeFirstOrThrow()).disabled_at).toBeNull();
  });

  it('another org\'s team, role and campaign answer exactly like nonexistent ones, and each probe is audited', async () => {
    const probes: [string, (id: string) => string, unknown?][] = [
      ['PATCH', (id) => `/admin/teams/${id}`, { name: '他社' }],
      ['DELETE', (id) => `/admin/teams/${id}`],
      ['DELETE', (id) => `/admin/roles/${id}`],
      ['GET', (id) => `/campaigns/${id}/admin`],
      ['PUT', (id) => `/campaigns/${id}/disabled`, { disabled: true }],
      ['DELETE', (id) => `/campaigns/${id}`],
    ];
    const theirs = [b.team, b.team, b.role, b.campaign, b.campaign, b.campaign];
    for (const [i, [method, url, body]] of probes.entries()) {
      const seq = await headSeq();
      const missing = await h.req(method, url(randomUUID()), { token: admin, ...(body ? { body } : {}) });
      const other = await h.req(method, url(theirs[i]!), { token: admin, ...(body ? { body } : {}) });
      expect(missing.status, show(missing)).toBe(404);
      expect(other.status).toBe(missing.status);
      expect(other.body.error.code).toBe(missing.body.error.code);
      expect(other.body.error.message).toBe(missing.body.error.message);
      const probed = (await auditSince(seq)).filter((e) => e.action === 'access.cross_org_probe');
      expect(probed.map((e) => [e.target, e.org]), `${method} ${url('x')}`).toEqual([[theirs[i], null]]);
    }
    // org B's rows are untouched
    expect((await h.db.selectFrom('teams').select('name').where('id', '=', b.team).executeTakeFirstOrThrow()).name).toBe('B班');
    expect((await h.db.selectFrom('campaigns').select('disabled_at').where('id', '=', b.campaign).executeTakeFirstOrThrow()).disabled_at).toBeNull();
    // user names: another org's user is simply not there
    const names = await h.ok('POST', '/admin/users/names', admin, { ids: [b.user, h.users.operator.id, randomUUID()] });
    expect(names.users.map((u: { id: string }) => u.id)).toEqual([h.users.operator.id]);
  });

  it('a team is renamed (a taken name is a conflict) and deleted: memberships end, the users and the audit history stay; audited', async () => {
    const team = (await h.ok('POST', '/admin/teams', admin, { name: `一班-${backend}` })).id;
    await h.ok('POST', '/admin/teams', admin, { name: `二班-${backend}` });
    await h.ok('PUT', `/admin/teams/${team}/members`, admin, { leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });
    const clash = await h.req('PATCH', `/admin/teams/${team}`, { token: admin, body: { name: `二班-${backend}` } });
    expect(clash.status, show(clash)).toBe(409);
    const bad = await h.req('PATCH', `/admin/teams/${team}`, { token: admin, body: { name: '' } });
    expect(bad.body.error.code).toBe('validation_failed');
    const seq = await headSeq();
    const renamed = await h.ok('PATCH', `/admin/teams/${team}`, admin, { name: `三班-${backend}` });
    expect(renamed).toEqual({ id: team, name: `三班-${backend}`, leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });
    expect(await h.ok('DELETE', `/admin/teams/${team}`, admin)).toEqual({ id: team, deleted: true });
    expect(await h.db.selectFrom('team_members').select('user_id').where('team_id', '=', team).execute()).toEqual([]);
    expect(await h.db.selectFrom('users').select('id').where('id', 'in', [h.users.lead.id, h.users.operator.id]).execute()).toHaveLength(2);
    const entries = (await auditSince(seq)).filter((e) => e.target === team);
    expect(entries.map((e) => e.action)).toEqual(['team.renamed', 'team.deleted']);
    expect(entries[1]!.detail).toMatchObject({ name: `三班-${backend}`, leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });
    // the team's earlier history is still in the log
    expect(await h.auditActions({ targetId: team })).toEqual(['team.created', 'team.members_changed', 'team.renamed', 'team.deleted']);
    const again = await h.req('DELETE', `/admin/teams/${team}`, { token: admin });
    expect(again.status).toBe(404);
  });

  it('a team with an admin in it cannot be deleted by someone who could not change it (authority), and the refusal is audited', async () => {
    const teamAdmin = await h.newUser('admin', 'teamadmin-holder');
    await h.ok('POST', '/admin/roles', admin, { key: 'team_keeper', name: '班管理', permissions: ['users:read', 'teams:manage'] });
    const keeper = await h.newUser('team_keeper');
    const keeperToken = await h.token(keeper);
    const team = (await h.ok('POST', '/admin/teams', admin, { name: `管理者班-${backend}` })).id;
    await h.ok('PUT', `/admin/teams/${team}/members`, admin, { leadIds: [teamAdmin.id], operatorIds: [] });
    const seq = await headSeq();
    const res = await h.req('DELETE', `/admin/teams/${team}`, { token: keeperToken });
    expect(res.status, show(res)).toBe(403);
    expect(await h.db.selectFrom('team_members').select('user_id').where('team_id', '=', team).execute()).toHaveLength(1);
    expect((await auditSince(seq)).map((e) => [e.action, e.detail.route])).toEqual([['authz.refused', 'deleteTeam']]);
  });

  it('a custom role in use is refused with in_use naming how many hold it; built-in roles are never deleted; an unused one is deleted and audited', async () => {
    const role = await h.ok('POST', '/admin/roles', admin, { key: 'night_shift', name: '夜勤', permissions: ['calls:handle', 'customers:read'] });
    await h.newUser('night_shift');
    await h.newUser('night_shift');
    const refused = await h.req('DELETE', `/admin/roles/${role.id}`, { token: admin });
    expect(refused.status, show(refused)).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'in_use', violations: ['users=2'] });
    const roles = await h.ok('GET', '/admin/roles', admin);
    for (const key of ['admin', 'team_lead', 'operator']) {
      const id = roles.roles.find((r: { key: string }) => r.key === key).id;
      const res = await h.req('DELETE', `/admin/roles/${id}`, { token: admin });
      expect(res.status, key).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    const unused = await h.ok('POST', '/admin/roles', admin, { key: 'temp_role', name: '一時', permissions: ['users:read'] });
    const seq = await headSeq();
    expect(await h.ok('DELETE', `/admin/roles/${unused.id}`, admin)).toEqual({ id: unused.id, deleted: true });
    expect((await auditSince(seq)).map((e) => [e.action, e.target, e.detail.key])).toEqual([['role.deleted', unused.id, 'temp_role']]);
    expect((await h.ok('GET', '/admin/roles', admin)).roles.map((r: { key: string }) => r.key)).not.toContain('temp_role');
  });

  it('a role holding permissions the caller lacks cannot be deleted by them (authority), audited', async () => {
    await h.ok('POST', '/admin/roles', admin, { key: 'role_keeper', name: 'ロール管理', permissions: ['users:read', 'roles:manage'] });
    const powerful = await h.ok('POST', '/admin/roles', admin, { key: 'powerful', name: '強い', permissions: ['users:read', 'roles:manage', 'policy:manage'] });
    const keeper = await h.token(await h.newUser('role_keeper'));
    const seq = await headSeq();
    const res = await h.req('DELETE', `/admin/roles/${powerful.id}`, { token: keeper });
    expect(res.status, show(res)).toBe(403);
    expect((await auditSince(seq)).map((e) => [e.action, e.detail.route])).toEqual([['authz.refused', 'deleteRole']]);
    expect(await h.db.selectFrom('roles').select('id').where('id', '=', powerful.id).executeTakeFirst()).toBeTruthy();
  });

  it('a disabled campaign is not routed (its DID answers like an unknown one) and keeps its DIDs; enabled, it is routed again; both audited', async () => {
    const did = `+8150${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const campaign = await h.ok('POST', '/campaigns', admin, campaignBody(`ルート案件-${backend}`, [did]));
    const route = () => routeInbound(h.gw.ctx, { did, from: '09011112222', callId: `dis-${randomUUID()}` });
    const before = await route();
    expect(before.campaignId).toBe(campaign.id);
    expect(before.reason).not.toBe('unknown_did');
    const seq = await headSeq();
    const off = await h.ok('PUT', `/campaigns/${campaign.id}/disabled`, admin, { disabled: true });
    expect(off).toMatchObject({ campaignId: campaign.id, disabled: true });
    expect(off.disabledAt).toBe(h.clock.now().toISOString());
    const decision = await route();
    expect(decision).toMatchObject({ target: null, campaignId: null, reason: 'unknown_did' });
    // the number stays the campaign's: no other campaign (or org) can take it while disabled
    const taken = await h.req('POST', '/campaigns', { token: adminB, body: campaignBody('横取り', [did]) });
    expect(taken.status, show(taken)).toBe(409);
    expect((await h.ok('GET', `/campaigns/${campaign.id}`, admin)).disabled).toBe(true);
    await h.ok('PUT', `/campaigns/${campaign.id}/disabled`, admin, { disabled: true }); // again: no change, no entry
    await h.ok('PUT', `/campaigns/${campaign.id}/disabled`, admin, { disabled: false });
    expect((await route()).campaignId).toBe(campaign.id);
    expect((await auditSince(seq)).filter((e) => e.target === campaign.id).map((e) => e.action)).toEqual(['campaign.disabled', 'campaign.enabled']);
  });

  it('a campaign with calls is refused with in_use (disable it instead); one without is deleted, its DID freed, audited', async () => {
    const did = `+8160${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const used = await h.ok('POST', '/campaigns', admin, campaignBody(`使用中-${backend}`, [did]));
    await routeInbound(h.gw.ctx, { did, from: '09011112222', callId: `del-${randomUUID()}` });
    const now = h.clock.now();
    await h.db.insertInto('calls').values({
      id: randomUUID(), org_id: h.orgId, sip_call_id: `hist-${randomUUID()}`, operator_id: h.users.operator.id, campaign_id: used.id, customer_id: null,
      caller_e164: null, dialled_e164: did, blocked: false, status: 'ended', ringing_at: now, answered_at: null, ended_at: now, disposition: null,
      wrap_up_seconds: null, created_at: now, updated_at: now,
    }).execute();
    const refused = await h.req('DELETE', `/campaigns/${used.id}`, { token: admin });
    expect(refused.status, show(refused)).toBe(409);
    expect(refused.body.error.code).toBe('in_use');
    expect(refused.body.error.violations.some((v: string) => /^calls=\d+$/.test(v))).toBe(true);
    expect(await h.db.selectFrom('campaigns').select('id').where('id', '=', used.id).executeTakeFirst()).toBeTruthy();

    // another campaign's overflow cannot be deleted either; a malformed id is a 400, not a 500
    const target = await h.ok('POST', '/campaigns', admin, campaignBody(`あふれ先-${backend}`));
    const source = await h.ok('POST', '/campaigns', admin, campaignBody(`あふれ元-${backend}`));
    await h.ok('PUT', `/campaigns/${source.id}/queue`, admin, { maxWaitSeconds: 60, maxSize: 5, overflowCampaignId: target.id });
    const overflow = await h.req('DELETE', `/campaigns/${target.id}`, { token: admin });
    expect(overflow.status, show(overflow)).toBe(409);
    expect(overflow.body.error).toMatchObject({ code: 'in_use', violations: ['overflow=1'] });
    for (const bad of ['not-a-uuid', "1' or '1'='1", '%00']) {
      const res = await h.req('DELETE', `/campaigns/${encodeURIComponent(bad)}`, { token: admin });
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }

    const freeDid = `+8170${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const empty = await h.ok('POST', '/campaigns', admin, campaignBody(`空-${backend}`, [freeDid]));
    await h.ok('PUT', `/campaigns/${empty.id}/assignments`, admin, { userIds: [h.users.operator.id] });
    const view = await h.ok('GET', `/campaigns/${empty.id}/admin`, admin);
    expect(view).toMatchObject({ campaignId: empty.id, disabled: false, assignedUserIds: [h.users.operator.id], callCount: 0, recording: { mode: 'never' } });
    const seq = await headSeq();
    expect(await h.ok('DELETE', `/campaigns/${empty.id}`, admin)).toEqual({ id: empty.id, deleted: true });
    expect((await auditSince(seq)).map((e) => [e.action, e.target, e.detail.dids, e.detail.assignedUserIds])).toEqual([
      ['campaign.deleted', empty.id, [freeDid], [h.users.operator.id]],
    ]);
    expect((await routeInbound(h.gw.ctx, { did: freeDid, from: '', callId: `gone-${randomUUID()}` })).reason).toBe('unknown_did');
    // the number is free again
    await h.ok('POST', '/campaigns', admin, campaignBody(`再利用-${backend}`, [freeDid]));
  });
});
