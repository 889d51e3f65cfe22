// Routing policy through real Kamailio + rtpengine (issue 15): ring timeout and reject send the
// call to the next operator (the first one "missed" / "declined"), a closed campaign and a blocked
// caller never ring anyone, and bad input from the trunk or Kamailio has a defined outcome.
// baresip is the PSTN caller; opA is a raw SIP-over-WebSocket client (rings, never answers, or
// rejects), opB a Chromium SIP.js softphone that answers: the customer's tone reaching it proves
// the re-routed branch carries media.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonColumn } from '../../../server/db/json-column';
import { Baresip } from './baresip';
import { telephonyFixture, type AgentWs, type TelephonyFixture } from './fixture';
import { hdr, SipWsClient, type SipMessage } from './sip-ws';
import { SoftphonePage } from './softphone-page';

let f: TelephonyFixture;
let pstn: Baresip;
let opA: SipWsClient;
let phoneB: SoftphonePage;
const agent: Record<string, AgentWs> = {};
const CALLER = '+819012345678';
const CUSTOMER_HZ = 440;
const RING_SECONDS = 5;
let admin: string;

const isInvite = (m: SipMessage) => m.method === 'INVITE';
const patchCampaign = async (body: unknown) => f.api('PATCH', `/campaigns/${f.campaignId}`, admin, body);
const auditOf = async (action: string) =>
  (await f.stack.gateway.ctx.db.selectFrom('audit_log').select(['detail', 'target_id', 'org_id']).where('action', '=', action).where('org_id', '=', f.orgId).orderBy('seq').execute())
    .map((r) => ({ ...r, detail: jsonColumn<Record<string, unknown>>(r.detail) }));
/** Polls a read until `ok` (a condition to wait for, not a timed assertion). */
async function untilDb<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out\n${f.logs()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const modelOf = async (userId: string) =>
  jsonColumn<any>((await f.stack.gateway.ctx.db.selectFrom('operator_states').select('state').where('user_id', '=', userId).executeTakeFirstOrThrow()).state);
const waitState = (who: string, pred: (v: any) => boolean, timeoutMs = 15_000) => agent[who]!.seen((m) => m.type === 'operatorState' && pred(m.view), timeoutMs);
const pageState = () => phoneB.page.evaluate(() => (window as any).koe.state as string);

/** Polls the stored model (the authority) until it satisfies pred. */
async function untilModel(userId: string, pred: (s: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const t0 = Date.now();
  for (;;) {
    const s = await modelOf(userId);
    if (pred(s)) return s;
    if (Date.now() - t0 > timeoutMs) throw new Error(`model of ${userId} still ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const idle = (s: any) => !s.wrapUp && !s.calls.some((c: any) => ['offered', 'ringing', 'answered', 'held', 'transferring'].includes(c.state));
const setAvailability = async (who: 'opA' | 'opB', state: 'ready' | 'not_ready', reason?: string) => {
  const r = await agent[who]!.op({ kind: 'setAvailability', state, ...(reason ? { reason } : {}) });
  if (r.type !== 'operatorState') throw new Error(`${who} ${state}: ${JSON.stringify(r)}`);
};

/** Both idle, then opA ready before opB (opA has been ready longer: offered first). */
async function bothReady(): Promise<void> {
  for (const who of ['opA', 'opB'] as const) {
    await untilModel(f.users[who].id, idle);
    await setAvailability(who, 'not_ready', 'other');
  }
  await setAvailability('opA', 'ready');
  await new Promise((r) => setTimeout(r, 5));
  await setAvailability('opB', 'ready');
}

beforeAll(async () => {
  f = await telephonyFixture({ wrapUpSeconds: 1 });
  admin = await f.token('admin');
  const a = await f.credentials('opA');
  opA = await SipWsClient.connect(f.stack.sip.wssUrl, { user: f.users.opA.sipUser, domain: f.stack.sip.domain, auth: { username: a.authorizationUsername, password: a.authorizationPassword } });
  expect((await opA.register()).status).toBe(200);
  phoneB = await SoftphonePage.open();
  const b = await f.credentials('opB');
  await phoneB.page.evaluate((cfg) => (window as any).startPhone(cfg), {
    aor: b.aor, wsUrl: f.stack.sip.wsUrl, username: b.authorizationUsername, password: b.authorizationPassword, toneHz: 1000, expectHz: CUSTOMER_HZ,
  });
  agent.opA = await f.agent('opA');
  agent.opB = await f.agent('opB');
  pstn = await Baresip.start({ trunk: f.stack.sip.trunk, proxy: f.stack.sip.udp, number: CALLER, toneHz: CUSTOMER_HZ });
  // the admin route sets the campaign's ring timeout (validated, audited)
  const res = await patchCampaign({ routing: { ringSeconds: RING_SECONDS } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.routing).toEqual({ enforceHours: false, blockPolicy: 'reject', ringSeconds: RING_SECONDS });
});
afterAll(async () => {
  await pstn?.stop();
  opA?.close();
  await phoneB?.close();
  await f?.close();
});

describe('ring-no-answer and reject: the next operator', () => {
  it('ring timeout: opA rings for the campaign\'s ring timeout, then opB rings and answers (audio flows); opA is not ready "missed", audited and pushed', async () => {
    await bothReady();
    const invitedA = opA.wait(isInvite, 8000);
    const missedNotice = agent.opA!.wait((m) => m.type === 'operatorNotice' && m.code === 'missed', 20_000);
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    const inv = await invitedA.catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    const tA = performance.now();
    const callId = hdr(inv, 'call-id')!;
    opA.reply(inv, 180, 'Ringing');
    // one source for the ring timeout: the model's deadline is the campaign's, as Kamailio's timer
    const offered = (await modelOf(f.users.opA.id)).calls.find((c: any) => c.callId === callId);
    expect((await modelOf(f.users.opA.id)).ringUntil - offered.offeredAt).toBe(RING_SECONDS * 1000);
    // Kamailio's timer ends opA's branch (CANCEL) and opB's softphone gets the call
    const cancelled = opA.wait((m) => m.method === 'CANCEL' && hdr(m, 'call-id') === callId, 20_000);
    await phoneB.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 25_000 }).catch(async (e) => {
      throw new Error(`${e.message}\n${f.logs()}\n${JSON.stringify(await phoneB.page.evaluate(() => ({ body: (window as any).koe.inviteBody, log: (window as any).koe.log, state: (window as any).koe.state })))}`);
    });
    await cancelled;
    const tB = performance.now();
    console.log(`opA rang ${((tB - tA) / 1000).toFixed(2)} s (ring timeout ${RING_SECONDS} s) before opB's softphone was connected`);
    expect(tB - tA).toBeGreaterThanOrEqual(RING_SECONDS * 1000 - 200); // never re-routed before the ring timeout
    const headers = await phoneB.page.evaluate(() => (window as any).koe.headers);
    expect(headers).toEqual({ campaign: f.campaignId, did: f.did, from: CALLER });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    // opA: not ready "missed" (the model's step, pushed to opA's client and to the board)
    const missed = await waitState('opA', (v) => v.agent === 'not_ready' && v.reasonCode === 'missed');
    expect(missed.view.calls.find((c: any) => c.callId === callId)).toMatchObject({ state: 'ended', cause: 'no_answer' });
    expect(await missedNotice).toMatchObject({ callId });
    const board = await f.api('GET', '/agents', await f.token('lead'));
    expect(board.body.agents.find((x: any) => x.userId === f.users.opA.id)).toMatchObject({ state: 'not_ready', reason: 'missed' });
    expect((await auditOf('agent.state')).some((a) => a.target_id === f.users.opA.id && a.detail.cause === 'missed')).toBe(true);
    // opB has the call (its phone reports the answer, as Koe's client does); the calls rows:
    // opA's ended no_answer, opB's answered
    expect((await agent.opB!.op({ kind: 'answered', callId })).view.agent).toBe('on_call');
    const rows = await f.stack.gateway.ctx.db.selectFrom('calls').select(['operator_id', 'status', 'end_cause']).where('sip_call_id', '=', callId).execute();
    expect(rows).toEqual(expect.arrayContaining([
      { operator_id: f.users.opA.id, status: 'ended', end_cause: 'no_answer' },
      expect.objectContaining({ operator_id: f.users.opB.id, status: 'answered' }),
    ]));
    // the customer's tone reaches opB through the re-routed branch (rtpengine's media)
    await new Promise((r) => setTimeout(r, 2000));
    const samples: { target: number; off: number }[] = await phoneB.page.evaluate(() => (window as any).koe.samples);
    const late = samples.slice(-10);
    const target = Math.max(...late.map((s) => s.target));
    const off = Math.max(...late.map((s) => s.off));
    console.log(`opB heard ${CUSTOMER_HZ} Hz at ${target.toFixed(1)} dBFS (off-tone ${off.toFixed(1)} dBFS)`);
    expect(target).toBeGreaterThan(-50);
    expect(target - off).toBeGreaterThan(20);
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    await untilModel(f.users.opB.id, idle);
    expect(opA.received.filter(isInvite).filter((m) => hdr(m, 'call-id') === callId)).toHaveLength(1);
  });

  it('reject: opA declines (603), the call goes to opB at once; opA is not ready "declined"; with nobody left, the caller waits in the queue', async () => {
    await bothReady();
    const invitedA = opA.wait(isInvite, 8000);
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    const inv = await invitedA;
    const callId = hdr(inv, 'call-id')!;
    opA.reply(inv, 180, 'Ringing');
    const t0 = performance.now();
    opA.reply(inv, 603, 'Decline');
    await phoneB.page.waitForFunction((id) => (window as any).koe.callId === id && (window as any).koe.state === 'Established', callId, { timeout: 10_000 }).catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    console.log(`opA's 603 -> opB connected in ${(performance.now() - t0).toFixed(0)} ms`);
    expect((await agent.opB!.op({ kind: 'answered', callId })).view.agent).toBe('on_call');
    const declined = await waitState('opA', (v) => v.agent === 'not_ready' && v.reasonCode === 'declined');
    expect(declined.view.calls.find((c: any) => c.callId === callId)).toMatchObject({ state: 'ended', cause: 'declined' });
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    await untilModel(f.users.opB.id, idle);

    // busy (486) from the only ready operator: nobody left -> the caller waits in the campaign's
    // queue (issue 15; it used to get 480), the operator "busy"; then the caller hangs up
    await setAvailability('opB', 'not_ready', 'lunch');
    await setAvailability('opA', 'ready');
    const invited2 = opA.wait(isInvite, 8000);
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    const inv2 = await invited2;
    opA.reply(inv2, 486, 'Busy Here');
    const queued = await untilDb(() => f.stack.gateway.ctx.db.selectFrom('call_queue').select(['state', 'held_at']).where('sip_call_id', '=', hdr(inv2, 'call-id')!).executeTakeFirst(), (e) => e?.state === 'waiting' && e.held_at !== null);
    expect(queued).toMatchObject({ state: 'waiting' });
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    expect((await waitState('opA', (v) => v.agent === 'not_ready' && v.reasonCode === 'busy')).view.agent).toBe('not_ready');
    const row = await f.stack.gateway.ctx.db.selectFrom('calls').select(['status', 'end_cause']).where('sip_call_id', '=', hdr(inv2, 'call-id')!).where('operator_id', '=', f.users.opA.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'ended', end_cause: 'busy' });
  });
});

describe('hours and block list: nobody rings', () => {
  it('a campaign outside its hours: the closed outcome (480 "closed"), no operator rings; an unknown time zone is refused at the admin route', async () => {
    const bad = await patchCampaign({ hours: { timeZone: 'Mars/Olympus_Mons', weekly: {}, closedDates: [] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/unknown IANA time zone/);
    // never open (no weekly hours) and enforced
    const res = await patchCampaign({ hours: { timeZone: 'Asia/Tokyo', weekly: {}, closedDates: [] }, routing: { enforceHours: true } });
    expect(res.status).toBe(200);
    const updated = (await auditOf('campaign.updated')).at(-1)!;
    expect(updated.detail).toMatchObject({ changed: ['hours', 'routing'], routing: { before: { enforceHours: false }, after: { enforceHours: true, ringSeconds: RING_SECONDS } } });
    await bothReady();
    const before = [opA.received.filter(isInvite).length, await phoneB.page.evaluate(() => (window as any).koe.callId)];
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    const closed = await pstn.wait((e) => e.type === 'CALL_CLOSED');
    expect(closed.param).toMatch(/480 Closed/);
    await agent.opA!.sync();
    expect([opA.received.filter(isInvite).length, await phoneB.page.evaluate(() => (window as any).koe.callId)]).toEqual(before);
    expect((await modelOf(f.users.opA.id)).agent).toBe('ready');
    expect((await modelOf(f.users.opB.id)).agent).toBe('ready');
    // open every day, all day, but today (in Tokyo) a holiday: still closed, at the gateway's answer
    const allDay = Object.fromEntries(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((d) => [d, [{ open: '00:00', close: '24:00' }]]));
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date());
    const tomorrow = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date(Date.now() + 86_400_000));
    expect((await patchCampaign({ hours: { timeZone: 'Asia/Tokyo', weekly: allDay, closedDates: [today, tomorrow] } })).status).toBe(200);
    const holiday = await f.client.req('GET', `/sip/route?did=${encodeURIComponent(f.did)}&from=${encodeURIComponent(CALLER)}&callId=hol-${Date.now()}@t`, {
      headers: { 'x-koe-route-secret': f.stack.gateway.ctx.config.sip.routeSecret! },
    });
    expect(holiday.body).toEqual({ target: null, campaignId: f.campaignId, did: f.did, reason: 'closed', announce: 'closed' });
    // open every day, all day -> routed again
    expect((await patchCampaign({ hours: { timeZone: 'Asia/Tokyo', weekly: allDay, closedDates: [] } })).status).toBe(200);
    const openId = `open-${Date.now()}@t`;
    const route = await f.client.req('GET', `/sip/route?did=${encodeURIComponent(f.did)}&from=${encodeURIComponent(CALLER)}&callId=${encodeURIComponent(openId)}`, {
      headers: { 'x-koe-route-secret': f.stack.gateway.ctx.config.sip.routeSecret! },
    });
    expect(route.body).toMatchObject({ reason: 'routed', target: f.users.opA.sipUser, ringSeconds: RING_SECONDS });
    // that offer ends (the caller hung up): opA is ready again
    await f.stack.gateway.ctx.agents.callEnded(openId);
    expect((await modelOf(f.users.opA.id)).agent).toBe('ready');
  });

  it('a blocked caller (listed in national form): 603 Decline, audited as call.blocked without the number, no operator rings', async () => {
    const res = await patchCampaign({ blockedNumbers: ['090-1234-5678'], routing: { blockPolicy: 'reject', enforceHours: false } });
    expect(res.status).toBe(200);
    expect(res.body.blockedNumbers).toEqual([CALLER]);
    await bothReady();
    const invitesA = opA.received.filter(isInvite).length;
    const callB = await phoneB.page.evaluate(() => (window as any).koe.callId);
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    const closed = await pstn.wait((e) => e.type === 'CALL_CLOSED');
    expect(closed.param).toMatch(/603 Decline/);
    await agent.opA!.sync();
    expect(opA.received.filter(isInvite).length).toBe(invitesA);
    expect(await phoneB.page.evaluate(() => (window as any).koe.callId)).toBe(callB);
    const blocked = (await auditOf('call.blocked')).at(-1)!;
    expect(blocked).toMatchObject({ target_id: f.campaignId, detail: { did: f.did, policy: 'reject' } });
    expect(JSON.stringify(blocked.detail)).not.toContain('9012345678');
    // one calls row (no operator, end cause "blocked"), the caller's number in it, not in the audit
    const blockedRows = await f.stack.gateway.ctx.db.selectFrom('calls').select(['sip_call_id', 'operator_id', 'status', 'end_cause', 'blocked', 'caller_e164', 'campaign_id'])
      .where('sip_call_id', '=', String(blocked.detail.callId)).execute();
    expect(blockedRows).toEqual([{ sip_call_id: blocked.detail.callId, operator_id: null, status: 'ended', end_cause: 'blocked', blocked: true, caller_e164: CALLER, campaign_id: f.campaignId }]);
    const logs = f.logs();
    expect(logs).toMatch(/CALL_REFUSED blocked \(reject\)/);
    // Kamailio asking twice (failover: the first gateway answered late): one audit, one row
    const auditsBefore = (await auditOf('call.blocked')).length;
    const twiceId = `blk2-${Date.now()}@t`;
    for (let i = 0; i < 2; i++) {
      const again = await f.client.req('GET', `/sip/route?did=${encodeURIComponent(f.did)}&from=${encodeURIComponent('sip:09012345678@carrier')}&callId=${encodeURIComponent(twiceId)}`, {
        headers: { 'x-koe-route-secret': f.stack.gateway.ctx.config.sip.routeSecret! },
      });
      expect(again.body).toMatchObject({ reason: 'blocked', blockPolicy: 'reject' });
    }
    expect((await auditOf('call.blocked')).length).toBe(auditsBefore + 1);
    expect(await f.stack.gateway.ctx.db.selectFrom('calls').select('id').where('sip_call_id', '=', twiceId).execute()).toHaveLength(1);
    // "message" policy: the blocked message is played, then 603 (koe.cfg route[QUEUE_HOLD])
    expect((await patchCampaign({ routing: { blockPolicy: 'message' } })).status).toBe(200);
    const q = await f.client.req('GET', `/sip/route?did=${encodeURIComponent(f.did)}&from=${encodeURIComponent('sip:09012345678@carrier')}&callId=blk-${Date.now()}@t`, {
      headers: { 'x-koe-route-secret': f.stack.gateway.ctx.config.sip.routeSecret! },
    });
    expect(q.body).toEqual({ target: null, campaignId: f.campaignId, did: f.did, reason: 'blocked', announce: 'blocked' });
    expect((await patchCampaign({ blockedNumbers: [] })).status).toBe(200);
  });
});

describe('bad input: a defined outcome each', () => {
  const secret = () => f.stack.gateway.ctx.config.sip.routeSecret!;
  const route = (params: Record<string, string>) =>
    f.client.req('GET', `/sip/route?${new URLSearchParams(params).toString()}`, { headers: { 'x-koe-route-secret': secret() } });

  it('a DID that is no number, a caller id that is no number, a re-route naming nobody: each answered, nothing offered twice', async () => {
    await bothReady();
    expect((await route({ did: 'sales', callId: `bad-did-${Date.now()}@t` })).body).toMatchObject({ reason: 'unknown_did', target: null });
    expect((await route({ did: '+0', callId: `bad-did2-${Date.now()}@t` })).body).toMatchObject({ reason: 'unknown_did', target: null });
    expect((await route({ did: f.did, callId: `x-${Date.now()}@t`, status: '1'.repeat(9) })).status).toBe(400);
    // a caller id that is not a number: an unknown caller, routed (never blocked, never refused)
    const id1 = `nonum-${Date.now()}@t`;
    const r1 = await route({ did: f.did, from: 'sip:"><script>@evil', pai: 'tel:abc', callId: id1 });
    expect(r1.body).toMatchObject({ reason: 'routed', target: f.users.opA.sipUser });
    const row = await f.stack.gateway.ctx.db.selectFrom('calls').select(['caller_e164', 'blocked']).where('sip_call_id', '=', id1).executeTakeFirstOrThrow();
    expect(row).toEqual({ caller_e164: null, blocked: false });
    // a re-route naming a user who was never offered the call, and a status that is no status:
    // nobody's model is stepped for it; the call goes to the next operator (not opA again)
    const r2 = await route({ did: f.did, callId: id1, failed: f.users.opC.sipUser, status: 'xyz' });
    expect(r2.body).toMatchObject({ reason: 'routed', target: f.users.opB.sipUser });
    expect((await modelOf(f.users.opA.id)).agent).toBe('ringing');
    // the real re-route for opB: opA and opB were both offered it, nobody is left: the caller
    // waits in the queue (issue 15; it used to be no_ready_agent, then 480)
    const r3 = await route({ did: f.did, callId: id1, failed: f.users.opB.sipUser, status: '408' });
    expect(r3.body).toMatchObject({ reason: 'queued', target: null });
    expect((await modelOf(f.users.opB.id))).toMatchObject({ agent: 'not_ready', reasonCode: 'missed' });
    // the caller hangs up: opA's offer ends (back to ready)
    await f.stack.gateway.ctx.agents.callEnded(id1);
    await f.stack.gateway.ctx.queues.callEnded(id1);
    expect((await modelOf(f.users.opA.id)).agent).toBe('ready');
  });

  it('an operator whose client disconnects while the call is offered: the call goes to the next operator within the ring timeout', async () => {
    await bothReady();
    const invited = opA.wait(isInvite, 8000);
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    const inv = await invited;
    const callId = hdr(inv, 'call-id')!;
    const t0 = performance.now();
    opA.close(); // the SIP WebSocket is gone, no answer will ever come
    await phoneB.page.waitForFunction((id) => (window as any).koe.callId === id && (window as any).koe.state === 'Established', callId, { timeout: 20_000 }).catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    console.log(`opA's client gone while offered -> opB connected after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    expect((await agent.opB!.op({ kind: 'answered', callId })).view.agent).toBe('on_call');
    const rows = await f.stack.gateway.ctx.db.selectFrom('calls').select(['operator_id', 'status']).where('sip_call_id', '=', callId).execute();
    expect(rows.find((r) => r.operator_id === f.users.opA.id)?.status).toBe('ended');
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
  });
});
