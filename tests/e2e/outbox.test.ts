// The durable outbox end to end (issue 19): the dev host (main's real services, its outbox
// included), the built renderer in Chromium, the real stack (gateway + Kamailio + rtpengine)
// and baresip as the customer. The operator's gateway traffic (main's link and outbox, the
// renderer's screen pop) goes through a TCP relay this test cuts: a note and a disposition are
// written while the gateway is unreachable, the page is reloaded (a renderer crash), the
// gateway comes back, and both are saved at the gateway exactly once.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import type { DevHost } from '../../main/devhost/server';
import { Baresip, type BaresipEvent } from '../integration/telephony/baresip';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { FAKE_MIC, memoryKeytar, threeOperatorWorld } from './softphone-support';
import { TcpProxy } from '../support/tcp-proxy';

const PASSWORD = 'Sakura-Koe-2026!';
const CALLER = '+819011117777';
const DISPOSITION = '折り返し';
const NOTE = '折り返し希望 明日10時 カード 4111 1111 1111 1111';
const NOTE_STORED = '折り返し希望 明日10時 カード **** **** **** 1111';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
let relay: TcpProxy;
let host: DevHost;
let page: Page;
let did = '';
let user: { id: string; username: string };

function pstnEvent(from: number, match: (e: BaresipEvent) => boolean, timeoutMs = 10_000): Promise<BaresipEvent> {
  return pstn.eventAfter(from, match, { timeoutMs, pollMs: 50, context: () => logTail(stackLogs(stack).kamailio, 30) });
}

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const port = await freePort('tcp');
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'outbox-e2e-secret-0123456789-abcdef-0123' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: [`http://127.0.0.1:${port}`],
    },
  });
  const gw = new URL(stack.gatewayUrl);
  relay = await TcpProxy.start({ host: gw.hostname, port: Number(gw.port) });
  // a long wrap-up and client grace: the gateway's timers do not end the wrap-up while the test cuts the link
  const world = await threeOperatorWorld(stack.gateway.ctx, {
    orgName: '送信箱', agents: { wrapUpSeconds: 600, ringSeconds: 20, clientGraceSeconds: 300 },
    campaignName: '送信箱の窓口', disposition: DISPOSITION, didPrefix: '+8131237', assigned: ['a'], password: PASSWORD,
  });
  user = world.users.a;
  did = world.did;
  browser = await launchChromium();
  host = await startTestDevHost({
    port,
    managedPolicy: { gatewayUrl: `http://127.0.0.1:${relay.port}`, sipWssUrl: stack.sip.wsUrl },
    keytar: memoryKeytar(),
    deviceName: 'PC-outbox',
  });
  const ctx = await browser.newContext({ permissions: ['microphone', 'notifications'] });
  await ctx.addInitScript(FAKE_MIC(1000));
  page = await ctx.newPage();
  await page.goto(host.pageUrl());
  await page.getByLabel('ユーザー名').fill(user.username);
  await page.getByLabel('パスワード').fill(PASSWORD);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.getByTestId('phone-panel').waitFor();
  await page.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 15_000 });
  await page.getByTestId('agent-ready').click();
  await page.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
  pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });
}, 120_000);

afterAll(async () => {
  await pstn?.stop().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await host?.close().catch(() => undefined);
  await relay?.close().catch(() => undefined);
  await stack?.stop();
});

describe('the durable outbox (dev host + Chromium + stack, the gateway cut by a relay)', () => {
  it('a note and a disposition written while the gateway is down survive a page reload and are saved exactly once when it is back', async () => {
    const db = stack.gateway.ctx.db;
    const from = pstn.events.length;
    pstn.dial(`sip:${did}@${stack.sip.domain}`);
    await page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await page.getByTestId('answer').click();
    await pstnEvent(from, (e) => e.type === 'CALL_ESTABLISHED');
    await page.getByTestId('customer-card').waitFor();
    const sipCallId = (await db.selectFrom('calls').select('sip_call_id').where('operator_id', '=', user.id).orderBy('created_at', 'desc').executeTakeFirstOrThrow()).sip_call_id;
    pstn.hangup(); // the customer hangs up: wrap-up opens (the gateway's view, pushed before the cut)
    await page.getByTestId('wrapup').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="disposition"] option').nth(1).waitFor({ state: 'attached' });

    // the gateway becomes unreachable for this PC (main's link and outbox, the renderer's calls)
    relay.cut();
    await page.locator('[data-testid="status-link"][data-phase="reconnecting"]').waitFor({ timeout: 15_000 });
    await page.getByTestId('note-text').fill(NOTE);
    await page.getByTestId('note-save').click();
    await page.locator('[data-testid="note-item"][data-status="pending"]').waitFor();
    expect(await page.getByTestId('note-item').textContent()).toContain('**** **** **** 1111');
    await page.getByTestId('disposition').selectOption(DISPOSITION);
    await page.getByTestId('finish-wrapup').click();
    // main has both (sealed on disk), the gateway nothing
    // (the call's end time, sent at the hang-up, may still be ahead of them if the cut came first)
    const holds = () => host.services.outbox.list().filter((i) => i.body === NOTE_STORED || i.disposition === DISPOSITION).map((i) => i.kind);
    for (const end = Date.now() + 10_000; holds().length < 2 && Date.now() < end; ) await sleep(50);
    expect(holds()).toEqual(['note', 'callPatch']);
    const pendingCount = host.services.outbox.state().pending.length;
    await page.locator(`[data-testid="outbox-pending"][data-count="${pendingCount}"]`).waitFor({ timeout: 10_000 });
    const noteRows = () => db.selectFrom('notes').select(['body', 'client_note_id']).where('author_id', '=', user.id).execute();
    expect(await noteRows()).toEqual([]);

    // the renderer crashes (a fresh page load of the same dev host: main's services keep running)
    await page.goto('about:blank');
    await page.goto(host.pageUrl());
    await page.getByTestId('phone-panel').waitFor({ timeout: 15_000 });
    // after the reload the note is shown again from main's outbox, still pending
    const restored = page.locator('[data-testid="note-item"][data-status="pending"]');
    await restored.waitFor({ timeout: 15_000 });
    expect(await restored.textContent()).toContain(NOTE_STORED);
    expect(await noteRows()).toEqual([]);

    // the gateway comes back: main's link reconnects and the outbox goes out in order
    const auditsBefore = await db.selectFrom('audit_log').select('action').where('action', '=', 'call.dispositioned').where('target_id', '=', (await db.selectFrom('calls').select('id').where('sip_call_id', '=', sipCallId).executeTakeFirstOrThrow()).id).execute();
    expect(auditsBefore).toEqual([]);
    const t0 = Date.now();
    relay.restore();
    await page.locator('[data-testid="note-item"][data-status="saved"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('outbox-pending').waitFor({ state: 'detached', timeout: 60_000 });
    console.log(`[outbox e2e] both saved ${Date.now() - t0} ms after the gateway came back`);
    const notes = await noteRows();
    expect(notes.map((n) => n.body)).toEqual([NOTE_STORED]);
    const call = await db.selectFrom('calls').selectAll().where('sip_call_id', '=', sipCallId).executeTakeFirstOrThrow();
    expect(call.disposition).toBe(DISPOSITION);
    const audits = await db.selectFrom('audit_log').select('action').where('target_id', '=', call.id).where('action', '=', 'call.dispositioned').execute();
    expect(audits).toHaveLength(1);
    const noteAudits = await db.selectFrom('audit_log').select('action').where('action', '=', 'note.created').where('actor_user_id', '=', user.id).execute();
    expect(noteAudits).toHaveLength(1);

    // the wrap-up is still open at the gateway (its finish was refused while unreachable): finish it
    // once the gateway link is back too (the outbox's own retry can come before the link's reconnect)
    await page.getByTestId('wrapup').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="status-link"]:is([data-phase="back"], [data-phase="connected"])').waitFor({ timeout: 60_000 });
    // (the reloaded page has the campaign's dispositions again when its screen pop came back)
    if (await page.locator('[data-testid="disposition"] option').nth(1).count()) await page.getByTestId('disposition').selectOption(DISPOSITION);
    await page.getByTestId('finish-wrapup').click();
    await page.getByTestId('wrapup').waitFor({ state: 'detached', timeout: 15_000 });
    await page.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
    // still one note; the call keeps its disposition; nothing left in main's outbox
    const drained = Date.now() + 10_000;
    while (host.services.outbox.state().pending.length > 0 && Date.now() < drained) await sleep(100);
    expect(host.services.outbox.state().pending).toEqual([]);
    expect((await noteRows()).map((n) => n.body)).toEqual([NOTE_STORED]);
    expect((await db.selectFrom('calls').select('disposition').where('id', '=', call.id).executeTakeFirstOrThrow()).disposition).toBe(DISPOSITION);
  }, 180_000);
});
