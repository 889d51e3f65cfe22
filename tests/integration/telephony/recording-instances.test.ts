// Recordings across two gateway instances on one PostgreSQL, with DTMF (docs/telephony.md
// "Recordings"): the customer (baresip) plays a WAV of a 440 Hz tone with in-band DTMF digits in
// the middle and also sends RFC 4733 digits; the operator (Chromium) answers through gateway 0,
// which records. Secure capture pressed through gateway 1 (the other instance) blanks the
// recording gateway 0 makes; on demand through gateway 1 while gateway 0 records is "recorded
// already"; on demand of a call nobody records is recorded by gateway 1 and sealed when the call
// ends through gateway 0. The customer channel holds no DTMF tone (Goertzel, 697..1633 Hz) and
// keeps the 440 Hz before and after.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channel, toneShare } from '../../../server/recordings/audio';
import { DTMF_HIGH, DTMF_LOW, goertzelShare } from '../../../server/recordings/dtmf';
import { decryptFile, KeyRing } from '../../../server/recordings/format';
import { pcm16WavHeader } from '../../../server/wav';
import { createScratchDatabase } from '../../support/pg-database';
import { pollUntil } from '../../support/poll';
import { Baresip } from './baresip';
import { telephonyFixture, type TelephonyFixture } from './fixture';
import { SoftphonePage } from './softphone-page';

const CUSTOMER_HZ = 440;
const OPERATOR_HZ = 1000;
const KEK = { id: 'k-inst', key: randomBytes(32).toString('base64') };
const dir = mkdtempSync(join(tmpdir(), 'koe-rec-inst-'));
const RATE = 48_000;
const DIGITS: [number, number][] = [[770, 1209], [697, 1209], [697, 1209], [697, 1209], [852, 1477], [941, 1336], [941, 1477]]; // 4 1 1 1 9 0 #
let f: TelephonyFixture;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let pstn: Baresip;
let phone: SoftphonePage;

/** 48 kHz stereo WAV: 440 Hz for 5 s, the digits (120 ms each, 80 ms apart), 440 Hz for 20 s. */
function customerWav(): string {
  const parts: number[] = [];
  const tone = (s: number) => {
    for (let i = 0; i < RATE * s; i++) parts.push(9000 * Math.sin((2 * Math.PI * CUSTOMER_HZ * i) / RATE));
  };
  tone(5);
  for (const [lo, hi] of DIGITS) {
    for (let i = 0; i < RATE * 0.12; i++) parts.push(7000 * Math.sin((2 * Math.PI * lo * i) / RATE) + 7000 * Math.sin((2 * Math.PI * hi * i) / RATE));
    for (let i = 0; i < RATE * 0.08; i++) parts.push(0);
  }
  tone(20);
  const pcm = Buffer.alloc(parts.length * 4);
  parts.forEach((v, i) => {
    pcm.writeInt16LE(Math.round(v), i * 4);
    pcm.writeInt16LE(Math.round(v), i * 4 + 2);
  });
  const file = join(dir, 'customer.wav');
  writeFileSync(file, Buffer.concat([pcm16WavHeader(pcm.length, 2, RATE), pcm]));
  return file;
}

/** The strongest DTMF-pair evidence in any 20 ms window (10 ms hop) of 8 kHz audio. */
function dtmfEvidence(x: Int16Array): { worst: number; at: number } {
  let worst = 0;
  let at = -1;
  for (let off = 0; off + 160 <= x.length; off += 80) {
    let e = 0;
    for (let i = 0; i < 160; i++) e += x[off + i]! * x[off + i]!;
    if (Math.sqrt(e / 160) < 100) continue;
    const lo = Math.max(...DTMF_LOW.map((hz) => goertzelShare(x, off, 160, hz, e)));
    const hi = Math.max(...DTMF_HIGH.map((hz) => goertzelShare(x, off, 160, hz, e)));
    if (Math.min(lo, hi) > worst) [worst, at] = [Math.min(lo, hi), off];
  }
  return { worst, at };
}

beforeAll(async () => {
  const base = process.env.KOE_TEST_DATABASE_URL;
  if (!base) throw new Error('KOE_TEST_DATABASE_URL is not set: two gateway instances share one PostgreSQL (scripts/pg-throwaway.sh)');
  scratch = await createScratchDatabase(base, 'koe_rec_inst', 2);
  f = await telephonyFixture({ recordings: { dir, keks: [KEK] }, ha: { gateways: 2, postgresUrl: scratch.url } });
  await f.stack.gateway.ctx.db.updateTable('campaigns').set({ recording_mode: 'all' }).where('id', '=', f.campaignId).execute();
  phone = await SoftphonePage.open();
  pstn = await Baresip.start({ trunk: f.stack.sip.trunk, proxy: f.stack.sip.udp, number: '+819011113333', toneHz: CUSTOMER_HZ, audioFile: customerWav() });
}, 120_000);
afterAll(async () => {
  await pstn?.stop();
  await phone?.close();
  await f?.close();
  await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The API of gateway 1 (the other instance, a child process). */
async function other(path: string, token: string, body?: unknown, gateway = 1): Promise<{ status: number; body: any }> {
  const init: RequestInit = body === undefined ? { method: 'GET', headers: { authorization: `Bearer ${token}` } } : { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(`${f.stack.gateways[gateway]!.url}${path}`, init);
  return { status: res.status, body: await res.json() };
}

async function answeredCall(agent: Awaited<ReturnType<TelephonyFixture['agent']>>): Promise<string> {
  pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
  await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 }).catch((e) => {
    throw new Error(`${e.message}\n${f.logs()}`);
  });
  await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
  const db = f.stack.gateway.ctx.db;
  const { sip_call_id: callId } = await db.selectFrom('calls').select('sip_call_id').where('operator_id', '=', f.users.opA.id).where('status', '=', 'ringing').orderBy('ringing_at', 'desc').executeTakeFirstOrThrow();
  await agent.op({ kind: 'ringing', callId });
  expect((await agent.op({ kind: 'answered', callId })).view.agent).toBe('on_call');
  return callId;
}

async function sealed(callId: string) {
  const db = f.stack.gateway.ctx.db;
  await pollUntil(`the recording of ${callId} sealed`, async () => (await db.selectFrom('recordings').select('status').where('sip_call_id', '=', callId).executeTakeFirst())?.status === 'complete', { timeoutMs: 10_000, context: () => f.logs() });
  return db.selectFrom('recordings').selectAll().where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
}

describe('recordings across two gateway instances; DTMF masked', () => {
  it('secure capture and on demand through the other instance; in-band and RFC 4733 DTMF never in the recording', async () => {
    const c = await f.credentials('opA');
    await phone.page.evaluate((cfg) => (window as any).startPhone(cfg), {
      aor: c.aor, wsUrl: f.stack.sip.wsUrl, username: c.authorizationUsername, password: c.authorizationPassword, toneHz: OPERATOR_HZ, expectHz: CUSTOMER_HZ,
    });
    const agent = await f.agent('opA');
    await agent.setState('ready');
    const callId = await answeredCall(agent);
    const recorder = f.stack.gateway.ctx.recorder!;
    await pollUntil('gateway 0 recording', async () => recorder.live().length === 1, { timeoutMs: 5000, context: () => `${JSON.stringify(recorder.stats)}\n${f.logs()}` });
    const token = await f.token('opA');
    // on demand through gateway 1 while gateway 0 records: recorded already, no second recording
    expect(await other('/recordings/record', token, { callId })).toEqual({ status: 200, body: { callId, recording: true } });
    // the in-band digits of the WAV pass (they start 5 s after the call is established)
    await new Promise((r) => setTimeout(r, 5000));
    // secure capture through gateway 1
    const t0 = Date.now();
    expect(await other('/recordings/secure-capture', token, { callId, paused: true })).toEqual({ status: 200, body: { callId, paused: true, recording: true } });
    // what the operator's toggle shows, whichever instance it asks
    const liveUrl = `/recordings/live?callId=${encodeURIComponent(callId)}`;
    for (const g of [0, 1]) expect(await other(liveUrl, token, undefined, g)).toEqual({ status: 200, body: { callId, paused: true, recording: true } });
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() - t0)));
    expect(await other('/recordings/secure-capture', token, { callId, paused: false })).toEqual({ status: 200, body: { callId, paused: false, recording: true } });
    for (const g of [0, 1]) expect(await other(liveUrl, token, undefined, g)).toEqual({ status: 200, body: { callId, paused: false, recording: true } });
    // another operator through gateway 1: the same answer as for no call
    const opB = await f.token('opB');
    const stranger = await other('/recordings/secure-capture', opB, { callId, paused: true });
    const none = await other('/recordings/secure-capture', opB, { callId: 'no-such-call', paused: true });
    expect(stranger).toEqual(none);
    await new Promise((r) => setTimeout(r, 1500));
    // RFC 4733 digits from the customer (baresip sends telephone-events)
    pstn.command('sndcode', '4111');
    await new Promise((r) => setTimeout(r, 2000));
    const live = recorder.live()[0]!;
    console.log(`DTMF masked on gateway 0: customer ${live.dtmfMasked[0]} samples (${live.dtmfEvents[0]} telephone-event packets), operator ${live.dtmfMasked[1]}`);
    expect(recorder.live()).toHaveLength(1);
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    const row = await sealed(callId);
    expect(row.instance).toBe(f.stack.gateway.ctx.bus.origin);
    expect(await f.stack.gateway.ctx.db.selectFrom('recordings').select('id').where('sip_call_id', '=', callId).execute()).toHaveLength(1);
    const allGaps = row.gaps as { startMs: number; endMs: number; reason: string }[];
    const gaps = allGaps.filter((g) => g.reason === 'secure_capture');
    const dtmfGaps = allGaps.filter((g) => g.reason === 'dtmf');
    expect(gaps).toHaveLength(1);
    expect(gaps.length + dtmfGaps.length).toBe(allGaps.length);
    console.log(`secure-capture gap through the other instance: ${gaps[0]!.startMs}-${gaps[0]!.endMs} ms (${gaps[0]!.endMs - gaps[0]!.startMs} ms; pressed 1000 ms apart)`);
    expect(gaps[0]!.endMs - gaps[0]!.startMs).toBeGreaterThan(800);
    expect(gaps[0]!.endMs - gaps[0]!.startMs).toBeLessThan(1300);
    const pcm = await decryptFile(join(dir, row.file_name), row.id, row.kek_id, Buffer.from(row.wrapped_key!, 'base64'), new KeyRing([{ id: KEK.id, key: Buffer.from(KEK.key, 'base64') }]));
    const at = (ms: number) => Math.floor((ms * 32000) / 1000) & ~3;
    expect(pcm.subarray(at(gaps[0]!.startMs), at(gaps[0]!.endMs)).every((b) => b === 0)).toBe(true);
    const left = channel(pcm, 0);
    const ev = dtmfEvidence(left);
    console.log(`strongest DTMF evidence in the customer channel: ${ev.worst.toFixed(3)} at ${(ev.at / 8).toFixed(0)} ms (a digit gives ~0.45)`);
    expect(ev.worst).toBeLessThan(0.1);
    expect(live.dtmfEvents[0]).toBeGreaterThan(0);
    expect(live.dtmfMasked[0]).toBeGreaterThan(7 * 0.1 * 8000);
    // the masked spans are in the metadata (reason dtmf), in order, and the customer channel is silent over each
    const dtmfMs = dtmfGaps.reduce((n, g) => n + g.endMs - g.startMs, 0);
    console.log(`dtmf gaps: ${dtmfGaps.length}, ${dtmfMs} ms in all (masked ${(live.dtmfMasked[0] / 8).toFixed(0)} ms customer + ${(live.dtmfMasked[1] / 8).toFixed(0)} ms operator); ${JSON.stringify(dtmfGaps.map((g) => [g.startMs, g.endMs]))}`);
    expect(dtmfGaps.length).toBeGreaterThanOrEqual(2); // the in-band digits, the RFC 4733 ones
    expect(allGaps.map((g) => g.startMs)).toEqual([...allGaps.map((g) => g.startMs)].sort((a, b) => a - b));
    // the seven in-band digits (120 ms each) alone are more than 700 ms of gaps
    expect(dtmfMs).toBeGreaterThan(7 * 100);
    for (const g of dtmfGaps) {
      const span = left.subarray(Math.ceil(g.startMs * 8), Math.floor(g.endMs * 8));
      expect(span.length).toBeGreaterThan(0);
      expect(span.every((v) => v === 0), `dtmf gap ${g.startMs}-${g.endMs} ms not silent`).toBe(true);
    }
    // the 440 Hz is kept: most 100 ms blocks of the customer channel hold it, before the gap and after it
    const share = (a: number, b: number) => {
      const xs: number[] = [];
      for (let i = a; i + 800 <= b; i += 800) xs.push(toneShare(left.subarray(i, i + 800), CUSTOMER_HZ));
      return xs.filter((v) => v > 0.5).length / Math.max(1, xs.length);
    };
    const g0 = (gaps[0]!.startMs * 8) | 0;
    const g1 = (gaps[0]!.endMs * 8) | 0;
    const before = share(0, g0);
    const after = share(g1, left.length);
    console.log(`customer 440 Hz kept: ${(before * 100).toFixed(0)}% of 100 ms blocks before the gap, ${(after * 100).toFixed(0)}% after`);
    expect(before).toBeGreaterThan(0.6);
    expect(after).toBeGreaterThan(0.6);
    agent.close();
  });

  it('on demand through gateway 1 of a call nobody records: gateway 1 records it, and the call ending through gateway 0 seals it', async () => {
    const db = f.stack.gateway.ctx.db;
    await db.updateTable('campaigns').set({ recording_mode: 'on_demand' }).where('id', '=', f.campaignId).execute();
    const agent = await f.agent('opA');
    await agent.setState('ready');
    const callId = await answeredCall(agent);
    const startedHere = f.stack.gateway.ctx.recorder!.stats.started;
    expect(await other('/recordings/record', await f.token('opA'), { callId })).toEqual({ status: 200, body: { callId, recording: true } });
    const row = await db.selectFrom('recordings').selectAll().where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
    expect(row.status).toBe('recording');
    expect(row.instance).not.toBe(f.stack.gateway.ctx.bus.origin);
    expect(f.stack.gateway.ctx.recorder!.stats.started).toBe(startedHere);
    await new Promise((r) => setTimeout(r, 1500));
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    const done = await sealed(callId);
    expect(done.duration_ms).toBeGreaterThan(1000);
    expect(readFileSync(join(dir, done.file_name)).length).toBe(Number(done.size_bytes));
    agent.close();
  });
});
