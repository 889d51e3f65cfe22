// Campaign scope on every CRM path, on PGlite and PostgreSQL. Operator A is assigned to
// campaign A, operator B to campaign B, the team lead leads operator A, the admin sees the
// org, another org's admin sees nothing of ours. Each path is attacked from outside the
// scope, and the answer is compared byte for byte (status + body) with the answer for
// something that does not exist.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createUser } from '../../../server/orgs';
import { BACKENDS, PASSWORD, setup, type Harness, type TestUser } from './harness';

const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] }, closedDates: [] };

describe.each(BACKENDS)('CRM campaign scope on %s', (backend) => {
  let h: Harness;
  let admin: string;
  let opA: string;
  let opB: string;
  let lead: string;
  let other: string; // admin of another org
  let opBUser: TestUser;
  const ids = {} as Record<'A' | 'B' | 'C' | 'a1' | 'b1' | 'c1' | 'aShared' | 'bShared' | 'noteB', string>;

  /** Status and raw body, for byte-for-byte comparison. */
  const raw = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await h.req(method, url, { token, ...(body !== undefined ? { body } : {}) });
    return `${res.status} ${res.text}`;
  };
  const ok = (method: string, url: string, token: string, body?: unknown) => h.ok(method, url, token, body);

  beforeAll(async () => {
    h = await setup(backend);
    admin = await h.token(h.users.admin);
    opA = await h.token(h.users.operator);
    opBUser = await h.newUser('operator', 'opb');
    opB = await h.token(opBUser);
    lead = await h.token(h.users.lead);
    const team = await ok('POST', '/admin/teams', admin, { name: 'チームA' });
    await ok('PUT', `/admin/teams/${team.id}/members`, admin, { leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });

    const campA = await ok('POST', '/campaigns', admin, {
      name: 'さくら銀行 カード窓口', dids: ['03-1111-0001'], hours: HOURS, dispositions: ['解決', '折り返し'], blockedNumbers: ['090-9999-0000'],
    });
    const campB = await ok('POST', '/campaigns', admin, { name: 'ひかり通販 注文受付', dids: ['0120-222-333'], hours: HOURS, dispositions: ['注文', '解決'] });
    ids.A = campA.id;
    ids.B = campB.id;
    await ok('PUT', `/campaigns/${ids.A}/assignments`, admin, { userIds: [h.users.operator.id] });
    await ok('PUT', `/campaigns/${ids.B}/assignments`, admin, { userIds: [opBUser.id] });

    ids.a1 = (await ok('POST', '/customers', admin, { campaignId: ids.A, nameKanji: '鈴木 一郎', nameKana: 'スズキ イチロウ', phones: ['090-1111-2222'] })).id;
    ids.b1 = (await ok('POST', '/customers', admin, { campaignId: ids.B, nameKanji: '佐藤 次郎', nameKana: 'サトウ ジロウ', phones: ['090-3333-4444'], email: 'jiro@example.jp' })).id;
    // the same phone number in both campaigns
    ids.aShared = (await ok('POST', '/customers', admin, { campaignId: ids.A, nameKanji: '山田 花子', nameKana: 'ヤマダ ハナコ', phones: ['090-5555-6666'] })).id;
    ids.bShared = (await ok('POST', '/customers', admin, { campaignId: ids.B, nameKanji: '山田 太郎', nameKana: 'ヤマダ タロウ', phones: ['090-5555-6666'] })).id;

    // history and notes in campaign B (operator B's call)
    await ok('POST', '/screen-pop', opB, { callId: 'b-call-1@pbx', dialledNumber: '0120-222-333', callerNumber: '090-3333-4444' });
    ids.noteB = (await ok('POST', '/notes', opB, { clientNoteId: randomUUID(), callId: 'b-call-1@pbx', body: '配送先の変更' })).id;

    // another org with its own admin, campaign and customer
    const org2 = await createOrg(h.gw.ctx, '別会社');
    await h.db.updateTable('orgs').set({ policy: JSON.stringify({ deviceBindingRoles: [], totpRequiredRoles: [] }) }).where('id', '=', org2).execute();
    await createUser(h.gw.ctx, { orgId: org2, username: `other-admin-${backend}`, displayName: '別 管理者', role: 'admin', password: PASSWORD });
    other = (await h.signIn({ username: `other-admin-${backend}`, device: null })).body.tokens.accessToken;
    // a DID belongs to one org only (tenants.test.ts): the other org has a number of its own
    ids.C = (await ok('POST', '/campaigns', other, { name: 'Other', dids: ['03-2222-0002'], hours: HOURS, dispositions: ['x'] })).id;
    ids.c1 = (await ok('POST', '/customers', other, { campaignId: ids.C, nameKanji: '鈴木 三郎', nameKana: 'スズキ サブロウ', phones: ['090-1111-2222'] })).id;
  });
  afterAll(async () => h?.close());

  it('in scope: an operator reads their customers by id, phone, kana/kanji prefix, and their campaigns', async () => {
    const one = await ok('GET', `/customers/${ids.a1}`, opA);
    expect(one).toMatchObject({ id: ids.a1, campaignId: ids.A, nameKanji: '鈴木 一郎', phones: ['+819011112222'] });
    expect((await ok('GET', '/customers/lookup?phone=%EF%BC%90%EF%BC%99%EF%BC%90-1111-2222', opA)).customers.map((c: any) => c.id)).toEqual([ids.a1]);
    for (const q of ['すずき', 'スズキ', 'ｽｽﾞｷ', '鈴木', '鈴木　一', '090-1111-2222']) {
      const found = await ok('GET', `/customers/search?q=${encodeURIComponent(q)}`, opA);
      expect(found.customers.map((c: any) => c.id), q).toEqual([ids.a1]);
    }
    expect((await ok('GET', '/campaigns', opA)).campaigns.map((c: any) => c.id)).toEqual([ids.A]);
    const camp = await ok('GET', `/campaigns/${ids.A}`, opA);
    expect(camp.blockedNumbers).toBeUndefined(); // only for campaigns:manage
    expect(camp.dids).toEqual(['+81311110001']);
  });

  it('by id: a customer, campaign, hours, history and notes of another campaign answer exactly like a missing id', async () => {
    const missing = randomUUID();
    for (const path of ['/customers/:id', '/customers/:id/calls', '/customers/:id/notes']) {
      const out = await raw('GET', path.replace(':id', ids.b1), opA);
      expect(out, path).toBe(await raw('GET', path.replace(':id', missing), opA));
      expect(out).toMatch(/^404 /);
    }
    for (const path of ['/campaigns/:id', '/campaigns/:id/hours']) {
      expect(await raw('GET', path.replace(':id', ids.B), opA), path).toBe(await raw('GET', path.replace(':id', missing), opA));
    }
    expect(await raw('PATCH', `/customers/${ids.b1}`, opA, { nameKanji: '乗っ取り' })).toBe(await raw('PATCH', `/customers/${missing}`, opA, { nameKanji: '乗っ取り' }));
    expect(await raw('POST', '/customers', opA, { campaignId: ids.B, nameKanji: '侵入', nameKana: 'シンニュウ' }))
      .toBe(await raw('POST', '/customers', opA, { campaignId: missing, nameKanji: '侵入', nameKana: 'シンニュウ' }));
    // nothing changed
    expect((await ok('GET', `/customers/${ids.b1}`, opB)).nameKanji).toBe('佐藤 次郎');
  });

  it('by phone and by search: out-of-scope customers are simply not there', async () => {
    const none = await raw('GET', '/customers/lookup?phone=090-0000-0000', opA);
    expect(none).toBe('200 {"customers":[]}');
    expect(await raw('GET', '/customers/lookup?phone=090-3333-4444', opA)).toBe(none);
    expect(await raw('GET', `/customers/lookup?phone=090-3333-4444&campaignId=${ids.B}`, opA)).toBe(none);
    for (const q of ['サトウ', 'さとう', '佐藤', '090-3333-4444', '+81 90 3333 4444']) {
      expect(await raw('GET', `/customers/search?q=${encodeURIComponent(q)}`, opA), q).toBe(await raw('GET', '/customers/search?q=%E5%AD%98%E5%9C%A8%E3%81%97%E3%81%AA%E3%81%84', opA));
    }
    expect(await raw('GET', `/customers/search?q=${encodeURIComponent('ヤマダ')}&campaignId=${ids.B}`, opA)).toBe(none);
    // the shared number finds only the customer of the caller's own campaign
    const shared = await ok('GET', '/customers/lookup?phone=09055556666', opA);
    expect(shared.customers.map((c: any) => c.id)).toEqual([ids.aShared]);
    const yamada = await ok('GET', `/customers/search?q=${encodeURIComponent('やまだ')}`, opA);
    expect(yamada.customers.map((c: any) => c.id)).toEqual([ids.aShared]);
  });

  it('by notes and calls: writing to another campaign answers like a missing target', async () => {
    const missing = randomUUID();
    const note = (target: Record<string, string>) => ({ clientNoteId: '6f1c3a52-0d5e-4c55-9a57-3b1f3c0e9a11', body: 'x', ...target });
    expect(await raw('POST', '/notes', opA, note({ customerId: ids.b1 }))).toBe(await raw('POST', '/notes', opA, note({ customerId: missing })));
    expect(await raw('POST', '/notes', opA, note({ callId: 'b-call-1@pbx' }))).toBe(await raw('POST', '/notes', opA, note({ callId: 'nope@pbx' })));
    expect(await raw('PATCH', `/notes/${ids.noteB}`, opA, { open: false })).toBe(await raw('PATCH', `/notes/${missing}`, opA, { open: false }));
    // another operator's call record is not mine, in or out of scope
    expect(await raw('PATCH', `/calls/${encodeURIComponent('b-call-1@pbx')}`, opA, { disposition: '解決' }))
      .toBe(await raw('PATCH', `/calls/${encodeURIComponent('never@pbx')}`, opA, { disposition: '解決' }));
    // linking my own call to a customer of another campaign
    await ok('POST', '/screen-pop', opA, { callId: 'a-call-link@pbx', dialledNumber: '03-1111-0001', callerNumber: '090-0000-1111' });
    expect(await raw('PATCH', `/calls/${encodeURIComponent('a-call-link@pbx')}`, opA, { customerId: ids.b1 }))
      .toBe(await raw('PATCH', `/calls/${encodeURIComponent('a-call-link@pbx')}`, opA, { customerId: missing }));
  });

  it('screen pop: a campaign or caller outside the scope is "unknown caller", identical to a number nobody has', async () => {
    const pop = (callId: string, extra: Record<string, string>) => raw('POST', '/screen-pop', opA, { callId, ...extra });
    const nobody = await pop('x-1@pbx', { dialledNumber: '03-9999-9999', callerNumber: '090-0000-0000' });
    expect(JSON.parse(nobody.slice(4))).toEqual({ status: 'unknown', blocked: false, campaign: null, customers: [], recentCalls: [], openNotes: [] });
    expect(await pop('x-2@pbx', { dialledNumber: '0120-222-333', callerNumber: '090-3333-4444' })).toBe(nobody);
    expect(await pop('x-3@pbx', { campaignId: ids.B, callerNumber: '090-3333-4444' })).toBe(nobody);
    expect(await pop('x-4@pbx', { campaignId: randomUUID(), callerNumber: '090-3333-4444' })).toBe(nobody);
    expect(await pop('x-5@pbx', { dialledNumber: '0120-222-333', callerNumber: '090-5555-6666' })).toBe(nobody);
    expect(await pop('x-6@pbx', { callerNumber: 'anonymous' })).toBe(nobody);
    // operator B on the same call finds customer b1 with the history and the open note
    const b = await ok('POST', '/screen-pop', opB, { callId: 'b-call-2@pbx', dialledNumber: '0120-222-333', callerNumber: '+81 90-3333-4444' });
    expect(b).toMatchObject({ status: 'known', blocked: false, campaign: { id: ids.B, name: 'ひかり通販 注文受付', dispositions: ['注文', '解決'] } });
    expect(b.customers.map((c: any) => c.id)).toEqual([ids.b1]);
    expect(b.recentCalls.map((c: any) => c.callId)).toEqual(['b-call-1@pbx']);
    expect(b.openNotes.map((n: any) => n.id)).toEqual([ids.noteB]);
    // the shared number through campaign A's DID pops only A's customer
    const a = await ok('POST', '/screen-pop', opA, { callId: 'a-call-2@pbx', dialledNumber: '+81311110001', callerNumber: '090-5555-6666' });
    expect(a.customers.map((c: any) => c.id)).toEqual([ids.aShared]);
  });

  it('screen pop: a blocked caller gets the campaign and the flag, no customer data', async () => {
    await ok('POST', '/customers', admin, { campaignId: ids.A, nameKanji: '迷惑 電話', nameKana: 'メイワク デンワ', phones: ['090-9999-0000'] });
    const res = await ok('POST', '/screen-pop', opA, { callId: 'blocked-1@pbx', dialledNumber: '03-1111-0001', callerNumber: '090-9999-0000' });
    expect(res).toMatchObject({ status: 'unknown', blocked: true, campaign: { id: ids.A }, customers: [], recentCalls: [], openNotes: [] });
  });

  it('team lead: sees the campaigns of the operators they lead, not the others', async () => {
    expect((await ok('GET', '/campaigns', lead)).campaigns.map((c: any) => c.id)).toEqual([ids.A]);
    expect((await ok('GET', `/customers/${ids.a1}`, lead)).id).toBe(ids.a1);
    expect(await raw('GET', `/customers/${ids.b1}`, lead)).toBe(await raw('GET', `/customers/${randomUUID()}`, lead));
    expect(await raw('GET', '/customers/lookup?phone=090-3333-4444', lead)).toBe('200 {"customers":[]}');
  });

  it('admin: the whole org; another org: nothing of ours, by any path', async () => {
    expect((await ok('GET', '/campaigns', admin)).campaigns.map((c: any) => c.id).sort()).toEqual([ids.A, ids.B].sort());
    expect((await ok('GET', '/customers/lookup?phone=090-5555-6666', admin)).customers).toHaveLength(2);
    const missing = randomUUID();
    expect(await raw('GET', `/customers/${ids.a1}`, other)).toBe(await raw('GET', `/customers/${missing}`, other));
    expect(await raw('GET', `/campaigns/${ids.A}`, other)).toBe(await raw('GET', `/campaigns/${missing}`, other));
    expect(await raw('PATCH', `/campaigns/${ids.A}`, other, { name: 'x' })).toBe(await raw('PATCH', `/campaigns/${missing}`, other, { name: 'x' }));
    expect(await raw('PUT', `/campaigns/${ids.A}/assignments`, other, { userIds: [] })).toBe(await raw('PUT', `/campaigns/${missing}/assignments`, other, { userIds: [] }));
    // the same phone number exists in both orgs: each org sees its own only
    expect((await ok('GET', '/customers/lookup?phone=090-1111-2222', other)).customers.map((c: any) => c.id)).toEqual([ids.c1]);
    expect((await ok('GET', '/customers/lookup?phone=090-1111-2222', admin)).customers.map((c: any) => c.id)).toEqual([ids.a1]);
    const pop = await ok('POST', '/screen-pop', other, { callId: 'org2@pbx', dialledNumber: '03-2222-0002', callerNumber: '090-1111-2222' });
    expect(pop.campaign.id).toBe(ids.C);
    expect(pop.customers.map((c: any) => c.id)).toEqual([ids.c1]);
    // assigning another org's user is refused
    expect((await h.req('PUT', `/campaigns/${ids.C}/assignments`, { token: other, body: { userIds: [h.users.operator.id] } })).status).toBe(400);
    for (const kind of ['customers', 'calls', 'notes']) {
      const page = await ok('GET', `/export/${kind}`, other);
      for (const item of page.items) expect([ids.C]).toContain(item.campaignId);
    }
    // our DID dialled in the other org's screen pop names no campaign (and none of ours)
    const ours = await ok('POST', '/screen-pop', other, { callId: 'org2-b@pbx', dialledNumber: '03-1111-0001', callerNumber: '090-1111-2222' });
    expect(ours.campaign).toBeNull();
  });

  it('by export: operators have no export permission; an exporter role sees only its campaigns; pages are stable', async () => {
    for (const kind of ['customers', 'calls', 'notes']) {
      const res = await h.req('GET', `/export/${kind}`, { token: opA });
      expect(res.status).toBe(403);
    }
    const role = await ok('POST', '/admin/roles', admin, { key: 'exporter_a', name: '連携 (A)', permissions: ['export:read', 'customers:read'] });
    expect(role.key).toBe('exporter_a');
    const exporter = await h.newUser('exporter_a', 'exporter');
    const token = await h.token(exporter);
    await ok('PUT', `/campaigns/${ids.A}/assignments`, admin, { userIds: [h.users.operator.id, exporter.id] });
    const customers = await ok('GET', '/export/customers?limit=1', token);
    const seen: string[] = [];
    let page = customers;
    for (;;) {
      seen.push(...page.items.map((c: any) => c.campaignId));
      if (!page.hasMore) break;
      page = await ok('GET', `/export/customers?limit=1&cursor=${page.nextCursor}`, token);
    }
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set([ids.A]));
    for (const kind of ['calls', 'notes']) {
      const all = await ok('GET', `/export/${kind}?limit=5000`, token);
      for (const item of all.items) expect(item.campaignId).toBe(ids.A);
    }
    // the admin export holds B's rows; the exporter's never did
    const adminNotes = await ok('GET', '/export/notes', admin);
    expect(adminNotes.items.map((n: any) => n.id)).toContain(ids.noteB);
    // nothing new after the last cursor; the cursor stays put
    const end = await ok('GET', `/export/customers?cursor=${page.nextCursor}`, token);
    expect(end).toEqual({ items: [], nextCursor: page.nextCursor, hasMore: false });
    // a forged cursor is a validation error, not a way around the scope
    expect((await h.req('GET', '/export/customers?cursor=Zm9v', { token })).body.error.code).toBe('validation_failed');
    expect(await h.auditActions({ action: 'export.read' })).not.toHaveLength(0);
  });
});
