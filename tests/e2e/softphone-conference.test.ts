// The three-way call end to end (issue 18 item 6: consult, then join), with real audio: the
// operator A (Chromium, sine microphone 1000 Hz), the customer (baresip, 440 Hz, records what it
// hears), the colleague B (a second Chromium page, 1300 Hz). After Join, A's softphone mixes
// (there is no conference bridge): the customer must hear B (and A), B must hear the customer
// (and A), A both; A's mute silences A in both mixes only; when B hangs up, the customer call
// carries A's voice again (the plain microphone back on it) and A still hears the customer.
// Real parts only: dev host + the built renderer, gateway + Kamailio + rtpengine, baresip.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import { readWav } from '../support/tone';
import { channel, toneShare } from '../../server/recordings/audio';
import { decryptFile, KeyRing } from '../../server/recordings/format';
import { Baresip, type BaresipEvent } from '../integration/telephony/baresip';
import { seriousA11yViolations } from '../support/axe';
import { launchChromium } from '../support/devhost-harness';
import { finishWrapUp, operatorPage, remoteToneLevel, threeOperatorWorld, type OperatorPage } from './softphone-support';

const PASSWORD = 'Sakura-Koe-2026!';
const CUSTOMER_HZ = 440;
const A_HZ = 1000;
const B_HZ = 1300;
/** The second test's "customer": a Chromium page (op-c) whose page can measure what it hears. */
const C_HZ = 1700;
/** A's other microphone (chosen mid-conference in the second test): a different tone, so its arrival is heard (not 1150 Hz: with B's 1300 Hz its intermodulation product 2·1150−1300 lands on A's old 1000 Hz, measured at −65 dBFS). */
const A2_HZ = 2000;
const CALLER = '+819011114444';
/** A tone heard on a page (dBFS at its FFT bin); silence sits below -90. */
const HEARD = -50;
/** Not heard: 40 dB below a heard tone (about -21 dBFS here); the FFT's leakage from a loud neighbour tone reaches about -75. */
const SILENT = -60;
/** Server-side recording (issue 16) of the customer's call: its right channel is what the operator's side sent the customer, as rtpengine relayed it. */
const KEK = { id: 'k1', key: randomBytes(32).toString('base64') };
const recDir = mkdtempSync(path.join(tmpdir(), 'koe-conf-rec-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
let A: OperatorPage;
let B: OperatorPage;
let C: OperatorPage;
let did = '';
const users: Record<'a' | 'b' | 'c', { id: string; username: string }> = {} as never;

const ev = (type: string) => (e: BaresipEvent) => e.type === type;
function pstnEvent(from: number, match: (e: BaresipEvent) => boolean, timeoutMs = 10_000): Promise<BaresipEvent> {
  return pstn.eventAfter(from, match, { timeoutMs, pollMs: 10, context: () => logTail(stackLogs(stack).kamailio, 40) });
}

async function callIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="call"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.callId!));
}

/** Both tones' levels on a page's call audio (one call's element, or the first). */
async function levels(page: Page, callId?: string, customerHz = CUSTOMER_HZ, extra: number[] = []): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  for (const hz of [customerHz, A_HZ, B_HZ, ...extra]) out[hz] = (await remoteToneLevel(page, hz, callId)).target;
  return out;
}
const fmt = (l: Record<number, number>) => Object.entries(l).map(([hz, db]) => `${hz} Hz ${db.toFixed(1)}`).join(', ');

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const ports = [await freePort('tcp'), await freePort('tcp'), await freePort('tcp')];
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'softphone-conference-e2e-secret-0123456789-abcdef' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: ports.map((p) => `http://127.0.0.1:${p}`),
      recordings: { dir: recDir, keks: [KEK] },
    },
  });
  // Only A takes the DID's calls; B is reached by A's consultation.
  const world = await threeOperatorWorld(stack.gateway.ctx, {
    orgName: '三者', agents: { wrapUpSeconds: 600 }, campaignName: '三者通話窓口', disposition: '解決', didPrefix: '+8131236', assigned: ['a'], password: PASSWORD,
  });
  Object.assign(users, world.users);
  did = world.did;
  await stack.gateway.ctx.db.updateTable('campaigns').set({ recording_mode: 'all', recording_retention_days: 90 }).where('id', '=', world.campaignId).execute();
  browser = await launchChromium();
  A = await operatorPage(browser, stack, { username: users.a.username, password: PASSWORD, port: ports[0]!, toneHz: A_HZ });
  B = await operatorPage(browser, stack, { username: users.b.username, password: PASSWORD, port: ports[1]!, toneHz: B_HZ });
  C = await operatorPage(browser, stack, { username: users.c.username, password: PASSWORD, port: ports[2]!, toneHz: C_HZ });
  pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: CUSTOMER_HZ });
}, 120_000);

afterAll(async () => {
  await pstn?.stop().catch(() => undefined);
  await A?.close();
  await B?.close();
  await C?.close();
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  rmSync(recDir, { recursive: true, force: true });
});

/**
 * A's customer call is up (`customerCall`): A consults B, B answers, A joins by keyboard. Checks
 * on the operator's and the colleague's pages: before the join B hears A only; joined, B hears the
 * customer and A (not itself), A hears each party on its call; A's mute leaves the two parties
 * hearing each other. Returns when B has hung up and A's call with the customer is a plain call
 * again (A still hears the customer).
 */
async function consultJoinMuteLeave(customerCall: string, customerHz: number, hooks: { joined?: () => Promise<void>; muted?: () => Promise<void> } = {}): Promise<void> {
  await A.page.getByTestId('transfer-target').fill(users.b.username);
  await A.page.getByTestId('consult').click();
  await B.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
  await B.page.getByTestId('answer').click();
  await B.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
  await A.page.locator('[data-testid="call"][data-phase="established"]').nth(1).waitFor({ timeout: 10_000 });
  await A.page.locator(`[data-testid="call"][data-call-id="${customerCall}"][data-held="true"]`).waitFor();
  const consultCall = (await callIds(A.page)).find((id) => id !== customerCall)!;
  await sleep(800);
  const bBefore = await levels(B.page, undefined, customerHz);
  console.log(`consultation, before Join: B hears ${fmt(bBefore)} dBFS`);
  expect(bBefore[A_HZ]).toBeGreaterThan(HEARD);
  expect(bBefore[customerHz]).toBeLessThan(SILENT);

  // Join, by keyboard
  const joinAt = Date.now();
  await A.page.getByTestId('join-conference').focus();
  await A.page.keyboard.press('Enter');
  await A.page.getByTestId('end-conference').waitFor({ timeout: 10_000 });
  await A.page.locator(`[data-testid="call"][data-call-id="${customerCall}"][data-held="false"]`).waitFor();
  console.log(`Join: press -> both calls mixed ${Date.now() - joinAt} ms`);
  expect(await A.page.getByTestId('conference-badge').count()).toBe(2);
  // the focus went from Join to "hang up all", and the panel in conference passes axe
  expect(await A.page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('end-conference');
  expect(await seriousA11yViolations(A.page, '[data-testid="phone-panel"]')).toEqual([]);
  // the gateway's model: A on a call (what the lead's board shows)
  await A.page.locator('[data-testid="agent-state"][data-state="on_call"][data-confirmed="true"]').waitFor();
  await sleep(1500);
  const bJoined = await levels(B.page, undefined, customerHz);
  const aCustomer = await levels(A.page, customerCall, customerHz);
  const aConsult = await levels(A.page, consultCall, customerHz);
  console.log(`joined: B hears ${fmt(bJoined)}; A hears on the customer call ${fmt(aCustomer)}; on the consultation ${fmt(aConsult)} dBFS`);
  expect(bJoined[customerHz]).toBeGreaterThan(HEARD);
  expect(bJoined[A_HZ]).toBeGreaterThan(HEARD);
  expect(bJoined[B_HZ]).toBeLessThan(SILENT); // no echo of B's own voice
  expect(aCustomer[customerHz]).toBeGreaterThan(HEARD);
  expect(aConsult[B_HZ]).toBeGreaterThan(HEARD);
  await hooks.joined?.();

  // A mutes (on either call: both show it): A is gone from both mixes, the two parties still hear each other
  await A.page.locator(`[data-testid="call"][data-call-id="${customerCall}"] [data-testid="mute"]`).click();
  await A.page.locator(`[data-testid="call"][data-call-id="${consultCall}"][data-muted="true"]`).waitFor();
  await sleep(700);
  const bMuted = await levels(B.page, undefined, customerHz, [A2_HZ]);
  console.log(`A muted: B hears ${fmt(bMuted)} dBFS`);
  expect(bMuted[A_HZ]).toBeLessThan(SILENT);
  expect(bMuted[A2_HZ]).toBeLessThan(SILENT); // A's other microphone, if the test switched to it
  expect(bMuted[customerHz]).toBeGreaterThan(HEARD);
  await hooks.muted?.();
  await A.page.locator(`[data-testid="call"][data-call-id="${consultCall}"] [data-testid="mute"]`).click();
  await A.page.locator(`[data-testid="call"][data-call-id="${customerCall}"][data-muted="false"]`).waitFor();
  await sleep(1200);

  // B hangs up: A and the customer go on as a plain call
  await B.page.getByTestId('hangup').click();
  await A.page.waitForFunction(() => document.querySelectorAll('[data-testid="call"]').length === 1, undefined, { timeout: 10_000 });
  await A.page.getByTestId('end-conference').waitFor({ state: 'detached' });
  await sleep(2000);
  const aAfter = await levels(A.page, customerCall, customerHz);
  console.log(`B left: A hears ${fmt(aAfter)} dBFS`);
  expect(aAfter[customerHz]).toBeGreaterThan(HEARD);
  // B answered a colleague's direct call: no wrap-up of its own (the operator model)
  await B.page.locator('[data-testid="agent-state"][data-confirmed="true"]:not([data-state="on_call"]):not([data-state="ringing"])').waitFor({ timeout: 5000 });
}

describe('three-way call mixed in the softphone (dev host + Chromium x3 + Kamailio + rtpengine + baresip)', () => {
  it('PSTN customer (baresip) -> A, A consults B, Join: B hears the customer and A, A hears both, A\'s mute is A\'s only, B hangs up and A still hears the customer', async () => {
    const since = Date.now();
    const from = pstn.events.length;
    pstn.dial(`sip:${did}@${stack.sip.domain}`);
    await A.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await A.page.getByTestId('answer').click();
    await A.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await pstnEvent(from, ev('CALL_ESTABLISHED'));
    const [customerCall] = await callIds(A.page);
    await consultJoinMuteLeave(customerCall!, CUSTOMER_HZ);
    const byeFrom = pstn.events.length;
    await A.page.getByTestId('hangup').click();
    await pstnEvent(byeFrom, ev('CALL_CLOSED'));
    await sleep(300);
    // baresip 1.0's recording of what it hears ("-dec", sndfile) stops at the first re-INVITE
    // (the hold for the consultation) and no new file follows: what the customer hears after the
    // join is measured in the next test, with a Chromium page as the customer.
    for (const f of pstn.recordings().filter((f) => /dec/.test(path.basename(f)) && statSync(f).mtimeMs >= since - 50)) {
      const w = readWav(f);
      console.log(`baresip recording ${path.basename(f)}: ${(w.samples.length / w.rate).toFixed(2)} s, last written ${Math.round(statSync(f).mtimeMs - since)} ms after the call started`);
    }
    // What the operator's side sent the PSTN customer, as rtpengine relayed it: the call's
    // server-side recording, right channel (8 kHz stereo 16-bit), in 500 ms windows.
    const db = stack.gateway.ctx.db;
    let row;
    for (let i = 0; i < 50; i++) {
      row = await db.selectFrom('recordings').selectAll().where('operator_id', '=', users.a.id).orderBy('started_at', 'desc').executeTakeFirst();
      if (row?.status === 'complete') break;
      await sleep(100);
    }
    expect(row?.status).toBe('complete');
    const pcm = await decryptFile(path.join(recDir, row!.file_name), row!.id, row!.kek_id, Buffer.from(row!.wrapped_key!, 'base64'), new KeyRing([{ id: KEK.id, key: Buffer.from(KEK.key, 'base64') }]));
    const sent = channel(pcm, 1);
    const win = 4000;
    const shares = (hz: number) => Array.from({ length: Math.floor(sent.length / win) }, (_, i) => toneShare(sent.subarray(i * win, (i + 1) * win), hz));
    const a = shares(A_HZ);
    const b = shares(B_HZ);
    console.log(`sent to the customer (recording, ${(sent.length / 8000).toFixed(1)} s), per 500 ms A/B share: ${a.map((x, i) => `${x.toFixed(2)}/${b[i]!.toFixed(2)}`).join(' ')}`);
    // joined: the colleague's voice went to the customer (it reaches that call only through A's mix)
    expect(b.filter((x) => x > 0.2).length).toBeGreaterThanOrEqual(4);
    // muted: the colleague without the operator
    expect(a.some((x, i) => x < 0.02 && b[i]! > 0.3)).toBe(true);
    // the end of the call (after B left): the operator, no colleague
    const tail = a.slice(-4, -1).map((x, i) => [x, b.slice(-4, -1)[i]!] as const);
    expect(tail.every(([x, y]) => x > 0.3 && y < 0.02)).toBe(true);
    await finishWrapUp(A.page);
  });

  it('customer on a second browser (C calls A), A consults B, Join: the customer hears the colleague and A; A switches microphones mid-conference (both parties hear the new one); muted, the colleague only; after B hangs up, A again', async () => {
    // C (the "customer" here) calls A directly: a call that reaches A without routing rings too
    await C.page.getByTestId('dial-number').fill(users.a.username);
    await C.page.getByTestId('dial').click();
    await A.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await A.page.getByTestId('answer').click();
    await A.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await C.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    const [customerCall] = await callIds(A.page);
    // A's "other microphone": a device chosen by id opens a sine of A2_HZ (the page's fake
    // microphone otherwise ignores the device)
    await A.page.evaluate((hz) => {
      const md = navigator.mediaDevices;
      const before = md.getUserMedia.bind(md);
      md.getUserMedia = async (c?: MediaStreamConstraints) => {
        const audio = c?.audio as MediaTrackConstraints | boolean | undefined;
        if (!audio || typeof audio === 'boolean' || !audio.deviceId) return before(c);
        const ctx = new AudioContext();
        await ctx.resume();
        const osc = ctx.createOscillator();
        osc.frequency.value = hz;
        const g = ctx.createGain();
        g.gain.value = 0.5;
        const dest = ctx.createMediaStreamDestination();
        osc.connect(g).connect(dest);
        osc.start();
        return dest.stream;
      };
    }, A2_HZ);
    const measured: Record<string, Record<number, number>> = {};
    await consultJoinMuteLeave(customerCall!, C_HZ, {
      joined: async () => {
        measured.joined = await levels(C.page, undefined, C_HZ);
        console.log(`joined: the customer (C) hears ${fmt(measured.joined)} dBFS`);
        // A switches the microphone mid-conference (the workstation's audio devices)
        await A.page.locator('.ws-devices > summary').click();
        const device = await A.page.locator('#dev-in option').evaluateAll((os) => (os as HTMLOptionElement[]).map((o) => o.value).find((v) => v !== ''));
        expect(device, 'a microphone to switch to (Chromium fake devices)').toBeTruthy();
        await A.page.locator('#dev-in').selectOption(device!);
        await sleep(1500);
        measured.switchedC = await levels(C.page, undefined, C_HZ, [A2_HZ]);
        measured.switchedB = await levels(B.page, undefined, C_HZ, [A2_HZ]);
        console.log(`A switched microphones: the customer (C) hears ${fmt(measured.switchedC)}; B hears ${fmt(measured.switchedB)} dBFS`);
      },
      muted: async () => {
        measured.muted = await levels(C.page, undefined, C_HZ, [A2_HZ]);
        console.log(`A muted: the customer (C) hears ${fmt(measured.muted)} dBFS`);
      },
    });
    measured.after = await levels(C.page, undefined, C_HZ, [A2_HZ]);
    console.log(`B left: the customer (C) hears ${fmt(measured.after)} dBFS`);
    const { joined, switchedC, switchedB, muted, after } = measured as Record<string, Record<number, number>>;
    expect(joined![B_HZ]).toBeGreaterThan(HEARD); // the colleague, through A's mix
    expect(joined![A_HZ]).toBeGreaterThan(HEARD);
    expect(joined![C_HZ]).toBeLessThan(SILENT); // not its own voice back
    // the new microphone in both mixes, the old one gone; the parties still hear each other
    expect(switchedC![A2_HZ]).toBeGreaterThan(HEARD);
    expect(switchedC![A_HZ]).toBeLessThan(SILENT);
    expect(switchedC![B_HZ]).toBeGreaterThan(HEARD);
    expect(switchedB![A2_HZ]).toBeGreaterThan(HEARD);
    expect(switchedB![A_HZ]).toBeLessThan(SILENT);
    expect(switchedB![C_HZ]).toBeGreaterThan(HEARD);
    // A muted (the new microphone): the colleague only
    expect(muted![B_HZ]).toBeGreaterThan(HEARD);
    expect(muted![A2_HZ]).toBeLessThan(SILENT);
    // B left: the plain (new) microphone is back on the call, no colleague
    expect(after![A2_HZ]).toBeGreaterThan(HEARD);
    expect(after![B_HZ]).toBeLessThan(SILENT);
    await A.page.getByTestId('hangup').click();
    await C.page.waitForFunction(() => document.querySelectorAll('[data-testid="call"]').length === 0, undefined, { timeout: 10_000 });
    await finishWrapUpIfAny(A.page);
    await finishWrapUpIfAny(C.page);
  });
});

/** Once the gateway's view has settled after a call (no call live), finishes a wrap-up if it opened one. */
async function finishWrapUpIfAny(page: Page): Promise<void> {
  await page.locator('[data-testid="agent-state"][data-confirmed="true"]:not([data-state="on_call"]):not([data-state="ringing"]):not([data-state="connecting"])').waitFor({ timeout: 5000 });
  if ((await page.getByTestId('agent-state').getAttribute('data-state')) === 'wrap_up') await finishWrapUp(page);
}
