// The softphone end to end, the rest of issue 6: outbound dial with hang-up from the operator's
// side and mute proven in the customer's audio; blind and attended transfer from operator A to
// operator B (REFER; attended = REFER with Replaces) with two-way audio customer <-> B; recovery
// after Kamailio drops the SIP WebSockets. Real parts only: dev host + the built renderer in
// Chromium, gateway + Kamailio + rtpengine (deploy/stack.ts), baresip as the PSTN customer.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import { readWav, toneShare } from '../support/tone';
import { Baresip, type BaresipEvent } from '../integration/telephony/baresip';
import { launchChromium } from '../support/devhost-harness';
import { finishWrapUp, median, operatorPage, remoteToneLevel, threeOperatorWorld, toneTimeline, type OperatorPage } from './softphone-support';

const PASSWORD = 'Sakura-Koe-2026!';
const CUSTOMER_HZ = 440;
const A_HZ = 1000;
const B_HZ = 1300;
const C_HZ = 1700;
const CALLER = '+819011113333';
/** The caller ID of the campaign A calls out for (issue 18 item 6): the number the customer sees. */
const CAMPAIGN_CALLER_ID = '+81312340000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
let A: OperatorPage;
let B: OperatorPage;
let C: OperatorPage;
let did = '';
const users: Record<'a' | 'b' | 'c', { id: string; username: string }> = {} as never;

/** The next baresip event matching, at or after event index `from`. */
function pstnEvent(from: number, match: (e: BaresipEvent) => boolean, timeoutMs = 10_000): Promise<BaresipEvent> {
  return pstn.eventAfter(from, match, { timeoutMs, pollMs: 10, context: () => logTail(stackLogs(stack).kamailio, 40) });
}
const ev = (type: string) => (e: BaresipEvent) => e.type === type;

/**
 * Recordings of what the customer heard ("-dec") written after `since` (ms), last written last.
 * By modification time: sndfile names files by the second, so a call starting in the same second
 * as the previous one rewrites that file.
 */
function heardSince(since: number): string[] {
  return pstn
    .recordings()
    .filter((f) => /dec/.test(path.basename(f)))
    .map((f) => ({ f, t: statSync(f).mtimeMs }))
    .filter((x) => x.t >= since - 50)
    .sort((a, b) => a.t - b.t)
    .map((x) => x.f);
}

/** Once the gateway's view has settled after a call (no call live), finishes a wrap-up if it opened one. */
async function finishWrapUpIfAny(page: Page): Promise<void> {
  await page.locator('[data-testid="agent-state"][data-confirmed="true"]:not([data-state="on_call"]):not([data-state="ringing"]):not([data-state="connecting"])').waitFor({ timeout: 5000 });
  if ((await page.getByTestId('agent-state').getAttribute('data-state')) === 'wrap_up') await finishWrapUp(page);
}

async function liveCalls(page: Page): Promise<{ id: string; phase: string }[]> {
  return page.locator('[data-testid="call"]').evaluateAll((els) => els.map((e) => ({ id: (e as HTMLElement).dataset.callId!, phase: (e as HTMLElement).dataset.phase! })));
}

/** Kamailio's RPC over its ctl socket (kamcmd, Debian package kamailio). */
async function kamcmd(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('/usr/sbin/kamcmd', ['-s', `unix:${stack.runDir}/kamailio_ctl`, ...args]);
  return stdout;
}

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const ports = [await freePort('tcp'), await freePort('tcp'), await freePort('tcp')];
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'softphone-calls-e2e-secret-0123456789-abcdef' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: ports.map((p) => `http://127.0.0.1:${p}`),
    },
  });
  // Only A takes the DID's calls; B (READY, no campaign) is reached by transfer only.
  const world = await threeOperatorWorld(stack.gateway.ctx, {
    orgName: '転送', agents: { wrapUpSeconds: 600 }, campaignName: '転送窓口', disposition: '転送', didPrefix: '+8131235', assigned: ['a'], password: PASSWORD,
  });
  Object.assign(users, world.users);
  did = world.did;
  await stack.gateway.ctx.db.updateTable('campaigns').set({ outbound_caller_id: CAMPAIGN_CALLER_ID }).where('id', '=', world.campaignId).execute();

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
});

/** baresip -> DID -> A rings -> A answers; both sides established. */
async function customerCallsA(): Promise<void> {
  const from = pstn.events.length;
  pstn.dial(`sip:${did}@${stack.sip.domain}`);
  await A.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
  await A.page.getByTestId('answer').click();
  await A.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
  await pstnEvent(from, ev('CALL_ESTABLISHED'));
}

describe('softphone calls (dev host + Chromium + Kamailio + rtpengine + baresip)', () => {
  it('dials out through the dial pad with the campaign\'s caller ID, the customer answers, audio both ways, mute silences the operator at the customer (> 40 dB), the operator hangs up', async () => {
    const since = Date.now();
    const from = pstn.events.length;
    // A's one campaign is chosen for them; the form shows the number the customer will see
    await A.page.getByTestId('dial-caller-id-number').waitFor();
    expect(await A.page.getByTestId('dial-caller-id-number').textContent()).toBe('03-1234-0000');
    for (const key of '09011113333') await A.page.getByTestId(`pad-${key}`).click();
    expect(await A.page.getByTestId('dial-number').inputValue()).toBe('09011113333');
    await A.page.getByTestId('dial').click();
    // the customer's phone sees the campaign's number as the caller (From, set by Kamailio from the gateway's answer)
    const incoming = await pstnEvent(from, ev('CALL_INCOMING'));
    expect(incoming.peeruri).toMatch(new RegExp(`^sip:\\${CAMPAIGN_CALLER_ID}@`));
    pstn.command('accept');
    await A.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await pstnEvent(from, ev('CALL_ESTABLISHED'));
    await sleep(800);
    const heard = await remoteToneLevel(A.page, CUSTOMER_HZ);
    console.log(`outbound: operator hears ${CUSTOMER_HZ} Hz at ${heard.target.toFixed(1)} dBFS (off-tone ${heard.off.toFixed(1)})`);
    expect(heard.target).toBeGreaterThan(-50);
    expect(heard.target - heard.off).toBeGreaterThan(20);

    await A.page.getByTestId('mute').click();
    await A.page.locator('[data-testid="call"][data-muted="true"]').waitFor();
    await sleep(1500);
    await A.page.getByTestId('mute').click();
    await A.page.locator('[data-testid="call"][data-muted="false"]').waitFor();
    await sleep(1200);

    const hangupAt = Date.now();
    await A.page.getByTestId('hangup').click();
    await pstnEvent(from, ev('CALL_CLOSED'));
    console.log(`operator hang-up click -> baresip CALL_CLOSED (BYE) ${Date.now() - hangupAt} ms`);
    // no live call left; an answered outbound call gets a wrap-up like an inbound one (the operator model)
    await finishWrapUp(A.page);
    await A.page.getByTestId('dial-number').waitFor();

    // The customer's recording: the operator's tone, a silent stretch while muted, the tone again.
    await sleep(300);
    const files = heardSince(since);
    expect(files.length).toBe(1);
    const levels = toneTimeline(files[0]!, A_HZ);
    const loud = median(levels.filter((l) => l > -40));
    const first = levels.findIndex((l) => l > loud - 6);
    // the longest run after the first loud window that is 40 dB below the unmuted level
    let best = { start: -1, len: 0 };
    for (let i = first, start = -1; i <= levels.length; i++) {
      const quiet = i < levels.length && levels[i]! < loud - 40;
      if (quiet && start < 0) start = i;
      if (!quiet && start >= 0) {
        if (i - start > best.len) best = { start, len: i - start };
        start = -1;
      }
    }
    const mutedLevel = median(levels.slice(best.start, best.start + best.len));
    const after = levels.slice(best.start + best.len, best.start + best.len + 8);
    console.log(`mute at the customer: unmuted ${loud.toFixed(1)} dBFS, muted ${mutedLevel.toFixed(1)} dBFS for ${best.len * 100} ms (drop ${(loud - mutedLevel).toFixed(1)} dB), after unmute ${median(after).toFixed(1)} dBFS`);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(best.len).toBeGreaterThanOrEqual(10); // muted ~1.5 s -> at least 1 s of silence
    expect(best.len).toBeLessThanOrEqual(25);
    expect(loud - mutedLevel).toBeGreaterThan(40);
    expect(median(after)).toBeGreaterThan(loud - 6); // unmuted: the tone is back
  });

  it('blind transfer: customer -> A, A transfers to B (REFER), B rings and answers, customer <-> B audio both ways, A is out; B hangs up', async () => {
    await customerCallsA();
    const since = Date.now();
    const from = pstn.events.length;
    await A.page.getByTestId('transfer-target').fill(users.b.username);
    const t0 = Date.now();
    await A.page.getByTestId('blind-transfer').click();
    await B.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    const ringMs = Date.now() - t0;
    expect(await B.page.getByTestId('ringing-number').textContent()).toBe('090-1111-3333'); // CALLER in the national form
    expect(await B.page.getByTestId('ringing-number').getAttribute('title')).toBe(CALLER);
    // A keeps the customer until B answers (a target that cannot take the call leaves the
    // customer with A: operator-edges.test.ts); then A is out, in wrap-up of the customer call.
    expect(await liveCalls(A.page)).toHaveLength(1);
    const t1 = Date.now();
    await B.page.getByTestId('answer').click();
    await B.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await pstnEvent(from, ev('CALL_ESTABLISHED'));
    await A.page.getByTestId('wrapup').waitFor({ timeout: 10_000 });
    expect(await liveCalls(A.page)).toEqual([]);
    console.log(`blind transfer: click -> B rings ${ringMs} ms; B answer click -> customer established ${Date.now() - t1} ms`);
    await sleep(800);
    const heard = await remoteToneLevel(B.page, CUSTOMER_HZ);
    console.log(`blind transfer: B hears ${CUSTOMER_HZ} Hz at ${heard.target.toFixed(1)} dBFS (off-tone ${heard.off.toFixed(1)})`);
    expect(heard.target).toBeGreaterThan(-50);
    expect(heard.target - heard.off).toBeGreaterThan(20);

    const byeFrom = pstn.events.length;
    await B.page.getByTestId('hangup').click();
    await pstnEvent(byeFrom, ev('CALL_CLOSED'));
    await sleep(300);
    const files = heardSince(since);
    expect(files.length).toBeGreaterThan(0);
    const { rate, samples } = readWav(files.at(-1)!);
    const shareB = toneShare(samples.slice(Math.floor(samples.length / 4)), rate, B_HZ);
    const shareA = toneShare(samples.slice(Math.floor(samples.length / 4)), rate, A_HZ);
    console.log(`blind transfer: customer hears B's ${B_HZ} Hz share ${shareB.toFixed(2)} (A's ${A_HZ} Hz ${shareA.toFixed(2)})`);
    expect(shareB).toBeGreaterThan(0.2);
    expect(shareA).toBeLessThan(0.05);
    await finishWrapUp(A.page);
    // B took the customer over from a colleague (a direct call, not DID-routed): the gateway's
    // model gives such a call no wrap-up of its own (the transferring operator wraps it up)
    await finishWrapUpIfAny(B.page);
  });

  it('attended transfer: customer -> A, A consults B (second session), B answers, A completes (REFER with Replaces), customer <-> B with audio, A out', async () => {
    await customerCallsA();
    const since = Date.now();
    const from = pstn.events.length;
    await A.page.getByTestId('transfer-target').fill(users.b.username);
    await A.page.getByTestId('consult').click();
    await B.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await B.page.getByTestId('answer').click();
    await A.page.locator('[data-testid="call"][data-phase="established"]').nth(1).waitFor({ timeout: 10_000 });
    await B.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    const calls = await liveCalls(A.page);
    expect(calls).toHaveLength(2);
    await A.page.locator(`[data-testid="call"][data-call-id="${calls[0]!.id}"][data-held="true"]`).waitFor();
    await sleep(600);
    const consultHeard = await remoteToneLevel(B.page, A_HZ);
    console.log(`consultation: B hears A's ${A_HZ} Hz at ${consultHeard.target.toFixed(1)} dBFS (off-tone ${consultHeard.off.toFixed(1)})`);
    expect(consultHeard.target).toBeGreaterThan(-50);
    const bConsultId = (await liveCalls(B.page))[0]!.id;

    const t0 = Date.now();
    await A.page.getByTestId('complete-transfer').click();
    // B's consultation call is replaced by the customer's call, answered at once.
    await B.page.waitForFunction((old) => {
      const els = [...document.querySelectorAll('[data-testid="call"]')] as HTMLElement[];
      return els.length === 1 && els[0]!.dataset.callId !== old && els[0]!.dataset.phase === 'established';
    }, bConsultId, { timeout: 10_000 });
    await pstnEvent(from, ev('CALL_ESTABLISHED'));
    const replacedMs = Date.now() - t0;
    await A.page.waitForFunction(() => document.querySelectorAll('[data-testid="call"]').length === 0, undefined, { timeout: 10_000 });
    console.log(`attended transfer: complete click -> customer <-> B established ${replacedMs} ms; A out ${Date.now() - t0} ms`);
    // the replaced consultation call did not send B to wrap-up
    expect(await B.page.getByTestId('agent-state').getAttribute('data-state')).not.toBe('wrap_up');
    await sleep(800);
    const heard = await remoteToneLevel(B.page, CUSTOMER_HZ);
    console.log(`attended transfer: B hears ${CUSTOMER_HZ} Hz at ${heard.target.toFixed(1)} dBFS (off-tone ${heard.off.toFixed(1)})`);
    expect(heard.target).toBeGreaterThan(-50);
    expect(heard.target - heard.off).toBeGreaterThan(20);

    const byeFrom = pstn.events.length;
    await B.page.getByTestId('hangup').click();
    await pstnEvent(byeFrom, ev('CALL_CLOSED'));
    await sleep(300);
    const files = heardSince(since);
    expect(files.length).toBeGreaterThan(0);
    const { rate, samples } = readWav(files.at(-1)!);
    const shareB = toneShare(samples.slice(Math.floor(samples.length / 4)), rate, B_HZ);
    const shareA = toneShare(samples.slice(Math.floor(samples.length / 4)), rate, A_HZ);
    console.log(`attended transfer: customer hears B's ${B_HZ} Hz share ${shareB.toFixed(2)} (A's ${A_HZ} Hz ${shareA.toFixed(2)})`);
    expect(shareB).toBeGreaterThan(0.2);
    expect(shareA).toBeLessThan(0.05);
    await finishWrapUp(A.page);
    // B took the customer over from a colleague (a direct call, not DID-routed): the gateway's
    // model gives such a call no wrap-up of its own (the transferring operator wraps it up)
    await finishWrapUpIfAny(B.page);
  });

  it('operator to operator: A calls B, A blind-transfers B to C (REFER to a browser), C answers, B <-> C audio both ways, A out', async () => {
    await A.page.getByTestId('dial-number').fill(users.b.username);
    await A.page.getByTestId('dial').click();
    await B.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await B.page.getByTestId('answer').click();
    await A.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await A.page.getByTestId('transfer-target').fill(users.c.username);
    const t0 = Date.now();
    await A.page.getByTestId('blind-transfer').click();
    await C.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    const ringMs = Date.now() - t0;
    expect(await C.page.getByTestId('ringing-number').textContent()).toBe(users.b.username.toLowerCase());
    await C.page.getByTestId('answer').click();
    await C.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    // B: one call, now with C, in the place of the call with A
    await B.page.waitForFunction((c) => {
      const els = [...document.querySelectorAll('[data-testid="call"]')] as HTMLElement[];
      return els.length === 1 && els[0]!.dataset.phase === 'established' && els[0]!.querySelector('[data-testid="call-remote"]')?.textContent === c;
    }, users.c.username.toLowerCase(), { timeout: 10_000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}: B shows ${await B.page.getByTestId('phone-panel').innerHTML()}`);
    });
    await A.page.waitForFunction(() => document.querySelectorAll('[data-testid="call"]').length === 0, undefined, { timeout: 5000 });
    console.log(`operator to operator: A's transfer click -> C rings ${ringMs} ms`);
    await sleep(800);
    const cHears = await remoteToneLevel(C.page, B_HZ);
    const bHears = await remoteToneLevel(B.page, C_HZ);
    console.log(`operator to operator: C hears B's ${B_HZ} Hz at ${cHears.target.toFixed(1)} dBFS (off ${cHears.off.toFixed(1)}); B hears C's ${C_HZ} Hz at ${bHears.target.toFixed(1)} dBFS (off ${bHears.off.toFixed(1)})`);
    expect(cHears.target).toBeGreaterThan(-50);
    expect(cHears.target - cHears.off).toBeGreaterThan(20);
    expect(bHears.target).toBeGreaterThan(-50);
    expect(bHears.target - bHears.off).toBeGreaterThan(20);
    await C.page.getByTestId('hangup').click();
    await B.page.waitForFunction(() => document.querySelectorAll('[data-testid="call"]').length === 0, undefined, { timeout: 5000 });
    // C answered a direct call from a colleague (no wrap-up of its own in the operator model); A placed an outbound call (wrap-up).
    await finishWrapUpIfAny(C.page);
    await finishWrapUpIfAny(B.page);
    // A's answered outbound call to B, handed over by the transfer: A's wrap-up (the operator model)
    await finishWrapUpIfAny(A.page);
  });

  it('recovers by itself when Kamailio drops the SIP WebSockets: unregistered -> registered, and takes the next call', async () => {
    const pages = { A: A.page, B: B.page, C: C.page };
    for (const page of Object.values(pages)) {
      await page.evaluate(() => {
        const w = window as unknown as { __regLog: { state: string; at: number }[] };
        const el = document.querySelector('[data-testid="status-phone"]') as HTMLElement;
        w.__regLog = [{ state: el.dataset.registration!, at: Date.now() }];
        new MutationObserver(() => {
          const state = el.dataset.registration!;
          if (w.__regLog.at(-1)!.state !== state) w.__regLog.push({ state, at: Date.now() });
        }).observe(el, { attributes: true, attributeFilter: ['data-registration'] });
      });
    }
    const before = [...(await kamcmd('ws.dump')).matchAll(/^\s*(\d+): ws:[^\n]*sub-protocol: sip/gm)].map((m) => m[1]!);
    expect(before).toHaveLength(3);
    // Kamailio drops every SIP WebSocket (what a network cut looks like to the pages).
    const t0 = Date.now();
    for (const id of before) await kamcmd('ws.close', id);
    for (const [who, page] of Object.entries(pages)) {
      await page.waitForFunction(
        () => {
          const log = (window as unknown as { __regLog: { state: string }[] }).__regLog;
          return log.some((e) => e.state !== 'registered') && log.at(-1)!.state === 'registered';
        },
        undefined,
        { timeout: 15_000 },
      ).catch(async (e) => {
        const log = await page.evaluate(() => (window as unknown as { __regLog: unknown }).__regLog);
        throw new Error(`${who}: ${(e as Error).message}; registration ${JSON.stringify(log)}; ws.dump ${await kamcmd('ws.dump')}`);
      });
      const log = await page.evaluate(() => (window as unknown as { __regLog: { state: string; at: number }[] }).__regLog);
      const down = log.find((e) => e.state !== 'registered')!;
      const up = log.at(-1)!;
      console.log(`recovery ${who}: ${log.map((e) => `${e.state}@${e.at - t0}`).join(' -> ')} ms; the page saw the drop after ${down.at - t0} ms, registered again ${up.at - down.at} ms later`);
      expect(up.at - down.at).toBeLessThan(2000);
      expect(up.at - t0).toBeLessThan(5000);
    }
    const after = [...(await kamcmd('ws.dump')).matchAll(/^\s*(\d+): ws:[^\n]*sub-protocol: sip/gm)].map((m) => m[1]!);
    expect(after).toHaveLength(3);
    expect(after.filter((id) => before.includes(id))).toEqual([]);

    // Registered for real: the next customer call rings A.
    const from = pstn.events.length;
    pstn.dial(`sip:${did}@${stack.sip.domain}`);
    await A.page.getByTestId('ringing').waitFor({ timeout: 10_000 }).catch(async (e) => {
      const state = await A.page.getByTestId('agent-state').evaluate((el) => JSON.stringify((el as HTMLElement).dataset));
      throw new Error(`${(e as Error).message}\nA's agent state ${state}; customer's events ${JSON.stringify(pstn.events.slice(from))}\n${logTail(stackLogs(stack).kamailio, 40)}`);
    });
    pstn.hangup();
    await pstnEvent(from, ev('CALL_CLOSED'));
    await A.page.getByTestId('ringing').waitFor({ state: 'detached', timeout: 5000 });
  });
});
