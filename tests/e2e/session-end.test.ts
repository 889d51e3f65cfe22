// Customer data ends with its session, end to end: operator A takes a call on one PC (the dev
// host + the built renderer in Chromium, main's real services, the real gateway + Kamailio +
// rtpengine, baresip as the customer), the customer card, its history and open notes and A's
// own note on screen, and signs out during the call. Operator B, of another campaign, signs in
// on the same PC (same dev host, same page): nothing of A's customer is in B's DOM, and main
// holds nothing of A (tokens, SIP credentials, the customer) any more.
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import type { MainServices } from '../../main/services';
import { createOrg, createUser } from '../../server/orgs';
import { Baresip } from '../integration/telephony/baresip';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { FAKE_MIC, memoryKeytar } from './softphone-support';

const PASSWORD = 'Sakura-Koe-2026!';
const CALLER = '+819011115555';

/** What A's session puts on screen: none of it may reach B. */
const A_DATA = {
  campaign: '電気料金窓口セッション試験',
  name: '山田 花子',
  kana: 'ヤマダ ハナコ',
  address: '東京都港区芝公園4-2-8',
  member: 'M-0007741',
  history: '解約を検討',
  openNote: '前回の請求について再確認',
  typedNote: '住所変更の手続きを案内済み',
  caller: CALLER,
  /** the caller as the Japanese UI shows it (issue 18: national form, the E.164 in its title) */
  callerNational: '090-1111-5555',
};

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
let host: Awaited<ReturnType<typeof startTestDevHost>>;
let page: Page;
let did = '';
const users: Record<'a' | 'b', { id: string; username: string }> = {} as never;

/** Every string reachable from main's services (own fields, Maps, Sets, arrays), Node handles aside. */
function reachableStrings(root: unknown): string {
  const seen = new Set<unknown>();
  const out: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (typeof v === 'string') return void out.push(v);
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 12) return;
    seen.add(v);
    const name = (v as object).constructor?.name ?? '';
    if (['WebSocket', 'Timeout', 'Socket', 'ClientRequest', 'EventEmitter', 'Server'].includes(name)) return;
    if (v instanceof Map) for (const [k, x] of v) (walk(k, depth + 1), walk(x, depth + 1));
    else if (v instanceof Set) for (const x of v) walk(x, depth + 1);
    else for (const x of Object.values(v as object)) walk(x, depth + 1);
  };
  walk(root, 0);
  return out.join('\n');
}
const mainState = (s: MainServices) => reachableStrings({ ...s, deps: undefined });

async function signIn(username: string): Promise<void> {
  await page.getByLabel('ユーザー名').fill(username);
  await page.getByLabel('パスワード').fill(PASSWORD);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.getByTestId('phone-panel').waitFor();
  await page.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 15_000 }).catch((e) => {
    throw new Error(`${(e as Error).message}\n${logTail(stackLogs(stack).kamailio, 40)}`);
  });
}

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const port = await freePort('tcp');
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'session-end-e2e-secret-0123456789-abcdef' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: [`http://127.0.0.1:${port}`],
    },
  });
  const ctx = stack.gateway.ctx;
  const orgId = await createOrg(ctx, `セッション終了 ${randomUUID().slice(0, 8)}`, { totpRequiredRoles: [], deviceBindingRoles: [], agents: { wrapUpSeconds: 600 } });
  const tag = randomUUID().slice(0, 6);
  for (const k of ['a', 'b'] as const) {
    const username = `op-${k}.${tag}`;
    users[k] = { id: await createUser(ctx, { orgId, username, displayName: `オペレーター${k.toUpperCase()}`, role: 'operator', password: PASSWORD }), username };
  }
  const now = new Date();
  const campaignA = randomUUID();
  const campaignB = randomUUID();
  did = `+8131236${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  for (const [id, name] of [[campaignA, A_DATA.campaign], [campaignB, '別キャンペーンB']] as const) {
    await ctx.db
      .insertInto('campaigns')
      .values({ id, org_id: orgId, name, time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: JSON.stringify(['解決', '折り返し']), blocked_numbers: '[]', created_at: now, updated_at: now })
      .execute();
  }
  await ctx.db.insertInto('campaign_dids').values({ org_id: orgId, e164: did, campaign_id: campaignA }).execute();
  await ctx.db.insertInto('campaign_assignments').values([
    { user_id: users.a.id, campaign_id: campaignA, org_id: orgId },
    { user_id: users.b.id, campaign_id: campaignB, org_id: orgId },
  ]).execute();
  const customerId = randomUUID();
  await ctx.db
    .insertInto('customers')
    .values({
      id: customerId, org_id: orgId, campaign_id: campaignA, name_kanji: A_DATA.name, name_kana: A_DATA.kana, name_kanji_key: '山田花子', name_kana_key: 'ヤマダハナコ',
      email: null, fields: JSON.stringify({ 住所: A_DATA.address, 会員番号: A_DATA.member }), created_at: now, updated_at: now,
    })
    .execute();
  await ctx.db.insertInto('customer_phones').values({ customer_id: customerId, e164: CALLER, campaign_id: campaignA, org_id: orgId }).execute();
  const earlier = new Date(now.getTime() - 86_400_000);
  const pastCall = randomUUID();
  await ctx.db
    .insertInto('calls')
    .values({
      id: pastCall, org_id: orgId, sip_call_id: `past-${tag}@test`, operator_id: users.a.id, campaign_id: campaignA, customer_id: customerId, caller_e164: CALLER, dialled_e164: did,
      blocked: false, status: 'ended', ringing_at: earlier, answered_at: earlier, ended_at: earlier, disposition: A_DATA.history, wrap_up_seconds: 20, created_at: earlier, updated_at: earlier,
    })
    .execute();
  await ctx.db
    .insertInto('notes')
    .values({ id: randomUUID(), org_id: orgId, campaign_id: campaignA, customer_id: customerId, call_id: pastCall, author_id: users.a.id, client_note_id: randomUUID(), body: A_DATA.openNote, open: true, created_at: earlier, updated_at: earlier })
    .execute();

  // One PC: one dev host (main), one page (the renderer), used by A then B.
  host = await startTestDevHost({ port, managedPolicy: { gatewayUrl: stack.gatewayUrl, sipWssUrl: stack.sip.wsUrl }, keytar: memoryKeytar(), deviceName: 'PC-SHARED' });
  browser = await launchChromium();
  const bctx = await browser.newContext({ permissions: ['microphone', 'notifications'] });
  await bctx.addInitScript(FAKE_MIC(1000));
  page = await bctx.newPage();
  await page.goto(host.pageUrl());
  pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });
}, 120_000);

afterAll(async () => {
  await pstn?.stop();
  await browser?.close();
  await host?.close().catch((e: unknown) => console.warn(`dev host close failed: ${(e as Error).message}`));
  await stack?.stop();
});

describe('customer data ends with its session (one PC, two operators)', () => {
  it("A signs out during a call with the customer on screen; B (another campaign) signs in: nothing of A's customer in B's DOM or in main", async () => {
    await signIn(users.a.username);
    await page.getByTestId('agent-ready').click();
    await page.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();

    pstn.dial(`sip:${did}@${stack.sip.domain}`);
    await page.getByTestId('ringing').waitFor({ timeout: 10_000 }).catch((e) => {
      throw new Error(`${(e as Error).message}\n${logTail(stackLogs(stack).kamailio, 60)}`);
    });
    await page.getByTestId('answer').click();
    await page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await page.getByTestId('note-text').fill(A_DATA.typedNote);
    await page.getByTestId('note-save').click();
    await page.locator('[data-testid="note-item"][data-status="saved"]').waitFor({ timeout: 10_000 });

    // A's customer is on screen (else the checks below would prove nothing)
    const before = await page.evaluate(() => document.body.innerText);
    for (const s of [A_DATA.campaign, A_DATA.name, A_DATA.kana, A_DATA.address, A_DATA.member, A_DATA.openNote, A_DATA.typedNote, A_DATA.callerNational]) expect(before).toContain(s);
    expect(await page.evaluate(() => document.body.innerHTML)).toContain(A_DATA.caller);
    expect(await page.locator('[data-testid="customer-calls"]').textContent()).toContain(A_DATA.history);
    const a = {
      access: (await host.services.session.accessToken())!.token,
      refresh: (await host.services.vault.get('refresh-token'))!,
      sip: (await host.services.sip.get())!.authorizationPassword,
    };
    expect(mainState(host.services)).toContain(a.access);

    // A signs out while the call is live.
    await page.getByRole('button', { name: 'サインアウト' }).click();
    // during a call, sign-out asks first: A ends the call on purpose
    await page.getByTestId('sign-out-end-call').click();
    await page.getByLabel('ユーザー名').waitFor();
    const afterSignOut = mainState(host.services);
    for (const s of [a.access, a.refresh, a.sip, users.a.id]) expect(afterSignOut).not.toContain(s);
    expect(await host.services.vault.get('refresh-token')).toBeNull();
    expect(host.services.agent.snapshot()).toEqual({ view: null, link: 'offline', pending: [] });
    expect(host.services.agent.holdsAnything()).toBe(false);
    pstn.hangup();

    // B signs in on the same PC.
    await signIn(users.b.username);
    await page.getByTestId('home').waitFor();
    const html = await page.evaluate(() => document.body.innerHTML);
    const text = await page.evaluate(() => document.body.innerText);
    const fields = await page.evaluate(() => [...document.querySelectorAll('textarea, input')].map((e) => (e as HTMLInputElement).value).join('\n'));
    for (const s of Object.values(A_DATA)) {
      expect(html, `B's DOM holds "${s}"`).not.toContain(s);
      expect(text).not.toContain(s);
      expect(fields).not.toContain(s);
    }
    expect(await page.getByTestId('customer-card').count()).toBe(0);
    expect(await page.getByTestId('notes-panel').count()).toBe(0);
    expect(await page.getByTestId('wrapup').count()).toBe(0);

    // main: B's session, nothing of A's
    const s = host.services.session.current();
    expect(s.status === 'signed-in' && s.user.id).toBe(users.b.id);
    const inMain = mainState(host.services);
    for (const secret of [a.access, a.refresh, a.sip, users.a.id, users.a.username, ...Object.values(A_DATA)]) expect(inMain, `main holds "${secret}"`).not.toContain(secret);
    expect((await host.services.sip.get())?.authorizationPassword).not.toBe(a.sip);
  });
});
