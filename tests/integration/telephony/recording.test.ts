// Server-side recording on the real stack: baresip (the PSTN customer, a 440 Hz tone) calls a
// DID of a campaign that records every call; the operator's SIP.js page in Chromium (a 1000 Hz
// tone) answers. The gateway's recorder subscribes to both parties on rtpengine as plain RTP,
// writes the encrypted file as the audio arrives and seals it at the BYE. The recording's left
// channel must hold the customer's tone, the right channel the operator's, and the file on disk
// must show neither (no header, no tone, high entropy).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channel, toneShare } from '../../../server/recordings/audio';
import { decryptFile, HEADER_BYTES, KeyRing } from '../../../server/recordings/format';
import { Baresip } from './baresip';
import { telephonyFixture, type TelephonyFixture } from './fixture';
import { SoftphonePage } from './softphone-page';

let f: TelephonyFixture;
let pstn: Baresip;
let phone: SoftphonePage;
const CUSTOMER_HZ = 440;
const OPERATOR_HZ = 1000;
const KEK = { id: 'k1', key: randomBytes(32).toString('base64') };
const dir = mkdtempSync(join(tmpdir(), 'koe-rec-stack-'));

beforeAll(async () => {
  f = await telephonyFixture({ recordings: { dir, keks: [KEK] } });
  await f.stack.gateway.ctx.db.updateTable('campaigns').set({ recording_mode: 'all', recording_retention_days: 90 }).where('id', '=', f.campaignId).execute();
  phone = await SoftphonePage.open();
  pstn = await Baresip.start({ trunk: f.stack.sip.trunk, proxy: f.stack.sip.udp, number: '+819011112222', toneHz: CUSTOMER_HZ });
});
afterAll(async () => {
  await pstn?.stop();
  await phone?.close();
  await f?.close();
  rmSync(dir, { recursive: true, force: true });
});

const entropy = (b: Buffer) => {
  const c = new Array<number>(256).fill(0);
  for (const x of b) c[x]!++;
  return -c.filter(Boolean).reduce((h, n) => h + (n / b.length) * Math.log2(n / b.length), 0);
};
const dbfs = (s: Int16Array) => 20 * Math.log10(Math.sqrt(s.reduce((a, x) => a + x * x, 0) / Math.max(1, s.length)) / 32768 || 1e-9);

describe('server-side recording (rtpengine subscribe -> the gateway recorder)', () => {
  it('records the customer left and the operator right, encrypted from the first byte', async () => {
    const c = await f.credentials('opA');
    await phone.page.evaluate((cfg) => (window as any).startPhone(cfg), {
      aor: c.aor, wsUrl: f.stack.sip.wsUrl, username: c.authorizationUsername, password: c.authorizationPassword, toneHz: OPERATOR_HZ, expectHz: CUSTOMER_HZ,
    });
    const agent = await f.agent('opA');
    await agent.setState('ready');
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 }).catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    const recorder = f.stack.gateway.ctx.recorder!;
    const db = f.stack.gateway.ctx.db;
    // the operator's client reports the answer (the Koe app's phone facts): the model's `answered` starts the recorder
    const { sip_call_id: callId } = await db.selectFrom('calls').select('sip_call_id').where('operator_id', '=', f.users.opA.id).orderBy('ringing_at', 'desc').executeTakeFirstOrThrow();
    await agent.op({ kind: 'ringing', callId });
    const t0 = performance.now();
    expect((await agent.op({ kind: 'answered', callId })).view.agent).toBe('on_call');
    // the answer reaches the model, the recorder subscribes: wait for the row
    for (let i = 0; i < 50 && recorder.live().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(recorder.live(), `recorder stats ${JSON.stringify(recorder.stats)}\n${f.logs()}`).toHaveLength(1);
    console.log(`answered -> recorder subscribed: ${(performance.now() - t0).toFixed(0)} ms (polled every 100 ms)`);
    // secure capture: the operator pauses for the card number, then resumes
    const opToken = await f.token('opA');
    await new Promise((r) => setTimeout(r, 1200));
    const paused = await f.api('POST', '/recordings/secure-capture', opToken, { callId, paused: true });
    expect(paused.body).toEqual({ callId, paused: true, recording: true });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await f.api('POST', '/recordings/secure-capture', opToken, { callId, paused: false })).body).toEqual({ callId, paused: false, recording: true });
    // another operator cannot pause this call: the same answer as for no call
    const other = await f.api('POST', '/recordings/secure-capture', await f.token('opB'), { callId, paused: true });
    const none = await f.api('POST', '/recordings/secure-capture', await f.token('opB'), { callId: 'no-such-call', paused: true });
    expect(`${other.status} ${other.text}`).toBe(`${none.status} ${none.text}`);
    await new Promise((r) => setTimeout(r, 1500));
    const live = recorder.live()[0]!;
    console.log(`recorder packets while live: customer ${live.packets[0]}, operator ${live.packets[1]}; late (holes): ${live.late.join(', ')}`);
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    let row;
    for (let i = 0; i < 50; i++) {
      row = await db.selectFrom('recordings').selectAll().where('id', '=', live.recordingId).executeTakeFirst();
      if (row?.status === 'complete') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(row?.status).toBe('complete');
    expect(readdirSync(dir)).toEqual([row!.file_name]); // one file, no intermediate
    const file = readFileSync(join(dir, row!.file_name));
    expect(Number(row!.size_bytes)).toBe(file.length);
    for (const sig of ['RIFF', 'WAVE', 'fmt ']) expect(file.includes(Buffer.from(sig))).toBe(false);
    expect(entropy(file.subarray(HEADER_BYTES))).toBeGreaterThan(7.99);
    const body = file.subarray(HEADER_BYTES, HEADER_BYTES + (file.length - HEADER_BYTES) - ((file.length - HEADER_BYTES) % 4));
    expect(toneShare(channel(body, 0), CUSTOMER_HZ)).toBeLessThan(0.01);

    // the gap: in the metadata, and exact silence on both channels where it was pressed
    const gaps = row!.gaps as { startMs: number; endMs: number; reason: string }[];
    expect(gaps).toHaveLength(1);
    const gap = gaps[0]!;
    console.log(`secure-capture gap ${gap.startMs}-${gap.endMs} ms (${gap.endMs - gap.startMs} ms; pressed 1000 ms apart)`);
    expect(gap.reason).toBe('secure_capture');
    expect(gap.endMs - gap.startMs).toBeGreaterThan(800);
    expect(gap.endMs - gap.startMs).toBeLessThan(1300);
    const pcm = await decryptFile(join(dir, row!.file_name), row!.id, row!.kek_id, Buffer.from(row!.wrapped_key!, 'base64'), new KeyRing([{ id: KEK.id, key: Buffer.from(KEK.key, 'base64') }]));
    const seconds = pcm.length / 32000;
    const at = (ms: number) => Math.floor((ms * 32000) / 1000) & ~3;
    const hole = pcm.subarray(at(gap.startMs), at(gap.endMs));
    expect(hole.length).toBeGreaterThan(0);
    expect(hole.every((b) => b === 0)).toBe(true);
    // audio on both sides of it
    expect(toneShare(channel(pcm.subarray(at(gap.endMs + 200), at(gap.endMs + 1200)), 0), CUSTOMER_HZ)).toBeGreaterThan(0.5);
    expect(toneShare(channel(pcm.subarray(at(gap.startMs - 900), at(gap.startMs - 100)), 1), OPERATOR_HZ)).toBeGreaterThan(0.5);
    // the middle of the call (past set-up and before the end)
    const mid = pcm.subarray(at(gap.endMs + 100), Math.floor(pcm.length * 0.95) & ~3);
    const left = channel(mid, 0);
    const right = channel(mid, 1);
    // per 100 ms block (whole periods of both tones): the median share, robust to a short
    // dropout of the sender on a loaded machine; the blocks without the tone are printed
    const blocks = (x: Int16Array, hz: number) => {
      const out: number[] = [];
      for (let i = 0; i + 800 <= x.length; i += 800) out.push(toneShare(x.subarray(i, i + 800), hz));
      return out.sort((a, b) => a - b);
    };
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? 0;
    const lc = blocks(left, CUSTOMER_HZ);
    const ro = blocks(right, OPERATOR_HZ);
    console.log(`100 ms blocks: customer tone median share ${median(lc).toFixed(3)} (${lc.filter((v) => v < 0.5).length}/${lc.length} below 0.5), operator ${median(ro).toFixed(3)} (${ro.filter((v) => v < 0.5).length}/${ro.length} below 0.5)`);
    const figures = {
      seconds: seconds.toFixed(2),
      leftCustomerShare: toneShare(left, CUSTOMER_HZ).toFixed(3), leftOperatorShare: toneShare(left, OPERATOR_HZ).toFixed(3), leftDbfs: dbfs(left).toFixed(1),
      rightOperatorShare: toneShare(right, OPERATOR_HZ).toFixed(3), rightCustomerShare: toneShare(right, CUSTOMER_HZ).toFixed(3), rightDbfs: dbfs(right).toFixed(1),
    };
    console.log(`recording: ${JSON.stringify(figures)}`);
    expect(seconds).toBeGreaterThan(3.5);
    expect(median(lc)).toBeGreaterThan(0.9);
    expect(toneShare(left, OPERATOR_HZ)).toBeLessThan(0.05);
    expect(median(ro)).toBeGreaterThan(0.9);
    expect(toneShare(right, CUSTOMER_HZ)).toBeLessThan(0.05);
    expect(dbfs(left)).toBeGreaterThan(-40);
    expect(dbfs(right)).toBeGreaterThan(-40);
    agent.close();
  });

  it('on demand: nothing until the operator asks, then the rest of the call; another operator cannot start it', async () => {
    const db = f.stack.gateway.ctx.db;
    const recorder = f.stack.gateway.ctx.recorder!;
    await db.updateTable('campaigns').set({ recording_mode: 'on_demand' }).where('id', '=', f.campaignId).execute();
    const before = recorder.stats.started;
    const agent = await f.agent('opA');
    await agent.setState('ready');
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    const { sip_call_id: callId } = await db.selectFrom('calls').select('sip_call_id').where('operator_id', '=', f.users.opA.id).where('status', 'in', ['ringing']).orderBy('ringing_at', 'desc').executeTakeFirstOrThrow();
    await agent.op({ kind: 'ringing', callId });
    await agent.op({ kind: 'answered', callId });
    const other = await f.api('POST', '/recordings/record', await f.token('opB'), { callId });
    const none = await f.api('POST', '/recordings/record', await f.token('opB'), { callId: 'no-such-call' });
    expect(other.status).toBe(404);
    expect(`${other.status} ${other.text}`).toBe(`${none.status} ${none.text}`);
    const asked = await f.api('POST', '/recordings/record', await f.token('opA'), { callId });
    expect(asked.body).toEqual({ callId, recording: true });
    expect(recorder.stats.started).toBe(before + 1); // the answer alone started nothing; the request did
    await new Promise((r) => setTimeout(r, 1500));
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    let row;
    for (let i = 0; i < 50; i++) {
      row = await db.selectFrom('recordings').selectAll().where('sip_call_id', '=', callId).executeTakeFirst();
      if (row?.status === 'complete') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(row?.status).toBe('complete');
    expect(row!.duration_ms).toBeGreaterThan(1000);
    agent.close();
  });
});
