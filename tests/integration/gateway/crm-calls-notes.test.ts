// Calls, notes, campaigns and CORS on PGlite and PostgreSQL: the call record the screen pop
// creates, disposition rules, idempotent notes with server-side card redaction (and an audit
// trail without the body), campaign validation and hours, the CORS allowlist.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoCrm } from '../../../server/crm/seed';
import { DEMO_PASSWORD, seedDemo } from '../../../server/seed';
import { BACKENDS, newDeviceKey, setup, type Harness } from './harness';

const HOURS = {
  timeZone: 'Asia/Tokyo',
  weekly: { mon: [{ open: '09:00', close: '18:00' }], tue: [{ open: '09:00', close: '18:00' }], wed: [{ open: '09:00', close: '18:00' }] },
  closedDates: ['2026-04-29'],
};

describe.each(BACKENDS)('CRM calls, notes, campaigns and CORS on %s', (backend) => {
  let h: Harness;
  let admin: string;
  let op: string;
  let campaignId: string;
  let customerId: string;
  const ok = (method: string, url: string, token: string, body?: unknown) => h.ok(method, url, token, body);

  beforeAll(async () => {
    h = await setup(backend, { corsOrigins: ['koe://app', 'http://127.0.0.1:5199'] });
    admin = await h.token(h.users.admin);
    op = await h.token(h.users.operator);
    campaignId = (await ok('POST', '/campaigns', admin, {
      name: 'みどり電力 引越し受付', dids: ['0120-333-444', '+81 6-1234-0000'], hours: HOURS, dispositions: ['解決', '折り返し', 'エスカレーション'],
    })).id;
    await ok('PUT', `/campaigns/${campaignId}/assignments`, admin, { userIds: [h.users.operator.id] });
    customerId = (await ok('POST', '/customers', admin, {
      campaignId, nameKanji: '高橋 美咲', nameKana: 'タカハシ ミサキ', phones: ['080-1234-5678'], email: 'misaki@example.jp',
      fields: { 契約番号: 'C-2026-0042', メモ: 'カード 4111 1111 1111 1111 で支払い' },
    })).id;
  });
  afterAll(async () => h?.close());

  it('a customer is stored with E.164 phones and card numbers out of free fields', async () => {
    const c = await ok('GET', `/customers/${customerId}`, op);
    expect(c.phones).toEqual(['+818012345678']);
    expect(c.fields).toEqual({ 契約番号: 'C-2026-0042', メモ: 'カード **** **** **** 1111 で支払い' });
    const bad = await h.req('POST', '/customers', { token: admin, body: { campaignId, nameKanji: 'x', nameKana: 'x', phones: ['12345'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.phones.0');
    const patched = await ok('PATCH', `/customers/${customerId}`, op, { phones: ['080-1234-5678', '03-5555-0001'] });
    expect(patched.phones).toEqual(['+81355550001', '+818012345678']);
    expect(await h.auditActions({ targetId: customerId })).toEqual(['customer.created', 'customer.updated']);
  });

  it('screen pop records the call once per Call-ID; PATCH sets times, disposition and wrap-up; dispositions are the campaign\'s', async () => {
    const callId = `${randomUUID()}@10.0.0.5`;
    const pop = await ok('POST', '/screen-pop', op, { callId, dialledNumber: '0120-333-444', callerNumber: '08012345678' });
    expect(pop).toMatchObject({ status: 'known', campaign: { id: campaignId, dispositions: ['解決', '折り返し', 'エスカレーション'] } });
    expect(typeof pop.campaign.openNow).toBe('boolean');
    await ok('POST', '/screen-pop', op, { callId, dialledNumber: '0120-333-444', callerNumber: '08012345678' }); // retried pop
    const rows = await h.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ customer_id: customerId, campaign_id: campaignId, caller_e164: '+818012345678', dialled_e164: '+81120333444', status: 'ringing' });

    const url = `/calls/${encodeURIComponent(callId)}`;
    expect((await ok('PATCH', url, op, { answeredAt: '2026-04-01T09:00:05Z' })).status).toBe('answered');
    const bad = await h.req('PATCH', url, { token: op, body: { disposition: '注文' } });
    expect(bad.status).toBe(400);
    expect((await h.req('PATCH', url, { token: op, body: { endedAt: '2026-04-01T08:00:00Z' } })).status).toBe(400);
    const done = await ok('PATCH', url, op, { endedAt: '2026-04-01T09:04:00Z', disposition: '折り返し', wrapUpSeconds: 45 });
    expect(done).toMatchObject({ status: 'ended', disposition: '折り返し', wrapUpSeconds: 45, customerId, answeredAt: '2026-04-01T09:00:05.000Z' });
    const audit = await h.db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'call.dispositioned').execute();
    expect(audit).toHaveLength(1);
    const history = await ok('GET', `/customers/${customerId}/calls`, op);
    expect(history.calls.map((c: any) => c.callId)).toContain(callId);
  });

  it('notes: redacted on the server whatever the client sent, idempotent on clientNoteId, audited without the body', async () => {
    const callId = `${randomUUID()}@10.0.0.5`;
    await ok('POST', '/screen-pop', op, { callId, dialledNumber: '+81 6-1234-0000', callerNumber: '080-1234-5678' });
    const clientNoteId = randomUUID();
    const body = 'カード番号 ４１１１－１１１１－１１１１－１１１１ 有効期限 12/28。折り返し 090-1234-5678、注文 ORD-2026-000123、2026-11-21 配達';
    const first = await ok('POST', '/notes', op, { clientNoteId, callId, body });
    expect(first.body).toBe('カード番号 ****－****－****－１１１１ 有効期限 12/28。折り返し 090-1234-5678、注文 ORD-2026-000123、2026-11-21 配達');
    expect(first).toMatchObject({ customerId, campaignId, callId, open: true, authorId: h.users.operator.id });
    // retries (same id, same text) return the same note; nothing is duplicated
    const again = await ok('POST', '/notes', op, { clientNoteId, callId, body });
    expect(again).toEqual(first);
    const parallel = await Promise.all([0, 1, 2].map(() => h.req('POST', '/notes', { token: op, body: { clientNoteId, callId, body } })));
    expect(parallel.map((r) => r.body.id)).toEqual([first.id, first.id, first.id]);
    const count = await h.db.selectFrom('notes').select(h.db.fn.countAll().as('n')).where('client_note_id', '=', clientNoteId).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    // the same id for a different note is a conflict
    expect((await h.req('POST', '/notes', { token: op, body: { clientNoteId, callId, body: '別の内容' } })).status).toBe(409);
    // nothing with the card number reached the database or the audit log
    const stored = await h.db.selectFrom('notes').select('body').where('id', '=', first.id).executeTakeFirstOrThrow();
    expect(stored.body).not.toMatch(/[4４][1１]{3}/);
    const audit = await h.db.selectFrom('audit_log').select(['detail']).where('target_id', '=', first.id).execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.detail)).not.toContain('カード');
    expect(audit[0]!.detail).toMatchObject({ redacted: true, customerId, campaignId });

    const listed = await ok('GET', `/customers/${customerId}/notes?open=true`, op);
    expect(listed.notes.map((n: any) => n.id)).toContain(first.id);
    const pop = await ok('POST', '/screen-pop', op, { callId: `${randomUUID()}@x`, dialledNumber: '0120-333-444', callerNumber: '080-1234-5678' });
    expect(pop.openNotes.map((n: any) => n.id)).toContain(first.id);
    expect(pop.recentCalls.map((c: any) => c.callId)).toContain(callId);
    const closed = await ok('PATCH', `/notes/${first.id}`, op, { open: false });
    expect(closed.open).toBe(false);
    expect((await ok('GET', `/customers/${customerId}/notes?open=true`, op)).notes.map((n: any) => n.id)).not.toContain(first.id);
    expect(await h.auditActions({ targetId: first.id })).toEqual(['note.created', 'note.closed']);
    // a note needs a target
    expect((await h.req('POST', '/notes', { token: op, body: { clientNoteId: randomUUID(), body: 'x' } })).status).toBe(400);
  });

  it('search terms are redacted before use', async () => {
    const res = await ok('GET', `/customers/search?q=${encodeURIComponent('4111 1111 1111 1111')}`, op);
    expect(res.customers).toEqual([]);
  });

  it('campaigns: validation, DID conflicts, hours in the campaign\'s zone, permissions', async () => {
    const bad = async (body: Record<string, unknown>) => (await h.req('POST', '/campaigns', { token: admin, body: { name: `c-${randomUUID()}`, hours: HOURS, dispositions: ['a'], ...body } })).status;
    expect(await bad({ hours: { ...HOURS, timeZone: 'Mars/Olympus' } })).toBe(400);
    expect(await bad({ hours: { ...HOURS, weekly: { mon: [{ open: '18:00', close: '09:00' }] } } })).toBe(400);
    expect(await bad({ hours: { ...HOURS, weekly: { funday: [] } } })).toBe(400);
    expect(await bad({ dispositions: [] })).toBe(400);
    expect(await bad({ dispositions: ['a', 'a'] })).toBe(400);
    expect(await bad({ dids: ['not a number'] })).toBe(400);
    expect(await bad({ dids: ['0120333444'] })).toBe(409); // mapped to みどり電力 already
    expect((await h.req('POST', '/campaigns', { token: op, body: { name: 'x', hours: HOURS, dispositions: ['a'] } })).status).toBe(403);
    expect((await h.req('PUT', `/campaigns/${campaignId}/assignments`, { token: op, body: { userIds: [] } })).status).toBe(403);

    // 2026-04-01 09:00Z is Wednesday 18:00 JST: just closed; next opening Monday 2026-04-06 09:00 JST
    h.clock.advance(0);
    const closedNow = await ok('GET', `/campaigns/${campaignId}/hours`, op);
    expect(closedNow).toEqual({ campaignId, timeZone: 'Asia/Tokyo', openNow: false, nextOpening: '2026-04-06T00:00:00.000Z', closesAt: null });
    const ny = await ok('PATCH', `/campaigns/${campaignId}`, admin, { hours: { timeZone: 'America/New_York', weekly: { wed: [{ open: '04:00', close: '06:00' }] }, closedDates: [] } });
    expect(ny.hours.timeZone).toBe('America/New_York');
    // 09:00Z = 05:00 EDT on Wednesday: open until 06:00 EDT = 10:00Z
    expect(await ok('GET', `/campaigns/${campaignId}/hours`, op)).toMatchObject({ openNow: true, closesAt: '2026-04-01T10:00:00.000Z', nextOpening: '2026-04-08T08:00:00.000Z' });
    await ok('PATCH', `/campaigns/${campaignId}`, admin, { hours: HOURS });
    expect(await h.auditActions({ targetId: campaignId })).toEqual(['campaign.created', 'campaign.assignments_changed', 'campaign.updated', 'campaign.updated']);
  });

  it('CORS: the renderer origins are allowed without credentials; other origins are not', async () => {
    const pre = await h.req('OPTIONS', '/screen-pop', {
      headers: { origin: 'koe://app', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('koe://app');
    expect(pre.headers['access-control-allow-headers']).toContain('authorization');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const dev = await h.req('GET', '/campaigns', { token: op, headers: { origin: 'http://127.0.0.1:5199' } });
    expect(dev.headers['access-control-allow-origin']).toBe('http://127.0.0.1:5199');
    const evil = await h.req('OPTIONS', '/notes', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.status).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await h.req('GET', '/campaigns', { token: op, headers: { origin: 'http://127.0.0.1:5200' } });
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    expect(simple.headers.vary).toContain('Origin');
  });

  it('seed --demo data: operator A pops campaign A customers, operator B gets "unknown" for the same call', async () => {
    const { orgId } = await seedDemo(h.gw.ctx);
    const crm = await seedDemoCrm(h.gw.ctx, orgId);
    expect(await seedDemoCrm(h.gw.ctx, orgId)).toEqual(crm); // idempotent
    const [a] = crm.campaigns;
    const tokenOf = async (username: string) => h.token({ id: '', username, password: DEMO_PASSWORD, device: newDeviceKey() });
    const call = { dialledNumber: a!.dids[0]!, callerNumber: a!.callers[0]! };
    const sato = await ok('POST', '/screen-pop', await tokenOf('sato.hanako'), { callId: 'demo-1@pbx', ...call });
    expect(sato).toMatchObject({ status: 'known', campaign: { name: 'さくら銀行 カード窓口' } });
    expect(sato.customers[0].nameKana).toMatch(/^[ァ-ヶー ]+$/);
    expect(sato.recentCalls).toHaveLength(1);
    expect(sato.openNotes).toHaveLength(1);
    const ren = await ok('POST', '/screen-pop', await tokenOf('takahashi.ren'), { callId: 'demo-1@pbx', ...call });
    expect(ren).toEqual({ status: 'unknown', blocked: false, campaign: null, customers: [], recentCalls: [], openNotes: [] });
  });

  it('the CRM routes are in /openapi.json with their permissions', async () => {
    const doc = (await h.req('GET', '/openapi.json')).body;
    expect(doc.paths['/screen-pop'].post['x-koe-permission']).toBe('calls:handle');
    expect(doc.paths['/export/customers'].get['x-koe-permission']).toBe('export:read');
    expect(doc.paths['/customers/{id}'].get.operationId).toBe('getCustomer');
  });
});
