// Supervision rules at the gateway, against the real rtpengine (ng) and Kamailio stack: who may
// supervise whom, liveness by rtpengine `query`, the audit of every start/switch/stop/refusal,
// the operator-only whisper signalling on /ws, teardown when the call ends, the board.
// Calls are made directly in rtpengine with ng offer/answer (plain RTP), so no browser is needed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NgClient, bdecode, bencode, rtpengineLiveCalls } from '../../../server/supervision/ng';
import { createUser } from '../../../server/orgs';
import { AgentWs, PASSWORD, telephonyFixture, type TelephonyFixture } from '../telephony/fixture';

let f: TelephonyFixture;
let ng: NgClient;
const extra: Record<string, { id: string; username: string }> = {};

const rtpSdp = (port: number) =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
/** A WebRTC-shaped sendonly offer (what a lead's page publishes). */
const webrtcOffer = () =>
  'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' +
  'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n' +
  'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n' +
  'a=fingerprint:sha-256 9F:1B:6D:7C:3E:8E:35:E3:02:51:59:4C:61:3F:4E:0E:5E:7C:8B:2A:22:4C:45:2F:13:7D:2C:1E:6B:1F:2C:3A\r\n' +
  'a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n' +
  'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n';

async function rtpCall(callId: string, operator: keyof TelephonyFixture['users'] | string, live = true): Promise<void> {
  const db = f.stack.gateway.ctx.db;
  const operatorId = f.users[operator as keyof TelephonyFixture['users']]?.id ?? extra[operator]!.id;
  if (live) {
    await ng.command('offer', { 'call-id': callId, 'from-tag': `cust-${callId}`, sdp: rtpSdp(31000), 'replace': ['origin'] });
    await ng.command('answer', { 'call-id': callId, 'from-tag': `cust-${callId}`, 'to-tag': `op-${callId}`, sdp: rtpSdp(31002) });
  }
  const now = new Date();
  await db
    .insertInto('calls')
    .values({
      id: randomUUID(), org_id: f.orgId, sip_call_id: callId, operator_id: operatorId, campaign_id: f.campaignId, customer_id: null,
      caller_e164: '+819011112222', dialled_e164: f.did, blocked: false, status: 'answered', ringing_at: now, answered_at: now,
      ended_at: null, disposition: null, wrap_up_seconds: null, created_at: now, updated_at: now,
    })
    .execute();
  await onCall(operator, callId);
}

/**
 * The operator model (issue 12) puts the operator on this call as their client would: whatever
 * call they had ends (and its wrap-up is saved), then `dial` + `answered`. (Before issue 12 the
 * test set the legacy state "on_call" once; the gateway now decides it from the calls.)
 */
async function onCall(operator: string, callId: string): Promise<void> {
  const ctx = f.stack.gateway.ctx;
  const u = f.users[operator as keyof TelephonyFixture['users']] ?? extra[operator]!;
  const who = { userId: u.id, orgId: f.orgId, username: u.username };
  const current = await ctx.agents.get(u.id);
  for (const c of current?.model.calls ?? []) {
    if (c.state !== 'ended' && c.state !== 'wrapped_up') await ctx.agents.apply(who, { type: 'ended', callId: c.callId, cause: 'completed' });
  }
  const now = await ctx.agents.get(u.id);
  if (now?.model.wrapUp) await ctx.agents.apply(who, { type: 'finishWrapUp', callId: now.model.wrapUp.callId, next: 'ready' });
  expect((await ctx.agents.apply(who, { type: 'dial', callId })).kind).toBe('accepted');
  expect((await ctx.agents.apply(who, { type: 'answered', callId })).kind).toBe('accepted');
}

async function audits(action: string, callId: string) {
  const rows = await f.stack.gateway.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail })).filter((r) => r.detail.callId === callId);
}

const leadWs: Record<string, AgentWs> = {};
beforeAll(async () => {
  f = await telephonyFixture();
  ng = new NgClient(f.stack.rtpengine.ngHost, f.stack.rtpengine.ngPort);
  const ctx = f.stack.gateway.ctx;
  // A second team: lead2 leads opC only.
  const tag = randomUUID().slice(0, 6);
  const id = await createUser(ctx, { orgId: f.orgId, username: `lead2.${tag}`, displayName: 'lead2', role: 'team_lead', password: PASSWORD });
  extra.lead2 = { id, username: `lead2.${tag}` };
  const team2 = randomUUID();
  await ctx.db.insertInto('teams').values({ id: team2, org_id: f.orgId, name: 'チーム2' }).execute();
  await ctx.db.insertInto('team_members').values([
    { team_id: team2, user_id: id, member_role: 'lead' },
    { team_id: team2, user_id: f.users.opC.id, member_role: 'operator' },
  ]).execute();
  // connected operators (their sockets stay open): rtpCall puts them on calls through the model
  for (const op of ['opA', 'opB', 'opC'] as const) await f.agent(op);
  leadWs.lead = await f.agent('lead');
}, 60_000);

afterAll(async () => {
  ng?.close();
  await f?.close();
});

async function lead2Token(): Promise<string> {
  const r = await f.api('POST', '/auth/sign-in', undefined, { username: extra.lead2!.username, password: PASSWORD });
  return r.body.tokens.accessToken;
}

describe('ng client', () => {
  it('bencodes with sorted keys and decodes answers; ping, query and errors against the real rtpengine', async () => {
    expect(bencode({ b: 1, a: ['x', 'yz'] }).toString()).toBe('d1:al1:x2:yze1:bi1ee');
    expect(bdecode(Buffer.from('d3:sdp3:v=06:resultl2:okee'))).toEqual({ sdp: 'v=0', result: ['ok'] });
    expect((await ng.command('ping')).result).toBe('pong');
    await expect(ng.command('query', { 'call-id': 'no-such-call' })).rejects.toThrow(/Unknown call-id/i);
    const silent = new NgClient('127.0.0.1', 9, { timeoutMs: 100, retries: 1 });
    await expect(silent.command('ping')).rejects.toThrow(/no answer from rtpengine after 2 tries/);
    silent.close();
  });
});

describe('supervision rules (gateway + rtpengine)', () => {
  it('a lead monitors a live call of their team: two m-lines, audited; the operator gets no message', async () => {
    const callId = `mon-${randomUUID()}@test`;
    await rtpCall(callId, 'opA');
    const opA = await f.agent('opA');
    const t0 = performance.now();
    const r = await f.api('POST', '/supervision', await f.token('lead'), { callId });
    console.log(`POST /supervision (authorise + query + subscribe request + audit): ${(performance.now() - t0).toFixed(1)} ms`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ callId, operatorId: f.users.opA.id, mode: 'monitor', operatorConnected: false });
    expect(r.body.listenOffer.match(/\r\nm=audio /g)).toHaveLength(2);
    expect(r.body.listenOffer).toMatch(/a=sendonly/);
    const q = await ng.command('query', { 'call-id': callId });
    expect(Object.keys(q.tags as object).length).toBe(3); // customer, operator, the lead's subscription
    const [started] = await audits('supervision.started', callId);
    expect(started).toMatchObject({ actor_user_id: f.users.lead.id, target_id: f.users.opA.id });
    expect(started!.detail).toMatchObject({ leadId: f.users.lead.id, operatorId: f.users.opA.id, callId, mode: 'monitor' });
    // Stop: unsubscribed in rtpengine, audited.
    const stop = await f.api('DELETE', `/supervision/${r.body.supervisionId}`, await f.token('lead'));
    expect(stop.body).toEqual({ supervisionId: r.body.supervisionId, ended: true });
    const q2 = await ng.command('query', { 'call-id': callId });
    const subscribers = (q2.tags as any)[`cust-${callId}`].subscribers.map((x: any) => x.tag);
    expect(subscribers).toEqual([`op-${callId}`]);
    expect((await audits('supervision.stopped', callId))[0]!.detail).toMatchObject({ reason: 'stopped', mode: 'monitor', operatorId: f.users.opA.id });
    // the start and the stop are answered; whatever they sent the operator is here once a ping is answered
    await opA.sync();
    expect(opA.messages.filter((m) => String(m.type).startsWith('supervision'))).toEqual([]);
    opA.close();
  });

  it("a lead who starts supervising an operator with a raised hand acknowledges it (issue 18 item 9): kept up with the lead, audited with the cause supervision", async () => {
    const callId = `hand-${randomUUID()}@test`;
    await rtpCall(callId, 'opA');
    const ctx = f.stack.gateway.ctx;
    const who = { userId: f.users.opA.id, orgId: f.orgId, username: f.users.opA.username };
    expect((await ctx.agents.apply(who, { type: 'raiseHand' })).kind).toBe('accepted');
    const r = await f.api('POST', '/supervision', await f.token('lead'), { callId });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((await ctx.agents.get(f.users.opA.id))!.model.hand).toMatchObject({ acknowledgedBy: { userId: f.users.lead.id } });
    const acks = (await ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'agent.hand_acknowledged').where('target_id', '=', f.users.opA.id).execute())
      .map((e) => ({ ...e, detail: typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail }));
    expect(acks.map((e) => [e.actor_user_id, e.detail.cause])).toEqual([[f.users.lead.id, 'supervision']]);
    await f.api('DELETE', `/supervision/${r.body.supervisionId}`, await f.token('lead'));
    expect((await ctx.agents.apply(who, { type: 'lowerHand' })).kind).toBe('accepted');
  });

  it('refuses (and audits) a lead of another team, an operator, a call that is not live, an unknown call', async () => {
    const callId = `deny-${randomUUID()}@test`;
    await rtpCall(callId, 'opA');
    const other = await f.api('POST', '/supervision', await lead2Token(), { callId });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('forbidden');
    const [refused] = await audits('supervision.refused', callId);
    expect(refused).toMatchObject({ actor_user_id: extra.lead2!.id, target_id: f.users.opA.id });
    expect(refused!.detail).toMatchObject({ reason: 'not_in_team', leadId: extra.lead2!.id, operatorId: f.users.opA.id, mode: 'monitor' });
    // an operator (no team:supervise) is refused by the route's permission
    expect((await f.api('POST', '/supervision', await f.token('opB'), { callId })).status).toBe(403);
    // opC is not in the lead's team
    const cCall = `deny-c-${randomUUID()}@test`;
    await rtpCall(cCall, 'opC');
    expect((await f.api('POST', '/supervision', await f.token('lead'), { callId: cCall })).status).toBe(403);
    // a call row without a live rtpengine call (opB's: opA stays on the call above, one call each)
    const dead = `dead-${randomUUID()}@test`;
    await rtpCall(dead, 'opB', false);
    const d = await f.api('POST', '/supervision', await f.token('lead'), { callId: dead });
    expect(d.status).toBe(409);
    expect((await audits('supervision.refused', dead))[0]!.detail.reason).toBe('not_live');
    const unknown = await f.api('POST', '/supervision', await f.token('lead'), { callId: 'nothing@here' });
    expect(unknown.status).toBe(404);
    // an admin may supervise any team of the org
    const adm = await f.api('POST', '/supervision', await f.token('admin'), { callId: cCall });
    expect(adm.status, JSON.stringify(adm.body)).toBe(200);
    await f.api('DELETE', `/supervision/${adm.body.supervisionId}`, await f.token('admin'));
    // hostile SDP is refused before it reaches rtpengine
    const ok = await f.api('POST', '/supervision', await f.token('lead'), { callId });
    const bad = await f.api('POST', `/supervision/${ok.body.supervisionId}/listen`, await f.token('lead'), { sdp: 'v=0\r\nx=\u0000' });
    expect(bad.status).toBe(400);
    // another lead cannot touch it
    expect((await f.api('DELETE', `/supervision/${ok.body.supervisionId}`, await lead2Token())).status).toBe(404);
    await f.api('DELETE', `/supervision/${ok.body.supervisionId}`, await f.token('lead'));
  });

  it('whisper: the offer goes to the operator\'s own socket only; switching is audited; barge follows org policy; the call-ended notification tears everything down', async () => {
    const callId = `wh-${randomUUID()}@test`;
    await rtpCall(callId, 'opA');
    const opA = await f.agent('opA');
    const opB = await f.agent('opB');
    const token = await f.token('lead');
    const s = await f.api('POST', '/supervision', token, { callId });
    const id = s.body.supervisionId;
    const published = await f.api('POST', `/supervision/${id}/mode`, token, { mode: 'whisper', publishOffer: webrtcOffer() });
    expect(published.body).toMatchObject({ mode: 'whisper', operatorConnected: false });
    expect(published.body.publishAnswer).toMatch(/a=recvonly/);
    // the lead's page calls again once its published connection is up: now the operator is connected
    const switching = f.api('POST', `/supervision/${id}/mode`, token, { mode: 'whisper' });
    const offer = await opA.wait((m) => m.type === 'supervisionOffer');
    expect(offer.mode).toBe('whisper');
    expect(offer.sdp).toMatch(/m=audio .*UDP\/TLS\/RTP\/SAVPF/);
    await opB.sync();
    expect(opB.messages.some((m) => m.type === 'supervisionOffer')).toBe(false);
    // another user's socket cannot answer it
    opB.ws.send(JSON.stringify({ type: 'supervisionAnswer', legId: offer.legId, sdp: webrtcOffer().replace('a=sendonly', 'a=recvonly') }));
    expect((await opB.wait((m) => m.type === 'error')).code).toBe('not_found');
    opA.ws.send(JSON.stringify({ type: 'supervisionAnswer', legId: offer.legId, sdp: webrtcOffer().replace('a=sendonly', 'a=recvonly').replace('actpass', 'active') }));
    const w = await switching;
    expect(w.status, JSON.stringify(w.body)).toBe(200);
    expect(w.body).toMatchObject({ mode: 'whisper', operatorConnected: true });
    // The customer's tag subscribes to the operator only (never to the lead).
    const q = await ng.command('query', { 'call-id': callId });
    const cust = (q.tags as any)[`cust-${callId}`];
    expect(cust.subscriptions.map((x: any) => x.tag)).toEqual([`op-${callId}`]);
    // whisper -> barge -> monitor
    const b = await f.api('POST', `/supervision/${id}/mode`, token, { mode: 'barge' });
    expect(b.body.mode).toBe('barge');
    expect((await opA.seen((m) => m.type === 'supervisionMode')).mode).toBe('barge');
    const m = await f.api('POST', `/supervision/${id}/mode`, token, { mode: 'monitor' });
    expect(m.body).toMatchObject({ mode: 'monitor', operatorConnected: false });
    expect((await opA.seen((x) => x.type === 'supervisionStop')).legId).toBe(offer.legId);
    const modes = (await audits('supervision.mode', callId)).map((r) => `${r.detail.from}->${r.detail.mode}`);
    expect(modes).toEqual(['monitor->whisper', 'whisper->barge', 'barge->monitor']);
    // org policy: announcements required -> barge refused and audited
    await f.api('PATCH', '/admin/policy', await f.token('admin'), { supervision: { announce: true } });
    const refused = await f.api('POST', `/supervision/${id}/mode`, token, { mode: 'barge' });
    expect(refused.status).toBe(403);
    expect((await audits('supervision.refused', callId))[0]!.detail).toMatchObject({ reason: 'announcement_required', mode: 'barge' });
    await f.api('PATCH', '/admin/policy', await f.token('admin'), { supervision: { announce: false } });
    // back to whisper (already published: no new offer needed)
    const opOffer2 = opA.wait((x) => x.type === 'supervisionOffer');
    const w2 = f.api('POST', `/supervision/${id}/mode`, token, { mode: 'whisper' });
    const o2 = await opOffer2;
    opA.ws.send(JSON.stringify({ type: 'supervisionAnswer', legId: o2.legId, sdp: webrtcOffer().replace('a=sendonly', 'a=recvonly').replace('actpass', 'active') }));
    expect((await w2).body.operatorConnected).toBe(true);
    // Kamailio's call-ended notification: secret required; then every leg goes, the lead is told.
    const url = `/sip/call-ended?callId=${encodeURIComponent(callId)}`;
    expect((await f.api('GET', url)).status).toBe(401);
    const ended = leadWs.lead!.wait((x) => x.type === 'supervisionEnded' && x.supervisionId === id);
    const res = await f.client.req('GET', url, { headers: { 'x-koe-route-secret': f.stack.gateway.ctx.config.sip.routeSecret! } });
    expect(res.body).toEqual({ closed: 1 });
    expect((await ended).reason).toBe('call_ended');
    expect((await opA.seen((x) => x.type === 'supervisionStop' && x.legId === o2.legId)).legId).toBe(o2.legId);
    expect((await audits('supervision.stopped', callId))[0]!.detail).toMatchObject({ reason: 'call_ended', mode: 'whisper' });
    expect((await f.stack.gateway.ctx.supervision.active()).filter((a) => a.callId === callId)).toEqual([]);
    opA.close();
    opB.close();
  });

  it('a call rtpengine forgets (no BYE seen) is torn down by the query poll', async () => {
    const callId = `gone-${randomUUID()}@test`;
    await rtpCall(callId, 'opA');
    // the operator model's watchdog asks the real rtpengine (ng list): a live call is left alone
    expect(await rtpengineLiveCalls(ng)).toContain(callId);
    await f.stack.gateway.ctx.agents.watchdog();
    expect((await f.stack.gateway.ctx.agents.get(f.users.opA.id))!.model.calls.find((c) => c.callId === callId)?.state).toBe('answered');
    const s = await f.api('POST', '/supervision', await f.token('lead'), { callId });
    const ended = leadWs.lead!.wait((x) => x.type === 'supervisionEnded' && x.supervisionId === s.body.supervisionId, 6000);
    const t0 = performance.now();
    await ng.command('delete', { 'call-id': callId, 'from-tag': `cust-${callId}` });
    await ended;
    console.log(`rtpengine delete -> supervision ended by the poll: ${(performance.now() - t0).toFixed(0)} ms (delete-delay 1 s)`);
    // and the watchdog ends the operator's call the engine no longer has: a repair, audited
    while ((await rtpengineLiveCalls(ng)).includes(callId)) await new Promise((r) => setTimeout(r, 200));
    await f.stack.gateway.ctx.agents.watchdog(); // (the gateway's own 30 s watchdog may have come first)
    const opA = (await f.stack.gateway.ctx.agents.get(f.users.opA.id))!.model;
    expect(opA.calls.find((c) => c.callId === callId)).toMatchObject({ state: 'ended', cause: 'repair' });
    expect(opA.agent).toBe('wrap_up');
    const repairs = await f.stack.gateway.ctx.db.selectFrom('audit_log').select('detail').where('action', '=', 'agent.repair').where('target_id', '=', f.users.opA.id).execute();
    expect(repairs.map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail).callId)).toContain(callId);
  });

  it('board: snapshot then updates over /ws for the lead\'s team only; registration health from the operator\'s link', async () => {
    const ws = await f.agent('lead');
    ws.ws.send(JSON.stringify({ type: 'boardSubscribe' }));
    const snap = await ws.wait((m) => m.type === 'board');
    const names = snap.operators.map((o: any) => o.userId).sort();
    expect(names).toEqual([f.users.opA.id, f.users.opB.id].sort());
    const opB = await f.agent('opB');
    const bCall = `board-${randomUUID()}@test`;
    await rtpCall(bCall, 'opB');
    const update = ws.wait((m) => m.type === 'boardUpdate' && m.operator.userId === f.users.opB.id && m.operator.registration === 'registered');
    opB.ws.send(JSON.stringify({ type: 'registration', state: 'registered' }));
    expect((await update).operator).toMatchObject({ state: 'on_call', call: { callId: bCall } });
    // the call ends (the phone's fact), the operator saves the wrap-up and goes ready: the board follows
    const ready = ws.wait((m) => m.type === 'boardUpdate' && m.operator.userId === f.users.opB.id && m.operator.state === 'ready');
    expect((await opB.op({ kind: 'ended', callId: bCall, cause: 'completed' })).view.agent).toBe('wrap_up');
    expect((await opB.op({ kind: 'finishWrapUp', callId: bCall, next: 'ready' })).view.agent).toBe('ready');
    expect((await ready).operator.call).toBeNull();
    // an operator may not subscribe
    opB.ws.send(JSON.stringify({ type: 'boardSubscribe' }));
    expect((await opB.wait((m) => m.type === 'error')).code).toBe('forbidden');
    // the admin sees every operator of the org
    const adm = await f.api('GET', '/supervision/board', await f.token('admin'));
    expect(adm.body.operators.map((o: any) => o.userId)).toEqual(expect.arrayContaining([f.users.opA.id, f.users.opB.id, f.users.opC.id]));
    opB.close();
    ws.close();
  });
});
