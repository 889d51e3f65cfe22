// Issue 15 items 1 and 4: queues per campaign and announcements, against real Kamailio +
// rtpengine. The carrier (carrier.ts: a scripted UDP trunk with its own RTP end) is the caller;
// operators are raw SIP-over-WebSocket clients that answer at once (sip-ws.ts) with their /ws
// agent sockets. What the caller hears is measured on the carrier's RTP (tone share, level).
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MUSIC_NOTES } from '../../../deploy/announcements/generate';
import { toneShare } from '../../support/tone';
import { Carrier } from './carrier';
import { telephonyFixture, type AgentWs, type TelephonyFixture } from './fixture';
import { hdr, rtpSdp, SipWsClient, type SipMessage } from './sip-ws';

const GREETING_HZ = 1000;
const NOTICE_HZ = 1200;
const OVERFLOW_HZ = 1500;
type Op = 'opA' | 'opB' | 'opC';
const OPS: Op[] = ['opA', 'opB', 'opC'];

let f: TelephonyFixture;
let carrier: Carrier;
const ua = {} as Record<Op, SipWsClient>;
const agent = {} as Record<Op, AgentWs>;
let adminToken: string;
let overflowCampaign: string;

/** A WAV (PCM 16-bit mono 8 kHz) of a sine: what an org uploads in place of an announcement. */
function toneWav(hz: number, seconds: number, o: { rate?: number; channels?: number; bits?: number } = {}): Buffer {
  const rate = o.rate ?? 8000;
  const channels = o.channels ?? 1;
  const bits = o.bits ?? 16;
  const n = Math.round(rate * seconds);
  const data = Buffer.alloc(n * channels * (bits / 8));
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) {
    const v = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * hz * i) / rate));
    if (bits === 16) data.writeInt16LE(v, (i * channels + c) * 2);
    else data.writeUInt8(128 + (v >> 8), i * channels + c);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * (bits / 8), 28);
  h.writeUInt16LE(channels * (bits / 8), 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const db = () => f.stack.gateway.ctx.db;
/**
 * How much of what the carrier heard in [from, to) is the hold music: in each 250 ms slice (within
 * one 0.5 s note, mostly) the share of the strongest of the music's notes, averaged.
 */
function musicShare(from: number, to: number, port?: number): number {
  const slices: number[] = [];
  for (let t = from; t + 250 <= to; t += 250) slices.push(Math.max(...MUSIC_NOTES.map((hz) => carrier.heardBetween(t, t + 250, hz, port).share)));
  return slices.reduce((a, b) => a + b, 0) / Math.max(1, slices.length);
}
/**
 * The music's share over what arrived in [from, to), cut in 250 ms pieces by sample count (not
 * by arrival time: a gateway restarted in this process blocks its event loop for a moment, and
 * the packets of that moment are stamped together, which left arrival-time slices empty), with
 * how many seconds of audio arrived (rtpengine's loop went on if about the whole window did).
 */
function musicBySamples(from: number, to: number): { share: number; seconds: number } {
  const pcm = carrier.heardBetweenPcm(from, to);
  const shares: number[] = [];
  for (let i = 0; i + 2000 <= pcm.length; i += 2000) shares.push(Math.max(...MUSIC_NOTES.map((hz) => toneShare(pcm.subarray(i, i + 2000), 8000, hz))));
  return { share: shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length), seconds: pcm.length / 8000 };
}
const entry = (callId: string) => db().selectFrom('call_queue').selectAll().where('sip_call_id', '=', callId).executeTakeFirst();
async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\n${f.logs()}`);
    await sleep(25);
  }
}
const provisional = (callId: string, status: number) => (m: SipMessage) => m.status === status && hdr(m, 'call-id') === callId;
/** Calls a test made: whatever is still up after it is hung up (afterEach), so one failure does not leave operators busy for the next. */
const open = new Set<string>();
const hangUp = async (callId: string) => {
  open.delete(callId);
  await carrier.bye(callId).catch((e: unknown) => {
    // what Kamailio made of the BYE (its log names the Call-ID)
    throw new Error(`${(e as Error).message}\n${f.logs()}`);
  });
};
const invitesTo = (op: Op) => ua[op].received.filter((m) => m.method === 'INVITE');

/** A caller dials the DID; resolves once Kamailio holds the INVITE (183 with SDP) and the gateway has it waiting. */
async function queuedCall(from = '+819011112222') {
  const callId = `${randomUUID()}@carrier`;
  const sent = Date.now();
  const final = carrier.invite({ did: f.did, from, callId });
  final.catch(() => undefined);
  open.add(callId);
  const progress = await carrier.waitFor(provisional(callId, 183), 10_000).catch((e) => {
    throw new Error(`${e.message}\n${f.logs()}`);
  });
  const at183 = Date.now();
  await until('the queue entry held', async () => (await entry(callId))?.held_at);
  // the announcements' start: the first RTP packet after the 183 was sent (carrier's arrival time)
  const first = await until('early media', async () => carrier.rtpIn.find((p) => p.t >= at183 - 1000 && p.t >= sent));
  return { callId, final, at183, audioAt: first.t, progress };
}

async function setAll(state: 'not_ready' | 'ready', ops: Op[] = OPS) {
  for (const op of ops) {
    const reason = state === 'not_ready' ? { reason: 'lunch' } : {};
    let view = await agent[op].op({ kind: 'setAvailability', state, ...reason });
    // a call just hung up: Kamailio's report ends it in the model a moment later
    for (let i = 0; i < 50 && view.type === 'operatorRefused' && view.refusal === 'busy_with_call'; i++) {
      await sleep(100);
      view = await agent[op].op({ kind: 'setAvailability', state, ...reason });
    }
    if (view.type === 'operatorRefused' && view.refusal === 'in_wrap_up') {
      // after a call: the operator finishes the wrap-up into the state asked
      const last = [...agent[op].messages].reverse().find((m) => m.type === 'operatorState' && m.view.wrapUp);
      view = await agent[op].op({ kind: 'finishWrapUp', callId: last.view.wrapUp.callId, next: state, ...reason });
    }
    if (view.type !== 'operatorState') throw new Error(`${op} ${state}: ${JSON.stringify(view)}`);
  }
}

beforeAll(async () => {
  f = await telephonyFixture({ wrapUpSeconds: 600 });
  // all three operators take the campaign's calls
  await db().insertInto('campaign_assignments').values({ user_id: f.users.opC.id, campaign_id: f.campaignId, org_id: f.orgId }).execute();
  overflowCampaign = randomUUID();
  const now = new Date();
  await db().insertInto('campaigns').values({
    id: overflowCampaign, org_id: f.orgId, name: 'あふれ呼', time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: '[]', blocked_numbers: '[]', created_at: now, updated_at: now,
  }).execute();
  for (const op of OPS) {
    const c = await f.credentials(op);
    ua[op] = await SipWsClient.connect(f.stack.sip.wssUrl, { user: f.users[op].sipUser, domain: f.stack.sip.domain, auth: { username: c.authorizationUsername, password: c.authorizationPassword } });
    expect((await ua[op].register()).status).toBe(200);
    agent[op] = await f.agent(op);
    // the phone answers at once and tells the gateway, like Koe's softphone
    ua[op].onRequest = (m) => {
      if (m.method === 'INVITE') {
        ua[op].reply(m, 180, 'Ringing');
        ua[op].reply(m, 200, 'OK', { body: rtpSdp(40_000 + OPS.indexOf(op)) });
        void agent[op].op({ kind: 'answered', callId: hdr(m, 'call-id') }).catch(() => undefined);
      } else if (m.method === 'BYE' || m.method === 'OPTIONS') ua[op].reply(m, 200, 'OK');
    };
  }
  await setAll('not_ready');
  carrier = await Carrier.start({ trunk: f.stack.sip.trunk, kamailio: f.stack.sip.udp, toneHz: 440 });
  adminToken = await f.token('admin');
});
afterEach(async () => {
  for (const callId of open) {
    await carrier.bye(callId).catch(() => carrier.cancel(callId).catch(() => undefined));
  }
  open.clear();
  await setAll('not_ready');
});
afterAll(async () => {
  carrier?.close();
  for (const u of Object.values(ua)) u?.close();
  await f?.close();
});

const upload = (name: string, lang: string, wav: Buffer) => f.api('PUT', `/admin/announcements/${name}/${lang}`, adminToken, { wavBase64: wav.toString('base64') });

describe('announcements an org replaces', () => {
  it('refuses what rtpengine or the codecs cannot play (stereo, 8-bit, 44.1 kHz, too long, not WAV), takes a valid file, audited', async () => {
    for (const [wav, why] of [
      [toneWav(GREETING_HZ, 1, { channels: 2 }), /mono/],
      [toneWav(GREETING_HZ, 1, { bits: 8 }), /16-bit/],
      [toneWav(GREETING_HZ, 1, { rate: 44100 }), /8000 or 16000/],
      [toneWav(GREETING_HZ, 31), /at most 30000 ms/],
      [toneWav(GREETING_HZ, 0.2), /at least/],
      [Buffer.from('this is not a wav file at all, just text'), /RIFF/],
      [toneWav(GREETING_HZ, 1).subarray(0, 30), /RIFF|fmt/],
    ] as const) {
      const res = await upload('greeting', 'ja', wav);
      expect(res.status, String(why)).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(why);
    }
    expect((await f.api('PUT', '/admin/announcements/jingle/ja', adminToken, { wavBase64: toneWav(GREETING_HZ, 1).toString('base64') })).status).toBe(400);
    expect((await upload('greeting', 'ja', toneWav(GREETING_HZ, 1))).status).toBe(200);
    // an operator may not
    expect((await f.api('PUT', '/admin/announcements/greeting/ja', await f.token('opA'), { wavBase64: toneWav(GREETING_HZ, 1).toString('base64') })).status).toBe(403);
    const list = await f.api('GET', '/admin/announcements', adminToken);
    expect(list.body.announcements).toContainEqual(expect.objectContaining({ name: 'greeting', lang: 'ja', source: 'org', durationMs: 1000 }));
    expect(list.body.announcements).toContainEqual(expect.objectContaining({ name: 'music', lang: 'ja', source: 'koe' }));
    const audit = await db().selectFrom('audit_log').select(['action', 'detail']).where('org_id', '=', f.orgId).where('action', '=', 'announcement.replaced').execute();
    expect(audit).toHaveLength(1);
    expect((await upload('overflow', 'ja', toneWav(OVERFLOW_HZ, 0.8))).status).toBe(200);
    expect((await upload('notice', 'ja', toneWav(NOTICE_HZ, 0.8))).status).toBe(200);
  });
});

describe('queues per campaign', () => {
  it('a caller nobody can take waits: 183 with early media, the greeting, then the hold music; connected to the operator who becomes ready; the music stops', async () => {
    const c = await queuedCall();
    expect(c.progress.body).toMatch(/m=audio [1-9]\d* RTP\/AVP/);
    // the (org's) greeting: 1000 Hz for a second, then Koe's music (its notes)
    await sleep(2600);
    const greeting = carrier.heardBetween(c.audioAt + 100, c.audioAt + 800, GREETING_HZ);
    expect(greeting.seconds).toBeGreaterThan(0.5);
    expect(greeting.share).toBeGreaterThan(0.8);
    await sleep(800);
    // a whole bar of the music (four notes of 0.5 s) after the 1 s greeting
    const music = carrier.heardBetween(c.audioAt + 1200, c.audioAt + 3200, MUSIC_NOTES[0]!);
    const musicAny = musicShare(c.audioAt + 1200, c.audioAt + 3200);
    expect(music.dbfs).toBeGreaterThan(-30);
    // most of what plays now is at the music's notes, no longer the greeting's tone
    expect(musicAny).toBeGreaterThan(0.4); // music: about 0.6 (slices across a note change score less); speech or silence: about 0
    expect(carrier.heardBetween(c.audioAt + 1200, c.audioAt + 3200, GREETING_HZ).share).toBeLessThan(0.05);
    expect(invitesTo('opA')).toHaveLength(0);
    expect((await entry(c.callId))).toMatchObject({ state: 'waiting', campaign_id: f.campaignId });

    const t0 = performance.now();
    await setAll('ready', ['opA']);
    const res = await c.final;
    const ms = performance.now() - t0;
    console.log(`queue: operator ready -> caller connected (200 OK at the trunk): ${ms.toFixed(1)} ms`);
    expect(res.status).toBe(200);
    expect(invitesTo('opA')).toHaveLength(1);
    expect(hdr(invitesTo('opA')[0]!, 'x-koe-campaign')).toBe(f.campaignId);
    expect(await entry(c.callId)).toMatchObject({ state: 'connected' });
    const row = await db().selectFrom('calls').selectAll().where('sip_call_id', '=', c.callId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ operator_id: f.users.opA.id, campaign_id: f.campaignId });
    expect(row.queued_at).toBeInstanceOf(Date);
    // the music stopped when the operator answered (the operator's test phone sends nothing)
    const after = Date.now();
    await sleep(1200);
    expect(carrier.heardBetween(after + 200, after + 1200, MUSIC_NOTES[0]!).dbfs).toBeLessThan(-50);
    await hangUp(c.callId);
    await setAll('not_ready', ['opA']);
  });

  it('longest-waiting caller first, to the longest-idle operator: two callers wait, three operators become ready one after another', async () => {
    const x = await queuedCall('+819011110001');
    await sleep(50);
    const y = await queuedCall('+819011110002');
    // hold both back (as a recording notice does) while the operators become ready: C first, then A, then B
    await db().updateTable('call_queue').set({ dispatch_after: new Date(Date.now() + 3_600_000) }).where('sip_call_id', 'in', [x.callId, y.callId]).execute();
    const before = Object.fromEntries(OPS.map((op) => [op, invitesTo(op).length]));
    for (const op of ['opC', 'opA', 'opB'] as Op[]) {
      await setAll('ready', [op]);
      await sleep(30);
    }
    // both become dispatchable at the same moment
    await db().updateTable('call_queue').set({ dispatch_after: null }).where('sip_call_id', 'in', [x.callId, y.callId]).execute();
    expect((await x.final).status).toBe(200);
    expect((await y.final).status).toBe(200);
    const rows = await db().selectFrom('calls').select(['sip_call_id', 'operator_id']).where('sip_call_id', 'in', [x.callId, y.callId]).execute();
    const to = Object.fromEntries(rows.map((r) => [r.sip_call_id, r.operator_id]));
    expect(to[x.callId]).toBe(f.users.opC.id); // the longest waiting caller, to the longest idle operator
    expect(to[y.callId]).toBe(f.users.opA.id);
    expect(invitesTo('opB').length).toBe(before.opB); // the third, least idle, never rang
    await hangUp(x.callId);
    await hangUp(y.callId);
    await setAll('not_ready');
  });

  it('past the maximum wait: the overflow campaign\'s queue, connected there; past that one\'s too: the overflow message, then 480 (calls row "max_wait")', async () => {
    // the admin route: the overflow must be another campaign of the org; limits in range
    const put = (id: string, body: unknown) => f.api('PUT', `/campaigns/${id}/queue`, adminToken, body);
    expect((await put(f.campaignId, { maxWaitSeconds: 5, maxSize: 20, overflowCampaignId: f.campaignId })).status).toBe(400);
    expect((await put(f.campaignId, { maxWaitSeconds: 5, maxSize: 20, overflowCampaignId: randomUUID() })).status).toBe(400);
    expect((await put(f.campaignId, { maxWaitSeconds: 4, maxSize: 20, overflowCampaignId: null })).status).toBe(400);
    expect((await put(f.campaignId, { maxWaitSeconds: 5, maxSize: -1, overflowCampaignId: null })).status).toBe(400);
    expect((await f.api('PUT', `/campaigns/${f.campaignId}/queue`, await f.token('opA'), { maxWaitSeconds: 5, maxSize: 20, overflowCampaignId: null })).status).toBe(403);
    expect((await put(f.campaignId, { maxWaitSeconds: 5, maxSize: 20, overflowCampaignId: overflowCampaign })).status).toBe(200);
    expect((await put(overflowCampaign, { maxWaitSeconds: 5, maxSize: 20, overflowCampaignId: null })).status).toBe(200);
    expect(await db().selectFrom('audit_log').select('action').where('org_id', '=', f.orgId).where('action', '=', 'campaign.queue_changed').execute()).toHaveLength(2);
    // opC takes the overflow campaign's calls (and is not ready yet)
    await db().insertInto('campaign_assignments').values({ user_id: f.users.opC.id, campaign_id: overflowCampaign, org_id: f.orgId }).onConflict((oc) => oc.doNothing()).execute();
    const c = await queuedCall();
    const moved = await until('the overflow', async () => {
      const e = await entry(c.callId);
      return e?.campaign_id === overflowCampaign && e;
    }, 12_000);
    expect(moved).toMatchObject({ state: 'waiting', first_campaign_id: f.campaignId });
    expect(Date.now() - c.at183).toBeGreaterThanOrEqual(4500);
    await setAll('ready', ['opC']);
    expect((await c.final).status).toBe(200);
    const inv = invitesTo('opC').at(-1)!;
    expect(hdr(inv, 'x-koe-campaign')).toBe(overflowCampaign);
    await hangUp(c.callId);
    await setAll('not_ready', ['opC']);

    // nobody in either: 5 s + 5 s, then the overflow message (the org's: 1500 Hz), then 480
    const d = await queuedCall();
    const res = await d.final;
    expect(res.status).toBe(480);
    const waited = Date.now() - d.at183;
    expect(waited).toBeGreaterThanOrEqual(9500);
    const heard = carrier.heardBetween(d.at183 + waited - 1200, d.at183 + waited, OVERFLOW_HZ);
    expect(heard.share).toBeGreaterThan(0.5);
    expect(await entry(d.callId)).toMatchObject({ state: 'expired', end_reason: 'max_wait', campaign_id: overflowCampaign });
    const row = await db().selectFrom('calls').selectAll().where('sip_call_id', '=', d.callId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ operator_id: null, status: 'ended', end_cause: 'max_wait', dialled_e164: f.did });
    expect((await put(f.campaignId, { maxWaitSeconds: 120, maxSize: 20, overflowCampaignId: null })).status).toBe(200);
  }, 40_000);

  it('a queue at its size limit: the next caller hears the overflow message, then 480 (calls row "queue_full"); the one waiting keeps waiting', async () => {
    await db().updateTable('campaigns').set({ queue_max_size: 1 }).where('id', '=', f.campaignId).execute();
    const first = await queuedCall('+819011110003');
    const callId = `${randomUUID()}@carrier`;
    const t0 = Date.now();
    open.add(callId);
    const res = await carrier.invite({ did: f.did, from: '+819011110004', callId });
    expect(res.status).toBe(480);
    expect(carrier.received.some(provisional(callId, 183))).toBe(true);
    // this call's media only (the first caller's music arrives at the same RTP end, from another port)
    const port = Number(/m=audio (\d+)/.exec(carrier.received.find(provisional(callId, 183))!.body)![1]);
    const audioAt = carrier.rtpIn.find((p) => p.t >= t0 && p.port === port)!.t;
    expect(carrier.heardBetween(audioAt + 100, audioAt + 700, OVERFLOW_HZ, port).share).toBeGreaterThan(0.5);
    expect(await entry(callId)).toMatchObject({ state: 'expired', end_reason: 'queue_full' });
    expect(await db().selectFrom('calls').selectAll().where('sip_call_id', '=', callId).executeTakeFirstOrThrow()).toMatchObject({ operator_id: null, status: 'ended', end_cause: 'queue_full' });
    expect(await entry(first.callId)).toMatchObject({ state: 'waiting' });
    await db().updateTable('campaigns').set({ queue_max_size: 20 }).where('id', '=', f.campaignId).execute();
  });

  it('a queued call its operator lets ring: after the campaign\'s ring timeout the next operator rings and answers (the caller is not dropped); the first is not ready "missed"', async () => {
    await db().updateTable('campaigns').set({ ring_seconds: 5 }).where('id', '=', f.campaignId).execute();
    const answersAtOnce = ua.opA.onRequest;
    // opA's phone rings and is never answered
    ua.opA.onRequest = (m) => {
      if (m.method === 'INVITE') ua.opA.reply(m, 180, 'Ringing');
      else if (m.method === 'CANCEL' || m.method === 'BYE' || m.method === 'OPTIONS') ua.opA.reply(m, 200, 'OK');
    };
    try {
      const c = await queuedCall('+819011110005');
      await setAll('ready', ['opA']);
      await until('opA rings', async () => invitesTo('opA').some((m) => hdr(m, 'call-id') === c.callId));
      const rang = Date.now();
      await setAll('ready', ['opB']);
      const res = await c.final;
      const ms = Date.now() - rang;
      console.log(`queue: a queued call unanswered by opA reached opB after ${ms} ms (ring timeout 5 s)`);
      expect(res.status, f.logs()).toBe(200);
      expect(invitesTo('opB').some((m) => hdr(m, 'call-id') === c.callId)).toBe(true);
      // the campaign's ring timeout, not tm's default (60 s)
      expect(ms).toBeGreaterThan(4000);
      expect(ms).toBeLessThan(15_000);
      const st = (await db().selectFrom('operator_states').select('state').where('user_id', '=', f.users.opA.id).executeTakeFirstOrThrow()).state as any;
      const a = typeof st === 'string' ? JSON.parse(st) : st;
      expect(a).toMatchObject({ agent: 'not_ready', reasonCode: 'missed' });
      const rows = await db().selectFrom('calls').select(['operator_id', 'status']).where('sip_call_id', '=', c.callId).execute();
      expect(rows.find((r) => r.operator_id === f.users.opB.id)?.status).toBe('answered');
      await hangUp(c.callId);
    } finally {
      ua.opA.onRequest = answersAtOnce;
      await db().updateTable('campaigns').set({ ring_seconds: null }).where('id', '=', f.campaignId).execute();
    }
  });

  it('a re-route with nobody left puts the caller back in the queue (not 480): opA lets it ring, nobody else is ready -> 183, the greeting and music -> opB ready -> connected; the wait counts from the first ring', async () => {
    await db().updateTable('campaigns').set({ ring_seconds: 5 }).where('id', '=', f.campaignId).execute();
    const answersAtOnce = ua.opA.onRequest;
    ua.opA.onRequest = (m) => {
      if (m.method === 'INVITE') ua.opA.reply(m, 180, 'Ringing');
      else if (m.method === 'CANCEL' || m.method === 'BYE' || m.method === 'OPTIONS') ua.opA.reply(m, 200, 'OK');
    };
    try {
      await setAll('ready', ['opA']);
      const callId = `${randomUUID()}@carrier`;
      open.add(callId);
      const final = carrier.invite({ did: f.did, from: '+819011110007', callId, finalTimeoutMs: 60_000 });
      final.catch(() => undefined);
      // routed at once: opA rings (no queue, no early media yet)
      await until('opA rings', async () => invitesTo('opA').some((m) => hdr(m, 'call-id') === callId));
      const rang = Date.now();
      expect(await entry(callId)).toBeUndefined();
      // the ring timeout: back in the queue, held with early media (183 + SDP), never 480
      const progress = await carrier.waitFor(provisional(callId, 183), 15_000).catch((e) => {
        throw new Error(`${e.message}\n${f.logs()}`);
      });
      const at183 = Date.now();
      console.log(`re-route -> queue: opA's ring (5 s timeout) -> caller held again (183): ${at183 - rang} ms`);
      expect(progress.body).toMatch(/m=audio [1-9]\d* RTP\/AVP/);
      expect(carrier.received.some((m) => hdr(m, 'call-id') === callId && (m.status ?? 0) >= 300)).toBe(false);
      const held = await until('held again', async () => {
        const e = await entry(callId);
        return e?.held_at && e.state === 'waiting' && e;
      });
      const first = await db().selectFrom('calls').select(['ringing_at', 'status', 'end_cause']).where('sip_call_id', '=', callId).where('operator_id', '=', f.users.opA.id).executeTakeFirstOrThrow();
      // its wait counts from its first ring (longest-waiting order, maximum wait, service level)
      expect(held.enqueued_at.getTime()).toBe(first.ringing_at.getTime());
      expect(held.campaign_id).toBe(f.campaignId);
      const st = (await db().selectFrom('operator_states').select('state').where('user_id', '=', f.users.opA.id).executeTakeFirstOrThrow()).state as any;
      expect(typeof st === 'string' ? JSON.parse(st) : st).toMatchObject({ agent: 'not_ready', reasonCode: 'missed' });
      // the caller hears the greeting, then the music
      const audioAt = await until('early media', async () => carrier.rtpIn.find((p) => p.t >= at183 - 200)?.t);
      await sleep(3200);
      expect(carrier.heardBetween(audioAt + 100, audioAt + 800, GREETING_HZ).share).toBeGreaterThan(0.8);
      expect(musicShare(audioAt + 1200, audioAt + 3000)).toBeGreaterThan(0.4);

      const t0 = performance.now();
      await setAll('ready', ['opB']);
      const res = await final;
      const ms = performance.now() - t0;
      console.log(`re-route -> queue: opB ready -> caller connected (200 OK at the trunk): ${ms.toFixed(1)} ms; first ring -> connected ${Date.now() - rang} ms`);
      expect(res.status, f.logs()).toBe(200);
      expect(invitesTo('opB').filter((m) => hdr(m, 'call-id') === callId)).toHaveLength(1);
      expect(invitesTo('opA').filter((m) => hdr(m, 'call-id') === callId)).toHaveLength(1);
      expect(await entry(callId)).toMatchObject({ state: 'connected' });
      const rows = await db().selectFrom('calls').select(['operator_id', 'status', 'queued_at']).where('sip_call_id', '=', callId).execute();
      const b = rows.find((r) => r.operator_id === f.users.opB.id)!;
      expect(b.status).toBe('answered');
      expect(b.queued_at!.getTime()).toBe(first.ringing_at.getTime());
      await hangUp(callId);
    } finally {
      ua.opA.onRequest = answersAtOnce;
      await db().updateTable('campaigns').set({ ring_seconds: null }).where('id', '=', f.campaignId).execute();
    }
  }, 60_000);

  it('a queued caller whose operator lets it ring goes back to the queue with its first wait (music goes on), and a caller who then hangs up is counted abandoned once', async () => {
    await db().updateTable('campaigns').set({ ring_seconds: 5 }).where('id', '=', f.campaignId).execute();
    const answersAtOnce = ua.opA.onRequest;
    ua.opA.onRequest = (m) => {
      if (m.method === 'INVITE') ua.opA.reply(m, 180, 'Ringing');
      else if (m.method === 'CANCEL' || m.method === 'BYE' || m.method === 'OPTIONS') ua.opA.reply(m, 200, 'OK');
    };
    try {
      const c = await queuedCall('+819011110008');
      const queuedAt = (await entry(c.callId))!.enqueued_at;
      await setAll('ready', ['opA']);
      await until('opA rings', async () => invitesTo('opA').some((m) => hdr(m, 'call-id') === c.callId));
      const again = await until('back in the queue', async () => {
        const e = await entry(c.callId);
        return e?.state === 'waiting' && e.held_at && invitesTo('opA').some((m) => hdr(m, 'call-id') === c.callId) && e;
      }, 15_000);
      expect(again.enqueued_at.getTime()).toBe(queuedAt.getTime());
      expect(again.next_play === null || again.next_play === 'music').toBe(true);
      expect(carrier.received.some((m) => hdr(m, 'call-id') === c.callId && (m.status ?? 0) >= 300)).toBe(false);
      // the caller keeps hearing the music while waiting again
      const t = Date.now();
      await sleep(2200);
      expect(musicShare(t + 200, t + 2200)).toBeGreaterThan(0.4);
      // Kamailio asking twice (failover) for the same re-route gets the same answer, one entry
      const q = await f.client.req('GET', `/sip/route?did=${encodeURIComponent(f.did)}&callId=${encodeURIComponent(c.callId)}&failed=${f.users.opA.sipUser}&status=408`, {
        headers: { 'x-koe-route-secret': f.stack.gateway.ctx.config.sip.routeSecret! },
      });
      expect(q.body).toMatchObject({ reason: 'queued' });
      expect((await entry(c.callId))!.state).toBe('waiting');
      // the caller hangs up while waiting again: abandoned, one calls row says so
      open.delete(c.callId);
      expect((await carrier.cancel(c.callId)).status).toBe(200);
      expect((await c.final).status).toBe(487);
      await until('abandoned', async () => (await entry(c.callId))?.state === 'abandoned');
      const rows = await until('the abandoned row', async () => {
        const r = await db().selectFrom('calls').select(['operator_id', 'status', 'end_cause', 'ringing_at']).where('sip_call_id', '=', c.callId).execute();
        return r.some((x) => x.operator_id === null) && r;
      });
      expect(rows.filter((r) => r.operator_id === null)).toEqual([expect.objectContaining({ status: 'abandoned', end_cause: 'abandoned' })]);
      expect(rows.filter((r) => r.operator_id === null)[0]!.ringing_at.getTime()).toBe(queuedAt.getTime());
    } finally {
      ua.opA.onRequest = answersAtOnce;
      await db().updateTable('campaigns').set({ ring_seconds: null }).where('id', '=', f.campaignId).execute();
    }
  }, 60_000);

  it('a caller who hangs up while waiting is an abandoned call: 487, the entry ends, a calls row "abandoned" with its times; nobody rings', async () => {
    const c = await queuedCall('+819011110003');
    const rings = OPS.map((op) => invitesTo(op).length);
    open.delete(c.callId);
    const cancelled = await carrier.cancel(c.callId);
    expect(cancelled.status).toBe(200);
    expect((await c.final).status).toBe(487);
    const e = await until('abandoned', async () => (await entry(c.callId))?.state === 'abandoned' && entry(c.callId));
    expect(e).toMatchObject({ end_reason: 'caller_hung_up' });
    const row = await db().selectFrom('calls').selectAll().where('sip_call_id', '=', c.callId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ operator_id: null, status: 'abandoned', end_cause: 'abandoned', campaign_id: f.campaignId, caller_e164: '+819011110003' });
    expect(row.ringing_at.getTime()).toBe(e!.enqueued_at.getTime());
    expect(row.ended_at!.getTime()).toBeGreaterThan(row.ringing_at.getTime());
    // an operator ready now is not offered the gone call
    await setAll('ready', ['opA']);
    await sleep(1000);
    expect(OPS.map((op) => invitesTo(op).length)).toEqual(rings);
    await setAll('not_ready', ['opA']);
  });

  it('the gateway restarts while a caller waits: the caller keeps hearing the music and the restarted gateway connects them', async () => {
    const c = await queuedCall();
    await f.stack.restartGateway(0, { downMs: 1500 });
    // the operators' /ws went with the old process: they connect again (as Koe's client does)
    for (const op of OPS) agent[op] = await f.agent(op);
    await setAll('not_ready');
    // the music went on (rtpengine plays it) while no gateway ran
    await sleep(Math.max(0, c.audioAt + 3300 - Date.now()));
    const music = musicBySamples(c.audioAt + 1200, c.audioAt + 3200);
    console.log(`music while the gateway restarted: share ${music.share.toFixed(2)} over ${music.seconds.toFixed(2)} s of audio (by arrival-time slices: ${musicShare(c.audioAt + 1200, c.audioAt + 3200).toFixed(2)})`);
    expect(music.seconds).toBeGreaterThan(1.5); // the loop went on: about the whole 2 s window arrived
    expect(music.share).toBeGreaterThan(0.4);
    const waiting = await entry(c.callId);
    expect(waiting, JSON.stringify(waiting)).toMatchObject({ state: 'waiting' });
    await setAll('ready', ['opB']);
    expect((await c.final).status).toBe(200);
    expect((await db().selectFrom('calls').select('operator_id').where('sip_call_id', '=', c.callId).executeTakeFirstOrThrow()).operator_id).toBe(f.users.opB.id);
    await hangUp(c.callId);
    await setAll('not_ready', ['opB']);
  });

  it('no gateway acts on a held call: Kamailio\'s own timer on the suspended INVITE ends it (480) at holdSeconds', async () => {
    const sip = f.stack.gateway.ctx.config.sip as { queueHoldMarginSeconds: number };
    const margin = sip.queueHoldMarginSeconds;
    sip.queueHoldMarginSeconds = 2;
    await db().updateTable('campaigns').set({ queue_max_wait_seconds: 5 }).where('id', '=', f.campaignId).execute();
    try {
      const c = await queuedCall();
      // the gateway loses the call (as if every instance had died): its entry is no longer one it serves
      await db().updateTable('call_queue').set({ state: 'failed' }).where('sip_call_id', '=', c.callId).execute();
      const res = await c.final;
      const held = Date.now() - c.at183;
      expect(res.status).toBe(480);
      expect(held).toBeGreaterThanOrEqual(6000); // 5 s + 2 s, from Kamailio's clock
      expect(held).toBeLessThan(15_000);
      expect(f.logs()).toMatch(/QUEUE: held call cid=.* not continued in time: 480/);
    } finally {
      sip.queueHoldMarginSeconds = margin;
      await db().updateTable('campaigns').set({ queue_max_wait_seconds: 120 }).where('id', '=', f.campaignId).execute();
    }
  }, 30_000);

  it('the org\'s recording notice plays before routing, even with an operator ready; then the call is routed', async () => {
    await f.api('PATCH', '/admin/policy', adminToken, { announcements: { recordingNotice: true } }).then((r) => expect(r.status).toBe(200));
    await setAll('ready', ['opA']);
    const rings = invitesTo('opA').length;
    const callId = `${randomUUID()}@carrier`;
    const t0 = Date.now();
    open.add(callId);
    const res = await carrier.invite({ did: f.did, callId });
    expect(res.status).toBe(200);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(700); // not before the 0.8 s notice played
    expect(carrier.heardBetween(t0, t0 + 700, NOTICE_HZ).share).toBeGreaterThan(0.5);
    expect(invitesTo('opA').length).toBe(rings + 1);
    await hangUp(callId);
    await f.api('PATCH', '/admin/policy', adminToken, { announcements: { recordingNotice: false } });
    await setAll('not_ready', ['opA']);
  });

  it('bench: operator ready -> queued caller connected, p50/p95 (ready sent -> INVITE at the operator, -> 200 OK at the trunk)', async () => {
    const toInvite: number[] = [];
    const toConnected: number[] = [];
    for (let i = 0; i < 15; i++) {
      const c = await queuedCall(`+8190111120${String(i).padStart(2, '0')}`);
      const t0 = performance.now();
      await setAll('ready', ['opA']);
      const res = await c.final;
      expect(res.status).toBe(200);
      const inv = ua.opA.received.filter((m) => m.method === 'INVITE' && hdr(m, 'call-id') === c.callId)[0]!;
      toInvite.push(inv.at! - t0);
      toConnected.push(res.at! - t0);
      await hangUp(c.callId);
      await setAll('not_ready', ['opA']);
    }
    const pct = (l: number[], p: number) => [...l].sort((a, b) => a - b)[Math.min(l.length - 1, Math.ceil((p / 100) * l.length) - 1)]!;
    console.log(
      `queue bench (${toConnected.length} calls): operator ready -> INVITE at the operator p50 ${pct(toInvite, 50).toFixed(1)} ms, p95 ${pct(toInvite, 95).toFixed(1)} ms; ` +
        `-> caller connected (200 OK at the trunk) p50 ${pct(toConnected, 50).toFixed(1)} ms, p95 ${pct(toConnected, 95).toFixed(1)} ms; ` +
        `gateway dispatch (claim -> Kamailio continued) p50 ${pct(f.stack.gateway.ctx.queues.dispatchMs, 50).toFixed(1)} ms`,
    );
  }, 120_000);
});
