// Two orgs on one gateway: nothing one org does tells it anything about the other.
//   - audit: each org reads its own entries only; org-less entries (failed sign-ins of
//     unknown names, platform events) are nobody's through the API;
//   - DIDs: one number, one campaign of one org; claiming another org's number answers like
//     any unavailable number, and is audited;
//   - usernames: taken in this org or another, the same answer;
//   - allowlist: an address allowed by org B only answers the same for org A's names as for
//     names that do not exist, and cannot lock A's users out;
//   - ids: another org's id answers byte for byte like a nonexistent one on every route with
//     an id, and leaves a platform-level access.cross_org_probe entry.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../server/db/migrations';
import { createOrg, createUser } from '../../../server/orgs';
import { routeInbound } from '../../../server/sip/routing';
import { BACKENDS, openBackend, PASSWORD, setup, type Harness, type Res } from './harness';

const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] } };
const NEW_PASSWORD = 'Another-Good-Pass-1!';
const show = (r: Res) => `${r.status} ${JSON.stringify(r.body)}`;

describe.each(BACKENDS)('two orgs on %s', (backend) => {
  let h: Harness;
  let orgB: string;
  let adminA: string;
  let adminB: string;
  let adminBUser: { id: string; username: string };
  let opB: { id: string; username: string };
  const ids: Record<string, string> = {};

  const detailOf = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d) as Record<string, any>;
  const entriesSince = async (seq: number, action: string) =>
    (await h.db.selectFrom('audit_log').selectAll().where('action', '=', action).where('seq', '>', seq).orderBy('seq').execute()).map((r) => ({
      ...r, detail: detailOf(r.detail),
    }));
  const headSeq = async () => Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
  const ok = (method: string, url: string, token: string, body?: unknown) => h.ok(method, url, token, body);

  beforeAll(async () => {
    h = await setup(backend);
    adminA = await h.token(h.users.admin);
    orgB = await createOrg(h.gw.ctx, 'B株式会社', { deviceBindingRoles: [], totpRequiredRoles: [] });
    const mk = async (role: string, prefix: string) => {
      const username = `${prefix}-${backend}-${randomUUID().slice(0, 6)}`;
      const id = await createUser(h.gw.ctx, { orgId: orgB, username, displayName: `B ${prefix}`, role, password: PASSWORD });
      return { id, username };
    };
    adminBUser = await mk('admin', 'b-admin');
    opB = await mk('operator', 'b-op');
    const signed = await h.signIn({ username: adminBUser.username, device: null });
    expect(signed.status, show(signed)).toBe(200);
    adminB = signed.body.tokens.accessToken;

    // things of org A to probe for: users, a device and its alert, a role, a team, CRM rows
    await h.token(h.users.operator); // enrols the operator's device (and raises an alert)
    ids.userA = h.users.operator.id;
    ids.deviceA = (await h.db.selectFrom('devices').select('id').where('user_id', '=', h.users.operator.id).executeTakeFirstOrThrow()).id;
    ids.alertA = (await h.db.selectFrom('device_alerts').select('id').where('org_id', '=', h.orgId).executeTakeFirstOrThrow()).id;
    ids.roleA = (await ok('POST', '/admin/roles', adminA, { key: 'a_viewer', name: '閲覧', permissions: ['users:read'] })).id;
    ids.teamA = (await ok('POST', '/admin/teams', adminA, { name: 'A班' })).id;
    ids.campaignA = (await ok('POST', '/campaigns', adminA, { name: 'A窓口', dids: ['03-5555-0001'], hours: HOURS, dispositions: ['解決'] })).id;
    ids.customerA = (await ok('POST', '/customers', adminA, { campaignId: ids.campaignA, nameKanji: '田中 一郎', nameKana: 'タナカ イチロウ', phones: ['090-1234-0001'] })).id;
    ids.noteA = (await ok('POST', '/notes', adminA, { clientNoteId: randomUUID(), customerId: ids.customerA, body: '折り返し希望' })).id;
    // and of org B, to use with A's ids in bodies
    ids.teamB = (await ok('POST', '/admin/teams', adminB, { name: 'B班' })).id;
    ids.campaignB = (await ok('POST', '/campaigns', adminB, { name: 'B窓口', dids: ['03-5555-0002'], hours: HOURS, dispositions: ['解決'] })).id;
  });
  afterAll(async () => h?.close());

  it('each org reads its own audit entries only; failed sign-ins of a known user carry its org, unknown names none', async () => {
    await h.signIn({ username: 'no-such-user-anywhere', device: null }, { ip: '198.51.100.7', password: 'Wrong-Pass-1!' });
    await h.signIn({ username: opB.username, device: null }, { ip: '198.51.100.8', password: 'Wrong-Pass-1!' });
    await h.signIn({ username: h.users.lead.username, device: null }, { ip: '198.51.100.9', password: 'Wrong-Pass-1!' });
    const failures = await h.db.selectFrom('audit_log').select(['org_id', 'target_id', 'target_type', 'source_ip']).where('action', '=', 'auth.sign_in.failure').execute();
    expect(failures).toEqual(expect.arrayContaining([
      { org_id: null, target_type: 'username', target_id: 'no-such-user-anywhere', source_ip: '198.51.100.7' },
      { org_id: orgB, target_type: 'user', target_id: opB.id, source_ip: '198.51.100.8' },
      { org_id: h.orgId, target_type: 'user', target_id: h.users.lead.id, source_ip: '198.51.100.9' },
    ]));

    for (const [token, org, own, foreign] of [
      [adminA, h.orgId, h.users.lead.id, opB.id],
      [adminB, orgB, opB.id, h.users.lead.id],
    ] as const) {
      const listed = await ok('GET', '/admin/audit?limit=500', token);
      expect(listed.entries.length).toBeGreaterThan(0);
      expect(listed.entries.filter((e: { orgId: string | null }) => e.orgId !== org)).toEqual([]);
      const targets = listed.entries.map((e: { targetId: string }) => e.targetId);
      expect(targets).toContain(own);
      expect(targets).not.toContain(foreign);
      expect(targets).not.toContain('no-such-user-anywhere');
      expect(JSON.stringify(listed)).not.toContain('198.51.100.7');
      const exported: { orgId: string | null; seq: number }[] = [];
      let cursor = 0;
      for (;;) {
        const page = await ok('GET', `/admin/audit/export?cursor=${cursor}&limit=50`, token);
        exported.push(...page.entries);
        if (page.nextCursor === cursor) break;
        cursor = page.nextCursor;
      }
      const mine = await h.db.selectFrom('audit_log').select('seq').where('org_id', '=', org).orderBy('seq').execute();
      expect(exported.map((e) => e.seq)).toEqual(mine.map((r) => Number(r.seq)));
    }
  });

  it('a DID belongs to one org: claiming one another org holds answers like any unavailable number, and is audited', async () => {
    const seq = await headSeq();
    const norm = (r: Res) => show(r).replace(/\+81\d+/g, 'N');
    // another org's number, on create and on patch
    const crossCreate = await h.req('POST', '/campaigns', { token: adminB, body: { name: 'B横取り', dids: ['03-5555-0001'], hours: HOURS, dispositions: ['x'] } });
    const crossPatch = await h.req('PATCH', `/campaigns/${ids.campaignB}`, { token: adminB, body: { dids: ['03-5555-0002', '03-5555-0001'] } });
    // our own number held by another of our campaigns
    const second = await ok('POST', '/campaigns', adminB, { name: 'B第二', dids: [], hours: HOURS, dispositions: ['x'] });
    const ownCreate = await h.req('POST', '/campaigns', { token: adminB, body: { name: 'B第三', dids: ['03-5555-0002'], hours: HOURS, dispositions: ['x'] } });
    const ownPatch = await h.req('PATCH', `/campaigns/${second.id}`, { token: adminB, body: { dids: ['03-5555-0002'] } });
    expect(crossCreate.status).toBe(409);
    expect(crossCreate.body.error).toEqual({ code: 'conflict', message: 'this number is not available: +81355550001' });
    expect(norm(crossCreate)).toBe(norm(ownCreate));
    expect(norm(crossPatch)).toBe(norm(ownPatch));
    // nothing moved: A keeps its number, inbound calls to it still reach A's campaign
    const held = await h.db.selectFrom('campaign_dids').select(['org_id', 'campaign_id']).where('e164', '=', '+81355550001').execute();
    expect(held).toEqual([{ org_id: h.orgId, campaign_id: ids.campaignA }]);
    expect((await routeInbound(h.gw.ctx, { did: '+81355550001', from: '09011112222', callId: `did-${randomUUID()}` })).campaignId).toBe(ids.campaignA);
    // audited in B without naming the holder; at platform level with both orgs
    const refused = await entriesSince(seq, 'campaign.did_refused');
    expect(refused.map((r) => [r.org_id, r.actor_user_id, r.detail.dids])).toEqual([
      [orgB, adminBUser.id, ['+81355550001']], [orgB, adminBUser.id, ['+81355550001']],
      [orgB, adminBUser.id, ['+81355550002']], [orgB, adminBUser.id, ['+81355550002']],
    ]);
    expect(JSON.stringify(refused)).not.toContain(h.orgId);
    const platform = await entriesSince(seq, 'access.cross_org_conflict');
    expect(platform.map((r) => [r.org_id, r.detail.kind, r.detail.orgId, r.detail.holderOrgIds])).toEqual([
      [null, 'did', orgB, [h.orgId]], [null, 'did', orgB, [h.orgId]],
    ]);
    // and the database itself refuses a second org on one number
    await expect(h.db.insertInto('campaign_dids').values({ org_id: orgB, e164: '+81355550001', campaign_id: ids.campaignB! }).execute()).rejects.toThrow();
  });

  it('a taken username answers the same whether this org or another holds it, and is audited', async () => {
    const seq = await headSeq();
    const create = (username: string) => h.req('POST', '/admin/users', { token: adminB, body: { username, displayName: 'x', role: 'operator', password: NEW_PASSWORD } });
    const inA = await create(h.users.operator.username);
    const inB = await create(opB.username);
    expect(inA.status).toBe(409);
    expect(inA.body).toEqual({ error: { code: 'conflict', message: 'this username is not available' } });
    expect(show(inA)).toBe(show(inB));
    const refused = await entriesSince(seq, 'user.create_refused');
    expect(refused.map((r) => [r.org_id, r.target_id])).toEqual([[orgB, h.users.operator.username], [orgB, opB.username]]);
    expect(JSON.stringify(refused)).not.toContain(h.orgId);
    const platform = await entriesSince(seq, 'access.cross_org_conflict');
    expect(platform.map((r) => [r.org_id, r.detail.username, r.detail.orgId, r.detail.holderOrgId])).toEqual([[null, h.users.operator.username, orgB, h.orgId]]);
  });

  it("another org's id answers byte for byte like a nonexistent one on every route with an id, and the probe is recorded", async () => {
    const missing = randomUUID();
    const probes: [string, string, string, unknown?][] = [
      ['users', 'PATCH', '/admin/users/:id', { displayName: 'x' }],
      ['users', 'POST', '/admin/users/:id/password', { password: NEW_PASSWORD }],
      ['users', 'POST', '/admin/users/:id/unlock'],
      ['users', 'POST', '/admin/users/:id/totp/reset'],
      ['users', 'GET', '/admin/users/:id/sessions'],
      ['users', 'POST', '/admin/users/:id/sessions/revoke'],
      ['users', 'POST', '/admin/users/:id/devices/reset'],
      ['users', 'PUT', '/admin/users/:id/teams', { teams: [] }],
      ['users', 'DELETE', '/admin/users/:id'],
      ['sessions', 'POST', '/admin/sessions/:id/revoke'],
      ['devices', 'PATCH', '/admin/devices/:id', { name: 'x' }],
      ['devices', 'POST', '/admin/devices/:id/revoke'],
      ['device_alerts', 'POST', '/admin/alerts/:id/ack'],
      ['roles', 'PATCH', '/admin/roles/:id', { name: 'x' }],
      ['teams', 'PUT', '/admin/teams/:id/members', { leadIds: [], operatorIds: [] }],
      ['campaigns', 'GET', '/campaigns/:id'],
      ['campaigns', 'GET', '/campaigns/:id/hours'],
      ['campaigns', 'PATCH', '/campaigns/:id', { name: 'x' }],
      ['campaigns', 'PUT', '/campaigns/:id/assignments', { userIds: [] }],
      ['customers', 'GET', '/customers/:id'],
      ['customers', 'PATCH', '/customers/:id', { email: null }],
      ['customers', 'GET', '/customers/:id/calls'],
      ['customers', 'GET', '/customers/:id/notes'],
      ['notes', 'PATCH', '/notes/:id', { open: false }],
      ['notes', 'PUT', '/notes/:id/body', { body: 'x', version: 1 }],
      ['notes', 'GET', '/notes/:id/edits'],
    ];
    const idOf: Record<string, string> = {
      users: ids.userA!, devices: ids.deviceA!, device_alerts: ids.alertA!, roles: ids.roleA!, teams: ids.teamA!,
      campaigns: ids.campaignA!, customers: ids.customerA!, notes: ids.noteA!,
      sessions: (await h.db.selectFrom('sessions').select('id').where('org_id', '=', h.orgId).where('revoked_at', 'is', null).executeTakeFirstOrThrow()).id,
    };
    for (const [table, method, path, body] of probes) {
      const send = (id: string) => h.req(method, path.replace(':id', id), { token: adminB, ...(body !== undefined ? { body } : {}) });
      const seq = await headSeq();
      const none = await send(missing);
      expect(await entriesSince(seq, 'access.cross_org_probe'), `${method} ${path} nonexistent`).toEqual([]);
      const foreign = await send(idOf[table]!);
      expect(foreign.status, `${method} ${path}`).toBe(404);
      expect(show(foreign), `${method} ${path}`).toBe(show(none));
      const probe = await entriesSince(seq, 'access.cross_org_probe');
      expect(probe.map((r) => [r.org_id, r.actor_user_id, r.target_type, r.target_id, r.detail.proberOrgId, r.detail.ownerOrgId]), `${method} ${path}`).toEqual([
        [null, adminBUser.id, table, idOf[table], orgB, h.orgId],
      ]);
    }
    // ids inside a body: another org's user as a team member or campaign assignee
    for (const [method, url, body] of [
      ['PUT', `/admin/teams/${ids.teamB}/members`, (id: string) => ({ leadIds: [], operatorIds: [id] })],
      ['PUT', `/campaigns/${ids.campaignB}/assignments`, (id: string) => ({ userIds: [id] })],
    ] as const) {
      const seq = await headSeq();
      const none = await h.req(method, url, { token: adminB, body: body(missing) });
      const foreign = await h.req(method, url, { token: adminB, body: body(ids.userA!) });
      expect(foreign.status, url).toBe(400);
      expect(show(foreign), url).toBe(show(none));
      expect((await entriesSince(seq, 'access.cross_org_probe')).map((r) => [r.org_id, r.detail.ids])).toEqual([[null, [ids.userA]]]);
    }
    // nothing of A changed, and neither org reads the probe entries
    expect((await h.db.selectFrom('devices').select('name').where('id', '=', ids.deviceA!).executeTakeFirstOrThrow()).name).not.toBe('x');
    for (const token of [adminA, adminB]) {
      expect((await ok('GET', '/admin/audit?action=access.*&limit=500', token)).entries).toEqual([]);
    }
  });

  it('allowlist: an address only org B allows answers the same for org A names as for unknown names, and cannot lock A users out', async () => {
    await h.patchPolicy({ ipAllowlist: { org: ['10.0.0.0/8'] } });
    const policyB = JSON.parse(JSON.stringify((await h.db.selectFrom('orgs').select('policy').where('id', '=', orgB).executeTakeFirstOrThrow()).policy));
    const policyObj = typeof policyB === 'string' ? JSON.parse(policyB) : policyB;
    await h.db.updateTable('orgs').set({ policy: JSON.stringify({ ...policyObj, ipAllowlist: { ...policyObj.ipAllowlist, org: ['192.168.0.0/16'] } }) }).where('id', '=', orgB).execute();
    const a = await h.newUser('operator');
    const attempt = (username: string, password: string, ip: string) => h.signIn({ username, device: null }, { password, ip });

    // allowed by no org: the same answer for every name, before any password
    const nowhere = '203.0.113.9';
    const refusedAll = [await attempt('nobody-here', 'Wrong-Pass-1!', nowhere), await attempt(a.username, PASSWORD, nowhere), await attempt(opB.username, PASSWORD, nowhere)];
    expect(refusedAll.map((r) => r.body.error.code)).toEqual(['ip_not_allowed', 'ip_not_allowed', 'ip_not_allowed']);
    expect(new Set(refusedAll.map(show)).size).toBe(1);

    // allowed by B only: a wrong password answers the same for A's name and an unknown one,
    // through to the lock (both lock after the same number of failures, with the same answer)
    const unknownAnswers: string[] = [];
    const aAnswers: string[] = [];
    for (let i = 0; i < 7; i++) {
      unknownAnswers.push(show(await attempt('nobody-there', 'Wrong-Pass-1!', '192.168.1.1')));
      aAnswers.push(show(await attempt(a.username, 'Wrong-Pass-1!', '192.168.1.2')));
    }
    expect(aAnswers).toEqual(unknownAnswers);
    expect(unknownAnswers[0]).toContain('invalid_credentials');
    expect(unknownAnswers[6]).toContain('account_locked');
    // ... A's user is not locked where it matters: from A's own network it signs in
    expect((await h.signIn(a, { ip: '10.1.2.3' })).status).toBe(200);
    // only the right password learns that the address is refused
    const other = await h.newUser('operator');
    expect((await attempt(other.username, PASSWORD, '192.168.1.3')).body.error.code).toBe('ip_not_allowed');
    expect((await attempt(opB.username, PASSWORD, '192.168.1.4')).status).toBe(200);
    // the refusals are on record in A's log (with A's org), never in B's
    const refused = await h.db.selectFrom('audit_log').select(['org_id', 'action', 'detail']).where('target_id', '=', a.id).where('source_ip', '=', '192.168.1.2').execute();
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.org_id === h.orgId)).toBe(true);
    // an admin unlock clears the lock held for refused addresses as well
    expect((await h.req('POST', `/admin/users/${a.id}/unlock`, { token: adminA })).status).toBe(200);
    expect(show(await attempt(a.username, 'Wrong-Pass-1!', '192.168.1.2'))).toContain('invalid_credentials');
  });
});

describe.each(BACKENDS)('migration 0004 on %s', (backend) => {
  it('stops on a DID two orgs hold, naming it, and deletes nothing; then makes the number unique', async () => {
    const { db, drop } = await openBackend(backend);
    try {
      for (const name of ['0001_identity_sessions_audit', '0002_crm_campaigns_customers_calls_notes', '0003_customer_name_search_org']) await MIGRATIONS[name]!.up(db);
      const now = new Date();
      const orgs = [randomUUID(), randomUUID()];
      const campaigns: string[] = [];
      for (const org of orgs) {
        await db.insertInto('orgs').values({ id: org, name: org, policy: '{}', created_at: now }).execute();
        const id = randomUUID();
        campaigns.push(id);
        await db.insertInto('campaigns').values({
          id, org_id: org, name: 'c', time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: '["x"]', blocked_numbers: '[]', created_at: now, updated_at: now,
        }).execute();
        await db.insertInto('campaign_dids').values({ org_id: org, e164: '+81355559999', campaign_id: id }).execute();
      }
      await expect(MIGRATIONS['0004_did_unique_audit_org_seq']!.up(db)).rejects.toThrow(/mapped by more than one org: \+81355559999/);
      expect(await db.selectFrom('campaign_dids').select('org_id').execute()).toHaveLength(2);
      await db.deleteFrom('campaign_dids').where('org_id', '=', orgs[1]!).execute();
      await MIGRATIONS['0004_did_unique_audit_org_seq']!.up(db);
      await expect(db.insertInto('campaign_dids').values({ org_id: orgs[1]!, e164: '+81355559999', campaign_id: campaigns[1]! }).execute()).rejects.toThrow();
    } finally {
      await drop();
    }
  });
});
