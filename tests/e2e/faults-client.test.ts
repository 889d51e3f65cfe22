// Client faults with real processes (issue 19): the dev host (main's real services: session,
// gateway link, durable outbox, resume sequence), the built renderer in Chromium, the real
// stack (gateway + Kamailio + rtpengine) and baresip as the customer. The operator's gateway
// traffic (main's link, main's HTTP calls, the renderer's own calls) goes through a TcpProxy
// (tests/support/tcp-proxy.ts) the tests cut or stall; in the sleep test the phone's SIP
// WebSocket goes through one too.
//
// 1. The renderer process crashes for real (CDP Page.crash) with an unsent note and
//    disposition, the gateway cut, or stalled (then the crash comes right after "finish"): the
//    app is opened again (main/renderer-recovery.ts decides, as Electron's
//    `render-process-gone` would have it), shows both as pending from main's outbox, and both
//    are saved exactly once when the gateway is back.
// 2. A sleep: every socket stalls (looks open, moves nothing), the PC suspends; at resume the
//    flows from before are black holes for good and new connections work (a NAT or a peer
//    that forgot the flow). Within 5 s of the resume: the status bar says done, a change made
//    at the gateway reaches the page over the link, the phone is registered on a new socket,
//    and the note and the disposition written before the sleep are saved exactly once. It
//    fails without the resume's reconnectNow() (the push is seen 10.6 s after) and without its
//    dropConnections() (the note saved 8.3 s after).
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import type { DevHost } from '../../main/devhost/server';
import { RendererRecovery } from '../../main/renderer-recovery';
import { Baresip, type BaresipEvent } from '../integration/telephony/baresip';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { TcpProxy } from '../support/tcp-proxy';
import { FAKE_MIC, memoryKeytar, threeOperatorWorld, type OperatorWorld } from './softphone-support';

const PASSWORD = 'Sakura-Koe-2026!';
const CALLER = '+819011118888';
const DISPOSITION = '折り返し';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
const closers: (() => Promise<unknown>)[] = [];
const ports: number[] = [];

function pstnEvent(from: number, match: (e: BaresipEvent) => boolean, timeoutMs = 10_000): Promise<BaresipEvent> {
  return pstn.eventAfter(from, match, { timeoutMs, pollMs: 50, context: () => logTail(stackLogs(stack).kamailio, 30) });
}

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  for (let i = 0; i < 3; i++) ports.push(await freePort('tcp'));
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'faults-client-e2e-secret-0123456789-abcd' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: ports.map((p) => `http://127.0.0.1:${p}`),
    },
  });
  browser = await launchChromium();
  pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });
}, 120_000);

afterAll(async () => {
  await pstn?.stop().catch(() => undefined);
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await stack?.stop();
});

/** An org with one operator on its own campaign and DID, signed in on its own dev host behind proxies, READY. */
async function operator(o: { port: number; tag: string; proxySip: boolean }) {
  // a long wrap-up and client grace: the gateway's timers do not end the wrap-up while the test holds the network
  const world: OperatorWorld = await threeOperatorWorld(stack.gateway.ctx, {
    orgName: o.tag, agents: { wrapUpSeconds: 600, ringSeconds: 20, clientGraceSeconds: 300 },
    campaignName: `${o.tag}の窓口`, disposition: DISPOSITION, didPrefix: '+8131238', assigned: ['a'], password: PASSWORD,
  });
  const gw = new URL(stack.gatewayUrl);
  const gwProxy = await TcpProxy.start({ host: gw.hostname, port: Number(gw.port) });
  closers.push(() => gwProxy.close());
  const sipUrl = new URL(stack.sip.wsUrl);
  const sipProxy = o.proxySip ? await TcpProxy.start({ host: sipUrl.hostname, port: Number(sipUrl.port) }) : null;
  if (sipProxy) closers.push(() => sipProxy.close());
  const host = await startTestDevHost({
    port: o.port,
    managedPolicy: { gatewayUrl: gwProxy.urlFor(stack.gatewayUrl), sipWssUrl: sipProxy ? sipProxy.urlFor(stack.sip.wsUrl) : stack.sip.wsUrl },
    keytar: memoryKeytar(),
    deviceName: `PC-${o.tag}`,
  });
  closers.push(() => host.close());
  const context: BrowserContext = await browser.newContext({ permissions: ['microphone', 'notifications'] });
  closers.push(() => context.close());
  await context.addInitScript(FAKE_MIC(1000));
  const page = await context.newPage();
  await page.goto(host.pageUrl());
  await page.getByLabel('ユーザー名').fill(world.users.a.username);
  await page.getByLabel('パスワード').fill(PASSWORD);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.getByTestId('phone-panel').waitFor();
  await page.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 15_000 });
  await page.getByTestId('agent-ready').click();
  await page.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
  return { world, user: world.users.a, gwProxy, sipProxy, host, context, page };
}

/** The customer calls, the operator answers, the customer hangs up: wrap-up is open. Answers the call's SIP Call-ID. */
async function callToWrapUp(page: Page, world: OperatorWorld): Promise<string> {
  const db = stack.gateway.ctx.db;
  const from = pstn.events.length;
  pstn.dial(`sip:${world.did}@${stack.sip.domain}`);
  await page.getByTestId('ringing').waitFor({ timeout: 10_000 });
  await page.getByTestId('answer').click();
  await pstnEvent(from, (e) => e.type === 'CALL_ESTABLISHED');
  await page.getByTestId('customer-card').waitFor();
  const sipCallId = (await db.selectFrom('calls').select('sip_call_id').where('operator_id', '=', world.users.a.id).orderBy('created_at', 'desc').executeTakeFirstOrThrow()).sip_call_id;
  pstn.hangup();
  await page.getByTestId('wrapup').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="disposition"] option').nth(1).waitFor({ state: 'attached' });
  return sipCallId;
}

/** What the gateway holds for the call: its notes by this operator, its disposition, the audit of each. */
async function saved(userId: string, sipCallId: string) {
  const db = stack.gateway.ctx.db;
  const call = await db.selectFrom('calls').select(['id', 'disposition']).where('sip_call_id', '=', sipCallId).executeTakeFirstOrThrow();
  const notes = (await db.selectFrom('notes').select('body').where('author_id', '=', userId).execute()).map((n) => n.body);
  const dispositionAudits = (await db.selectFrom('audit_log').select('action').where('target_id', '=', call.id).where('action', '=', 'call.dispositioned').execute()).length;
  const noteAudits = (await db.selectFrom('audit_log').select('action').where('action', '=', 'note.created').where('actor_user_id', '=', userId).execute()).length;
  return { notes, disposition: call.disposition, dispositionAudits, noteAudits };
}

/**
 * The renderer process crashes for real (CDP Page.crash); main (the dev host) keeps running.
 * Playwright's page is dead for good after a crash: Electron's window would load the app again
 * in a new renderer process; here main's RendererRecovery (main/renderer-recovery.ts) decides,
 * and a new page in the same context is that window's reload. Answers the new page.
 */
/**
 * The operator saves `note` and finishes the wrap-up with DISPOSITION; both reach main's outbox
 * within `withinMs` (the gateway cannot be reached or does not answer).
 */
async function noteAndFinish(op: { host: DevHost }, page: Page, note: string, stored: string, withinMs: number): Promise<void> {
  await page.getByTestId('note-text').fill(note);
  await page.getByTestId('note-save').click();
  await page.locator('[data-testid="note-item"][data-status="pending"]').waitFor();
  await page.getByTestId('disposition').selectOption(DISPOSITION);
  await page.getByTestId('finish-wrapup').click();
  const holds = () => op.host.services.outbox.list().filter((i) => i.body === stored || i.disposition === DISPOSITION).map((i) => i.kind);
  await expect.poll(holds, { timeout: withinMs }).toEqual(['note', 'callPatch']);
}

async function crashAndReopen(op: { context: BrowserContext; host: DevHost }, page: Page): Promise<Page> {
  const reopened: Promise<Page>[] = [];
  const recovery = new RendererRecovery({
    window: {
      isDestroyed: () => false,
      reload: async () => {
        const next = op.context.newPage().then(async (p) => (await p.goto(op.host.pageUrl()), p));
        reopened.push(next);
        await next;
      },
    },
    log: { warn: () => undefined, error: () => undefined },
    now: () => Date.now(),
  });
  const crashed = new Promise<void>((resolve) => page.once('crash', () => resolve()));
  const cdp = await op.context.newCDPSession(page);
  // Page.crash is never answered (its target is gone; the call is rejected when the context
  // closes): the crash event is the answer
  let answered = false;
  void cdp.send('Page.crash').then(() => (answered = true), (err: unknown) => console.log(`[faults e2e] Page.crash: ${String(err).split('\n')[0]}`));
  await crashed;
  expect(answered).toBe(false);
  await expect(page.evaluate(() => 1)).rejects.toThrow(/crash/i);
  expect(recovery.gone({ reason: 'crashed', exitCode: 0 })).toBe('reloading');
  expect(reopened).toHaveLength(1);
  return reopened[0]!;
}

describe('client faults (dev host + Chromium + stack, the network failed by a TCP proxy)', () => {
  it('the renderer crashes with an unsent note and disposition: the app comes back showing both pending, and both are saved exactly once when the gateway is back', async () => {
    const NOTE = 'クラッシュ前のメモ 明日14時 カード 4111 1111 1111 1111';
    const NOTE_STORED = 'クラッシュ前のメモ 明日14時 カード **** **** **** 1111';
    const op = await operator({ port: ports[0]!, tag: 'クラッシュ', proxySip: false });
    let page = op.page;
    const sipCallId = await callToWrapUp(page, op.world);

    // the gateway becomes unreachable for this PC (main's link and HTTP, the renderer's calls)
    op.gwProxy.cut();
    await page.locator('[data-testid="status-link"][data-phase="reconnecting"]').waitFor({ timeout: 15_000 });
    await noteAndFinish(op, page, NOTE, NOTE_STORED, 10_000);

    page = await crashAndReopen(op, page);

    // the app again, still signed in (main's session), the note shown pending from main's outbox
    await page.getByTestId('phone-panel').waitFor({ timeout: 15_000 });
    const restored = page.locator('[data-testid="note-item"][data-status="pending"]');
    await restored.waitFor({ timeout: 15_000 });
    expect(await restored.textContent()).toContain(NOTE_STORED);
    expect(await restored.textContent()).not.toContain('4111 1111');
    // (the call's end time, sent at the hang-up, may still be in it too: the cut can come first)
    await page.locator(`[data-testid="outbox-pending"][data-count="${op.host.services.outbox.state().pending.length}"]`).waitFor({ timeout: 10_000 });
    expect(await saved(op.user.id, sipCallId)).toEqual({ notes: [], disposition: null, dispositionAudits: 0, noteAudits: 0 });

    // the gateway is back: both saved, once each
    const t0 = performance.now();
    op.gwProxy.restore();
    await page.locator('[data-testid="note-item"][data-status="saved"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('outbox-pending').waitFor({ state: 'detached', timeout: 60_000 });
    console.log(`[faults e2e] crash: note and disposition saved ${(performance.now() - t0).toFixed(0)} ms after the gateway came back`);
    await expect.poll(() => op.host.services.outbox.state().pending.length).toBe(0);
    expect(await saved(op.user.id, sipCallId)).toEqual({ notes: [NOTE_STORED], disposition: DISPOSITION, dispositionAudits: 1, noteAudits: 1 });
  }, 180_000);

  it('the gateway stalls (the link looks open, nothing answers) and the renderer crashes right after "finish": the disposition was already in main\'s outbox', async () => {
    const NOTE = '応答なしの間のメモ';
    const op = await operator({ port: ports[1]!, tag: '無応答', proxySip: false });
    let page = op.page;
    const sipCallId = await callToWrapUp(page, op.world);

    op.gwProxy.stall();
    // the finish waits for the gateway's answer (up to 10 s: the link looks open); the
    // disposition must not wait with it in the renderer, where a crash takes it
    await noteAndFinish(op, page, NOTE, NOTE, 2_000);
    page = await crashAndReopen(op, page);
    await page.getByTestId('phone-panel').waitFor({ timeout: 15_000 });
    // (the call's end time, sent at the hang-up, may still be in it too: the cut can come first)
    await page.locator(`[data-testid="outbox-pending"][data-count="${op.host.services.outbox.state().pending.length}"]`).waitFor({ timeout: 10_000 });
    expect(await saved(op.user.id, sipCallId)).toEqual({ notes: [], disposition: null, dispositionAudits: 0, noteAudits: 0 });

    op.gwProxy.restore();
    await page.getByTestId('outbox-pending').waitFor({ state: 'detached', timeout: 60_000 });
    await expect.poll(() => op.host.services.outbox.state().pending.length).toBe(0);
    expect(await saved(op.user.id, sipCallId)).toEqual({ notes: [NOTE], disposition: DISPOSITION, dispositionAudits: 1, noteAudits: 1 });
  }, 180_000);

  it('a sleep with every socket stalled for 30 s: within 5 s of the resume the status bar says done, a change at the gateway reaches the page, the phone is registered, the note and disposition are saved once', async () => {
    const NOTE = 'スリープ前のメモ';
    const BUDGET_MS = 5_000;
    const op = await operator({ port: ports[2]!, tag: 'スリープ', proxySip: true });
    const sipProxy = op.sipProxy!;
    const page = op.page;
    const sipCallId = await callToWrapUp(page, op.world);

    // Two clocks are pinned so that only the resume's own steps can bring things back in time:
    // - the link pings every 20 s and ends a socket whose ping is still unanswered at the next
    //   one: a fresh link now (T) gives up at T+40 s, 10 s after the resume at T+30 s;
    // - the note is written 5 s into the stall: main's outbox tries it at once, then 11 and 23 s
    //   later, each try waiting 10 s for an answer; at the resume (25 s after the note) a try
    //   has been on its way on a connection from before the sleep for 2 s, 8 s of its timeout
    //   left, as a sleep that came mid-send leaves it.
    expect(await op.host.services.link.reconnectNow()).toBe(true);
    // the path dies without a word (the Wi-Fi dropped, then the lid closes): nothing moves,
    // every socket looks open
    const stalledAt = performance.now();
    op.gwProxy.stall();
    sipProxy.stall();
    await sleep(5_000);
    await noteAndFinish(op, page, NOTE, NOTE, 2_000);
    op.host.power.emit('suspend');
    await page.getByTestId('lock-screen').waitFor();

    // 30 s of stall stand in for a night: a socket that moved nothing looks exactly as open after
    // 30 s as after 10 min (no byte, no FIN, no RST reaches either end; the gateway has no timer
    // of its own on it), and the test stays bounded. (The PC is not really asleep: main's timers
    // run meanwhile; they are pinned above so that none of them rescues anything first.)
    await sleep(30_000 - (performance.now() - stalledAt));
    expect(await saved(op.user.id, sipCallId)).toEqual({ notes: [], disposition: null, dispositionAudits: 0, noteAudits: 0 });

    // The PC wakes on a network that works, where every flow from before the sleep is a black
    // hole (the NAT or the gateway forgot it): only new connections get through.
    op.gwProxy.stallExisting();
    sipProxy.stallExisting();
    const sipBefore = sipProxy.accepted;
    const gwBefore = op.gwProxy.accepted;
    const t0 = performance.now();
    const phases: string[] = [];
    op.host.services.resume.onChange((st) => phases.push(`${st.phase} ${(performance.now() - t0).toFixed(0)} ms`));
    op.host.power.emit('resume');
    // a change made at the gateway meanwhile (as a supervisor would): it ends the wrap-up and
    // sends the operator on a break; the page hears of it only over a live link
    const who = { userId: op.user.id, orgId: op.world.orgId, username: op.user.username };
    expect((await stack.gateway.ctx.agents.apply(who, { type: 'finishWrapUp', callId: sipCallId, next: 'break' }, { by: 'gateway' })).kind).toBe('accepted');
    // the operator unlocks (the password, re-verified by the gateway)
    await page.getByTestId('lock-screen').getByLabel('パスワード').fill(PASSWORD);
    await page.getByRole('button', { name: 'ロックを解除' }).click();

    // each figure: ms from the resume until it is seen (waited for at most 15 s; not seen: null)
    const waitMs = 15_000;
    const notSeen: string[] = [];
    const timed = (what: string, seen: Promise<unknown>) =>
      seen.then(
        () => Math.round(performance.now() - t0),
        (err: unknown) => (notSeen.push(`${what}: ${String(err).split('\n')[0]}`), null),
      );
    const until = async (cond: () => Promise<boolean>) => {
      for (const end = performance.now() + waitMs; !(await cond()); await sleep(50)) if (performance.now() > end) throw new Error(`not within ${waitMs} ms`);
    };
    const [resumeDoneMs, unlockedMs, gatewayPushShownMs, phoneRegisteredMs, outboxSavedMs] = await Promise.all([
      timed('resume done', page.getByTestId('status-resume').filter({ hasText: '復帰しました' }).waitFor({ timeout: waitMs })),
      timed('unlocked', page.getByTestId('lock-screen').waitFor({ state: 'detached', timeout: waitMs })),
      timed('gateway push shown', page.locator('[data-testid="agent-state"][data-state="break"]').waitFor({ timeout: waitMs })),
      timed('phone registered on a new socket', until(async () => sipProxy.accepted > sipBefore && (await page.getByTestId('status-phone').getAttribute('data-registration')) === 'registered')),
      timed('outbox saved', until(async () => { const s = await saved(op.user.id, sipCallId); return s.notes.length > 0 && s.disposition !== null; })),
    ]);
    const figures = { resumeDoneMs, unlockedMs, gatewayPushShownMs, phoneRegisteredMs, outboxSavedMs };
    console.log(`[faults e2e] sleep, after the resume: ${JSON.stringify(figures)}; resume phases: ${phases.join(', ')}${notSeen.length ? `; not seen: ${notSeen.join('; ')}` : ''}`);
    for (const [what, t] of Object.entries(figures)) {
      expect(t, what).not.toBeNull();
      expect(t, what).toBeLessThanOrEqual(BUDGET_MS);
    }
    // main's HTTP and the link went out on new connections (the old ones stay black holes)
    expect(op.gwProxy.accepted).toBeGreaterThan(gwBefore);
    expect(await saved(op.user.id, sipCallId)).toEqual({ notes: [NOTE], disposition: DISPOSITION, dispositionAudits: 1, noteAudits: 1 });
    await expect.poll(() => op.host.services.outbox.state().pending.length).toBe(0);
    expect(op.host.services.link.readyState).toBe('ready');
  }, 180_000);
});
