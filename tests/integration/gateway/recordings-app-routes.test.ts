// The two routes the app's recordings UI added (shared/gateway/recordings.ts): the lead's
// recent recordings (the same scope predicate as list and play: another team's lead sees
// none, an operator without recordings:play is refused) and whether the caller's own live
// call is recorded (someone else's call and a nonexistent one get the same answer).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interleave } from '../../../server/recordings/audio';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] }, closedDates: [] };

describe.each(BACKENDS)('recordings routes of the app on %s', (backend) => {
  let h: Harness;
  const dir = mkdtempSync(join(tmpdir(), `koe-rec-app-${backend}-`));
  let admin: string;
  let lead: string;
  let lead2: string;
  let opA: string;
  let opBUser: TestUser;
  let opB: string;
  const recs: string[] = [];

  async function record(token: string, operatorId: string, callId: string, status: 'ended' | 'answered' = 'ended'): Promise<string> {
    await h.ok('POST', '/screen-pop', token, { callId, dialledNumber: callId.startsWith('b-') ? '0120-222-333' : '03-1111-0001', callerNumber: '090-1111-2222' });
    const call = await h.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).where('operator_id', '=', operatorId).executeTakeFirstOrThrow();
    await h.db.updateTable('calls').set({ status }).where('id', '=', call.id).execute();
    const active = await h.gw.ctx.recordings.begin({ ...call, operator_id: operatorId });
    active.push(interleave(new Int16Array(8000), new Int16Array(8000)));
    await h.gw.ctx.recordings.finish(active);
    return active.id;
  }

  beforeAll(async () => {
    h = await setup(backend, { recordings: { dir, keks: [{ id: 'k', key: randomBytes(32).toString('base64') }] }, sip: { rtpengineNg: '127.0.0.1:9' } });
    admin = await h.token(h.users.admin);
    lead = await h.token(h.users.lead);
    opA = await h.token(h.users.operator);
    opBUser = await h.newUser('operator', 'opb');
    opB = await h.token(opBUser);
    const lead2User = await h.newUser('team_lead', 'lead2');
    lead2 = await h.token(lead2User);
    const teamA = await h.ok('POST', '/admin/teams', admin, { name: 'チームA' });
    await h.ok('PUT', `/admin/teams/${teamA.id}/members`, admin, { leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });
    const teamB = await h.ok('POST', '/admin/teams', admin, { name: 'チームB' });
    await h.ok('PUT', `/admin/teams/${teamB.id}/members`, admin, { leadIds: [lead2User.id], operatorIds: [opBUser.id] });
    const A = (await h.ok('POST', '/campaigns', admin, { name: 'カード窓口', dids: ['03-1111-0001'], hours: HOURS, dispositions: ['解決'] })).id;
    const B = (await h.ok('POST', '/campaigns', admin, { name: '通販', dids: ['0120-222-333'], hours: HOURS, dispositions: ['解決'] })).id;
    await h.ok('PUT', `/campaigns/${A}/assignments`, admin, { userIds: [h.users.operator.id] });
    await h.ok('PUT', `/campaigns/${B}/assignments`, admin, { userIds: [opBUser.id] });
    for (let i = 0; i < 3; i++) recs.push(await record(opA, h.users.operator.id, `a-${i}@app`));
    recs.push(await record(opB, opBUser.id, 'b-0@app'));
    recs.push(await record(opA, h.users.operator.id, 'a-live@app', 'answered'));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recent: a lead gets the team\'s recordings newest first, limited; another team\'s lead only theirs; no permission, refused', async () => {
    const mine = await h.ok('GET', '/recordings/recent', lead);
    expect(new Set(mine.recordings.map((r: { id: string }) => r.id))).toEqual(new Set([recs[0], recs[1], recs[2], recs[4]]));
    const times = mine.recordings.map((r: { startedAt: string }) => Date.parse(r.startedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect((await h.ok('GET', '/recordings/recent?limit=2', lead)).recordings).toHaveLength(2);
    expect((await h.ok('GET', '/recordings/recent', lead2)).recordings.map((r: { id: string }) => r.id)).toEqual([recs[3]]);
    expect((await h.ok('GET', '/recordings/recent', admin)).recordings).toHaveLength(5);
    expect((await h.req('GET', '/recordings/recent', { token: opA })).status).toBe(403);
    for (const bad of ['0', '51', 'x', '-1']) expect((await h.req('GET', `/recordings/recent?limit=${bad}`, { token: lead })).status).toBe(400);
    expect((await h.req('GET', '/recordings/recent')).status).toBe(401);
  });

  it('CORS: the player may send Range and read Content-Range; another origin still gets no CORS headers', async () => {
    const pre = await h.req('OPTIONS', `/recordings/${recs[0]}/stream`, {
      headers: { origin: 'koe://app', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, range' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-headers']).toContain('range');
    const grant = await h.ok('POST', `/recordings/${recs[0]}/play`, lead);
    const res = await h.req('GET', grant.streamPath, { token: lead, headers: { origin: 'koe://app', range: 'bytes=44-1043' } });
    expect(res.status).toBe(206);
    expect(res.headers['access-control-allow-origin']).toBe('koe://app');
    expect(res.headers['access-control-expose-headers']).toBe('content-range');
    expect(res.headers['content-range']).toMatch(/^bytes 44-1043\//);
    expect(res.headers['cache-control']).toBe('no-store');
    const other = await h.req('GET', grant.streamPath, { token: lead, headers: { origin: 'https://evil.example', range: 'bytes=44-1043' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['access-control-expose-headers']).toBeUndefined();
  });

  it('live: the caller\'s own answered call says whether it is recorded here; another\'s call and a nonexistent one the same 404', async () => {
    expect(await h.ok('GET', `/recordings/live?callId=${encodeURIComponent('a-live@app')}`, opA)).toEqual({ callId: 'a-live@app', recording: false, paused: false });
    const other = await h.req('GET', `/recordings/live?callId=${encodeURIComponent('a-live@app')}`, { token: opB });
    const none = await h.req('GET', `/recordings/live?callId=${encodeURIComponent('nobody@app')}`, { token: opB });
    const ended = await h.req('GET', `/recordings/live?callId=${encodeURIComponent('a-0@app')}`, { token: opA });
    expect([other.status, none.status, ended.status]).toEqual([404, 404, 404]);
    expect(other.body).toEqual(none.body);
    expect((await h.req('GET', '/recordings/live?callId=has%20space', { token: opA })).status).toBe(400);
  });
});
