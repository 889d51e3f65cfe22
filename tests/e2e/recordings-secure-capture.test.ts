// Issue 16 items 5 and 7 with a real recorded call: baresip (the customer, 440 Hz) calls a DID
// of a campaign that records every call; the operator answers in the Koe app (dev host +
// Chromium). The secure-capture toggle appears only once the gateway records the call, is
// pressed from the keyboard (pause, then resume), and the sealed recording has one gap of the
// length pressed. On the customer's next call the card's history has a play button on the
// recorded call (the org lets operators hear their own calls), which plays in the app.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import { createOrg, createUser } from '../../server/orgs';
import { Baresip, type BaresipEvent } from '../integration/telephony/baresip';
import { launchChromium } from '../support/devhost-harness';
import { finishWrapUp, operatorPage, type OperatorPage } from './softphone-support';

const PASSWORD = 'Sakura-Koe-2026!';
const CALLER = '+819011117777';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), 'koe-rec-sc-'));

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
let A: OperatorPage;
let did = '';
let opId = '';

function pstnEvent(from: number, type: string, timeoutMs = 10_000): Promise<BaresipEvent> {
  return pstn.eventAfter(from, (x) => x.type === type, { timeoutMs, pollMs: 10, context: () => logTail(stackLogs(stack).kamailio, 30) });
}

async function customerCalls(): Promise<void> {
  const from = pstn.events.length;
  pstn.dial(`sip:${did}@${stack.sip.domain}`);
  await A.page.getByTestId('ringing').waitFor({ timeout: 10_000 });
  await A.page.getByTestId('answer').click();
  await A.page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
  await pstnEvent(from, 'CALL_ESTABLISHED');
}

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const port = await freePort('tcp');
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'recordings-sc-e2e-secret-0123456789-abcdef' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: [`http://127.0.0.1:${port}`],
      recordings: { dir: path.join(tmp, 'recordings'), keks: [{ id: 'sc', key: randomBytes(32).toString('base64') }] },
    },
  });
  const ctx = stack.gateway.ctx;
  const orgId = await createOrg(ctx, `セキュア ${randomUUID().slice(0, 8)}`, { totpRequiredRoles: [], deviceBindingRoles: [], agents: { wrapUpSeconds: 600 }, recordings: { operatorsHearOwnCalls: true } });
  // operators hold recordings:play here (the org policy above lets them hear their own calls)
  await ctx.db.updateTable('roles').set({ permissions: JSON.stringify(['calls:handle', 'customers:read', 'customers:write', 'notes:write', 'recordings:play']) }).where('org_id', '=', orgId).where('key', '=', 'operator').execute();
  const username = `op-sc.${randomUUID().slice(0, 6)}`;
  opId = await createUser(ctx, { orgId, username, displayName: 'オペレーター 田中', role: 'operator', password: PASSWORD });
  const now = new Date();
  const campaignId = randomUUID();
  did = `+8131237${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  await ctx.db
    .insertInto('campaigns')
    .values({ id: campaignId, org_id: orgId, name: 'カード決済窓口', time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: '["決済完了"]', blocked_numbers: '[]', created_at: now, updated_at: now, recording_mode: 'all' })
    .execute();
  await ctx.db.insertInto('campaign_dids').values({ org_id: orgId, e164: did, campaign_id: campaignId }).execute();
  await ctx.db.insertInto('campaign_assignments').values({ user_id: opId, campaign_id: campaignId, org_id: orgId }).execute();
  const customerId = randomUUID();
  await ctx.db
    .insertInto('customers')
    .values({ id: customerId, org_id: orgId, campaign_id: campaignId, name_kanji: '高橋 一郎', name_kana: 'タカハシ イチロウ', name_kanji_key: '高橋一郎', name_kana_key: 'タカハシイチロウ', email: null, fields: '{}', created_at: now, updated_at: now })
    .execute();
  await ctx.db.insertInto('customer_phones').values({ customer_id: customerId, e164: CALLER, campaign_id: campaignId, org_id: orgId }).execute();
  browser = await launchChromium();
  A = await operatorPage(browser, stack, { username, password: PASSWORD, port, toneHz: 1000 });
  pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });
}, 120_000);

afterAll(async () => {
  await pstn?.stop().catch(() => undefined);
  await A?.close();
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('secure capture and the card\'s recordings, on a real recorded call', () => {
  it('the toggle appears once recorded, pauses and resumes from the keyboard; the recording has the gap; the next call\'s card plays it', async () => {
    const page = A.page;
    await customerCalls();
    const toggle = page.getByTestId('secure-capture-toggle');
    await toggle.waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('secure-capture-state').textContent()).toBe('● 録音中');
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    await sleep(1500);
    await toggle.focus();
    const pressed = Date.now();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="secure-capture"][data-paused="true"]').waitFor();
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await toggle.textContent()).toBe('録音を再開');
    expect(await page.getByTestId('secure-capture-state').textContent()).toBe('録音停止中 — カード情報を伺えます');
    await sleep(1500);
    const released = Date.now();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="secure-capture"][data-paused="false"]').waitFor();
    await sleep(1500);
    const from = pstn.events.length;
    await page.getByTestId('hangup').click();
    await pstnEvent(from, 'CALL_CLOSED');
    await finishWrapUp(page);

    const db = stack.gateway.ctx.db;
    let row;
    for (let i = 0; i < 50; i++) {
      row = await db.selectFrom('recordings').selectAll().where('operator_id', '=', opId).executeTakeFirst();
      if (row?.status === 'complete') break;
      await sleep(100);
    }
    expect(row?.status).toBe('complete');
    const gaps = row!.gaps as { startMs: number; endMs: number }[];
    expect(gaps).toHaveLength(1);
    const held = released - pressed;
    const gap = gaps[0]!.endMs - gaps[0]!.startMs;
    console.log(`[recordings e2e] secure capture held ${held} ms in the app -> gap ${gaps[0]!.startMs}-${gaps[0]!.endMs} (${gap} ms) in the recording`);
    // the presses travel app -> gateway (two HTTP round trips on loopback): the gap is the time held, within 400 ms
    expect(Math.abs(gap - held)).toBeLessThan(400);

    // the customer calls again: the card's history shows the first call with a play button
    await customerCalls();
    const card = page.getByTestId('customer-card');
    await page.locator('[data-testid="customer-card"][data-status="known"]').waitFor({ timeout: 10_000 });
    const play = card.locator(`[data-testid="customer-call"][data-call-id="${row!.sip_call_id}"] [data-testid="recording-play"]`);
    await play.waitFor({ timeout: 10_000 });
    await play.click();
    const player = page.getByTestId('recording-player');
    await player.waitFor();
    expect(await page.getByTestId('rp-gap').count()).toBe(1);
    await page.getByTestId('rp-toggle').click();
    await page.locator('[data-testid="recording-player"][data-status="playing"]').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="recording-player"]')!.getAttribute('data-position-ms')) >= 1000);
    await page.getByTestId('rp-close').click();
    const from2 = pstn.events.length;
    await page.getByTestId('hangup').click();
    await pstnEvent(from2, 'CALL_CLOSED');
    await finishWrapUp(page);
  }, 120_000);
});
