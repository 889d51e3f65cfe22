// Recordings across a blind transfer, on the real stack (issue 16 item 1, "including transfers"):
// baresip (the PSTN customer, a 440 Hz tone, a known customer of the campaign) calls a DID of a
// campaign that records every call; operator A's SIP.js page (1000 Hz) answers, A transfers the
// call blind to operator B (REFER via Kamailio to the customer's side, which INVITEs B: a new
// Call-ID that reached B without routing); B's page (1300 Hz) answers. What a call centre needs:
// the whole conversation is recorded, one recording per leg, each indexed with its own call row
// (B's row is the transferred call's: same campaign and customer, so the customer's history lists
// both); the customer's tone is in the left channel of both, the talking operator's in the right;
// nothing is left `recording` after the call; secure capture and DTMF masking hold after the
// transfer (B's leg). Figures printed: tone shares per channel per leg, the gaps.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channel, toneShare } from '../../../server/recordings/audio';
import { decryptFile, KeyRing } from '../../../server/recordings/format';
import { Baresip } from './baresip';
import { telephonyFixture, type TelephonyFixture } from './fixture';
import { SoftphonePage } from './softphone-page';

let f: TelephonyFixture;
let pstn: Baresip;
let phoneA: SoftphonePage;
let phoneB: SoftphonePage;
const CUSTOMER_HZ = 440;
const A_HZ = 1000;
const B_HZ = 1300;
const CUSTOMER_NUMBER = `+8190${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
const KEK = { id: 'k1', key: randomBytes(32).toString('base64') };
const dir = mkdtempSync(join(tmpdir(), 'koe-rec-transfer-'));
const customerId = randomUUID();

beforeAll(async () => {
  f = await telephonyFixture({ recordings: { dir, keks: [KEK] } });
  const db = f.stack.gateway.ctx.db;
  await db.updateTable('campaigns').set({ recording_mode: 'all', recording_retention_days: 90 }).where('id', '=', f.campaignId).execute();
  const now = new Date();
  await db
    .insertInto('customers')
    .values({ id: customerId, org_id: f.orgId, campaign_id: f.campaignId, name_kanji: '転送太郎', name_kana: 'テンソウタロウ', name_kanji_key: 'てんそうたろう', name_kana_key: 'てんそうたろう', email: null, fields: '{}', created_at: now, updated_at: now })
    .execute();
  await db.insertInto('customer_phones').values({ customer_id: customerId, e164: CUSTOMER_NUMBER, campaign_id: f.campaignId, org_id: f.orgId }).execute();
  [phoneA, phoneB] = await Promise.all([SoftphonePage.open(), SoftphonePage.open()]);
  pstn = await Baresip.start({ trunk: f.stack.sip.trunk, proxy: f.stack.sip.udp, number: CUSTOMER_NUMBER, toneHz: CUSTOMER_HZ });
});
afterAll(async () => {
  await pstn?.stop();
  await phoneA?.close();
  await phoneB?.close();
  await f?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Row = { id: string; status: string; call_id: string; sip_call_id: string; operator_id: string; file_name: string; kek_id: string; wrapped_key: string | null; gaps: unknown; duration_ms: number | null };

/** Per 100 ms block (whole periods of every tone here) the share of `hz`: the median, and the fraction of blocks above 0.5. */
function blocks(x: Int16Array, hz: number): { median: number; above: number; n: number } {
  const xs: number[] = [];
  for (let i = 0; i + 800 <= x.length; i += 800) xs.push(toneShare(x.subarray(i, i + 800), hz));
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)] ?? 0, above: xs.filter((v) => v > 0.5).length / Math.max(1, xs.length), n: xs.length };
}

async function pcmOf(row: Row): Promise<Buffer> {
  return decryptFile(join(dir, row.file_name), row.id, row.kek_id, Buffer.from(row.wrapped_key!, 'base64'), new KeyRing([{ id: KEK.id, key: Buffer.from(KEK.key, 'base64') }]));
}

describe('recordings across a blind transfer (real Kamailio, rtpengine, baresip, two Chromium operators)', () => {
  it('A\'s part and B\'s part are each recorded, indexed with their call rows (the customer\'s history lists both); customer left, the talking operator right; secure capture and DTMF masking hold after the transfer', async () => {
    const db = f.stack.gateway.ctx.db;
    const recorder = f.stack.gateway.ctx.recorder!;
    const [ca, cb] = await Promise.all([f.credentials('opA'), f.credentials('opB')]);
    await phoneA.page.evaluate((cfg) => (window as any).startPhone(cfg), { aor: ca.aor, wsUrl: f.stack.sip.wsUrl, username: ca.authorizationUsername, password: ca.authorizationPassword, toneHz: A_HZ, expectHz: CUSTOMER_HZ });
    await phoneB.page.evaluate((cfg) => (window as any).startPhone(cfg), { aor: cb.aor, wsUrl: f.stack.sip.wsUrl, username: cb.authorizationUsername, password: cb.authorizationPassword, toneHz: B_HZ, expectHz: CUSTOMER_HZ });
    const agentA = await f.agent('opA');
    const agentB = await f.agent('opB');
    await agentA.setState('ready');
    await agentB.setState('not_ready'); // B takes no DID call: reached by the transfer only
    pstn.dial(`sip:${f.did}@${f.stack.sip.domain}`);
    await phoneA.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 }).catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    const first = await db.selectFrom('calls').selectAll().where('operator_id', '=', f.users.opA.id).orderBy('ringing_at', 'desc').executeTakeFirstOrThrow();
    expect(first.customer_id).toBe(customerId);
    const callA = first.sip_call_id;
    await agentA.op({ kind: 'ringing', callId: callA });
    await agentA.op({ kind: 'answered', callId: callA });
    for (let i = 0; i < 50 && recorder.live().length === 0; i++) await sleep(100);
    expect(recorder.live(), `recorder stats ${JSON.stringify(recorder.stats)}\n${f.logs()}`).toHaveLength(1);
    await sleep(3000); // A talks with the customer

    // A transfers blind to B (the app reports the transfer's phases)
    await agentA.op({ kind: 'transfer', callId: callA, phase: 'started' });
    const referred = await phoneA.page.evaluate((to) => (window as any).refer(to), `sip:${f.users.opB.sipUser}@${f.stack.sip.domain}`);
    expect(referred, f.logs()).toBe(202);
    await phoneB.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 }).catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    const callB = await phoneB.page.evaluate(() => (window as any).koe.callId as string);
    expect(callB).not.toBe(callA);
    // the transferee is connected (its final NOTIFY): A's phone reports the transfer done and leaves (BYE), as the app does
    await agentA.op({ kind: 'transfer', callId: callA, phase: 'completed' });
    await phoneA.page.evaluate(() => (window as any).koe.session.bye());
    await phoneA.page.waitForFunction(() => (window as any).koe.state === 'Terminated', undefined, { timeout: 10_000 });
    // B's phone facts: a call that reached B without routing, answered
    await agentB.op({ kind: 'ringing', callId: callB });
    expect((await agentB.op({ kind: 'answered', callId: callB })).view.agent).toBe('on_call');
    const rowB = await db.selectFrom('calls').selectAll().where('operator_id', '=', f.users.opB.id).where('sip_call_id', '=', callB).executeTakeFirst();
    expect(rowB, 'the transferred leg has B\'s call row').toBeDefined();
    expect({ campaign: rowB!.campaign_id, customer: rowB!.customer_id, caller: rowB!.caller_e164, status: rowB!.status }).toEqual({
      campaign: f.campaignId, customer: customerId, caller: CUSTOMER_NUMBER, status: 'answered',
    });
    for (let i = 0; i < 50 && !recorder.live().some((l) => l.callId === callB); i++) await sleep(100);
    expect(recorder.live().map((l) => l.callId), `recorder stats ${JSON.stringify(recorder.stats)}\n${f.logs()}`).toEqual([callB]); // A's leg sealed, B's recording

    // after the transfer: B pauses for the card number (secure capture), the customer keys digits (RFC 4733)
    await sleep(1500);
    const tokenB = await f.token('opB');
    expect((await f.api('POST', '/recordings/secure-capture', tokenB, { callId: callB, paused: true })).body).toEqual({ callId: callB, paused: true, recording: true });
    await sleep(1000);
    expect((await f.api('POST', '/recordings/secure-capture', tokenB, { callId: callB, paused: false })).body).toEqual({ callId: callB, paused: false, recording: true });
    // A, out of the call now, cannot pause B's recording: the answer for no call
    const tokenA = await f.token('opA');
    const stranger = await f.api('POST', '/recordings/secure-capture', tokenA, { callId: callB, paused: true });
    const none = await f.api('POST', '/recordings/secure-capture', tokenA, { callId: 'no-such-call', paused: true });
    expect(`${stranger.status} ${stranger.text}`).toBe(`${none.status} ${none.text}`);
    await sleep(1000);
    pstn.command('sndcode', '4111');
    await sleep(2500);
    const liveB = recorder.live().find((l) => l.callId === callB)!;
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');

    // sealed: nothing left recording, one recording per leg, each on its own call row
    let rows: Row[] = [];
    for (let i = 0; i < 60; i++) {
      rows = (await db.selectFrom('recordings').selectAll().where('sip_call_id', 'in', [callA, callB]).orderBy('started_at').execute()) as unknown as Row[];
      if (rows.length === 2 && rows.every((r) => r.status !== 'recording')) break;
      await sleep(100);
    }
    expect(rows.map((r) => [r.sip_call_id, r.status])).toEqual([[callA, 'complete'], [callB, 'complete']]);
    const span = await db.selectFrom('recordings').select(['sip_call_id', 'started_at', 'ended_at']).where('sip_call_id', 'in', [callA, callB]).execute();
    const t = (sip: string, k: 'started_at' | 'ended_at') => new Date(span.find((x) => x.sip_call_id === sip)![k] as unknown as string).getTime();
    console.log(`A's recording sealed -> B's recording started: ${t(callB, 'started_at') - t(callA, 'ended_at')} ms (the customer's side re-INVITing, B answering)`);
    expect(recorder.live()).toEqual([]);
    const callRows = await db.selectFrom('calls').select(['id', 'sip_call_id', 'operator_id']).where('sip_call_id', 'in', [callA, callB]).execute();
    const rowOf = (sip: string) => callRows.find((c) => c.sip_call_id === sip)!;
    expect(rows.map((r) => [r.call_id, r.operator_id])).toEqual([[rowOf(callA).id, f.users.opA.id], [rowOf(callB).id, f.users.opB.id]]);
    // the customer card's call history lists both (as the admin sees it)
    const listed = await f.api('GET', `/recordings?customerId=${customerId}`, await f.token('admin'));
    expect(listed.status, listed.text).toBe(200);
    expect((listed.body.recordings as { id: string; callId: string }[]).map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());

    // the audio: customer left in both legs, A right in A's, B right in B's
    const [pa, pb] = await Promise.all(rows.map(pcmOf));
    const figures: Record<string, unknown> = {};
    for (const [leg, pcm, hz, otherHz] of [['A', pa!, A_HZ, B_HZ], ['B', pb!, B_HZ, A_HZ]] as const) {
      // past set-up, before the end; B's leg: from after the secure-capture gap on (the gap is silent by design)
      const gaps = (rows[leg === 'A' ? 0 : 1]!.gaps ?? []) as { startMs: number; endMs: number; reason: string }[];
      const skipMs = leg === 'B' ? Math.max(300, ...gaps.filter((g) => g.reason === 'secure_capture').map((g) => g.endMs + 100)) : 300;
      const mid = pcm.subarray(Math.floor((skipMs * 32) / 4) * 4, Math.floor((pcm.length * 0.95) / 4) * 4);
      const left = channel(mid, 0);
      const right = channel(mid, 1);
      const l = blocks(left, CUSTOMER_HZ);
      const r = blocks(right, hz);
      figures[leg] = {
        seconds: (pcm.length / 32000).toFixed(2), leftCustomerMedian: l.median.toFixed(3), leftCustomerBlocks: l.above.toFixed(2), rightOperatorMedian: r.median.toFixed(3), rightOperatorBlocks: r.above.toFixed(2),
        leftOperatorShare: toneShare(left, hz).toFixed(3), rightCustomerShare: toneShare(right, CUSTOMER_HZ).toFixed(3), rightOtherOperatorShare: toneShare(right, otherHz).toFixed(3),
      };
      expect(l.median, `${leg}: customer in the left channel`).toBeGreaterThan(0.9);
      expect(r.median, `${leg}: the talking operator in the right channel`).toBeGreaterThan(0.9);
      expect(toneShare(left, hz)).toBeLessThan(0.05);
      expect(toneShare(right, CUSTOMER_HZ)).toBeLessThan(0.05);
      expect(toneShare(right, otherHz), `${leg}: the other operator is not in this leg`).toBeLessThan(0.02);
    }
    console.log(`recording per leg: ${JSON.stringify(figures)}`);
    expect((pa!.length / 32000)).toBeGreaterThan(2.5);

    // B's gaps: the secure-capture one (both channels exactly silent) and the DTMF one(s) (the customer's channel silent)
    const gapsB = rows[1]!.gaps as { startMs: number; endMs: number; reason: string }[];
    console.log(`B's leg gaps: ${JSON.stringify(gapsB)}; DTMF masked ${liveB.dtmfMasked[0]} samples (${liveB.dtmfEvents[0]} telephone-event packets)`);
    const secure = gapsB.filter((g) => g.reason === 'secure_capture');
    const dtmf = gapsB.filter((g) => g.reason === 'dtmf');
    expect(secure).toHaveLength(1);
    expect(secure[0]!.endMs - secure[0]!.startMs).toBeGreaterThan(800);
    expect(secure[0]!.endMs - secure[0]!.startMs).toBeLessThan(1300);
    const at = (ms: number) => Math.floor((ms * 32000) / 1000) & ~3;
    expect(pb!.subarray(at(secure[0]!.startMs), at(secure[0]!.endMs)).every((b) => b === 0)).toBe(true);
    expect(liveB.dtmfEvents[0]).toBeGreaterThan(0);
    expect(dtmf.length).toBeGreaterThan(0);
    const leftB = channel(pb!, 0);
    for (const g of dtmf) {
      expect(g.startMs).toBeGreaterThan(secure[0]!.endMs); // keyed after the pause, as played
      const span = leftB.subarray(Math.ceil(g.startMs * 8), Math.floor(g.endMs * 8));
      expect(span.length).toBeGreaterThan(0);
      expect(span.every((v) => v === 0), `dtmf gap ${g.startMs}-${g.endMs} not silent`).toBe(true);
    }
    // A's leg has no gap (nothing was pressed or keyed there)
    expect(rows[0]!.gaps).toEqual([]);
    // the arrival is on the audit chain: B's Call-ID, from A's call
    const arrival = await db.selectFrom('audit_log').select(['target_id', 'detail']).where('action', '=', 'sip.transfer_arrival').where('target_id', '=', callB).execute();
    expect(arrival).toHaveLength(1);
    agentA.close();
    agentB.close();
  });
});
