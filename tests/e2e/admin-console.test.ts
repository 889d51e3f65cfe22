// The admin console end to end (issue 17): the real renderer in Chromium (dev host: main's real
// services), the real stack (gateway + Kamailio + rtpengine) and baresip as the customer.
// A fresh org's first admin, TOTP required by policy, enrols TOTP in the app and stores the
// recovery codes; adds a signed webhook; creates an operator (temporary password), a team and a
// campaign with a DID, and assigns the operator to both. The operator signs in on their own PC
// (changing the temporary password) and takes a call. The admin sees the new-device alert live
// and the webhook receiver (an HTTP server here) gets a correctly signed body. The admin revokes
// the operator's session and the operator's window signs out. The audit viewer shows each step.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import { createOrg, createUser } from '../../server/orgs';
import { totpCode } from '../../server/auth/totp';
import { Baresip } from '../integration/telephony/baresip';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { FAKE_MIC, memoryKeytar } from './softphone-support';

const PASSWORD = 'Sakura-Koe-2026!';
const CALLER = '+819055556666';

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let stack: Stack;
let browser: Browser;
let pstn: Baresip;
let receiver: Server;
let receiverUrl = '';
const deliveries: Delivery[] = [];
const hosts: { close(): Promise<void> }[] = [];
const ports: number[] = [];
let orgId = '';
const tag = randomUUID().slice(0, 6);
const admin = { username: `admin.${tag}`, password: PASSWORD, id: '' };

beforeAll(async () => {
  assertTelephonyPackages({ baresip: true, chromium: true });
  ports.push(await freePort('tcp'), await freePort('tcp'));
  stack = await startStack({
    gatewayConfig: {
      jwt: { secret: 'admin-console-e2e-secret-0123456789-abcdef' },
      // the webhook receiver is this test's HTTP server on loopback (never in production)
      webhooks: { allowLoopbackHttp: true },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: ports.map((p) => `http://127.0.0.1:${p}`),
    },
  });
  // a fresh org whose policy requires TOTP of admins, and binds every role to its PC
  orgId = await createOrg(stack.gateway.ctx, `管理コンソール ${tag}`, { totpRequiredRoles: ['admin'], deviceBindingRoles: ['operator', 'team_lead', 'admin'] });
  admin.id = await createUser(stack.gateway.ctx, { orgId, username: admin.username, displayName: '山本 管理者', role: 'admin', password: PASSWORD });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/koe-hook`;
  browser = await launchChromium();
  pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });
}, 180_000);

afterAll(async () => {
  await pstn?.stop();
  await browser?.close();
  for (const h of hosts) await h.close().catch(() => undefined);
  await new Promise((r) => receiver?.close(r));
  await stack?.stop();
});

async function pcPage(port: number, deviceName: string): Promise<Page> {
  const host = await startTestDevHost({ port, managedPolicy: { gatewayUrl: stack.gatewayUrl, sipWssUrl: stack.sip.wsUrl, idleTimeoutSeconds: 900 }, keytar: memoryKeytar(), deviceName });
  hosts.push(host);
  const ctx = await browser.newContext({ permissions: ['microphone', 'notifications'] });
  await ctx.addInitScript(FAKE_MIC(1000));
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[${deviceName}] page error: ${e.message}`));
  await page.goto(host.pageUrl());
  await page.getByRole('heading', { name: 'サインイン' }).waitFor();
  return page;
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('ユーザー名').fill(username);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'サインイン' }).click();
}

async function openSection(page: Page, id: string) {
  await page.getByTestId(`admin-tab-${id}`).click();
  await page.getByTestId(`admin-section-${id}`).waitFor();
}

/** Verifies a delivery as a receiver would: HMAC-SHA256(secret, timestamp + "." + body), recent timestamp. */
function signatureValid(d: Delivery, secret: string): boolean {
  const ts = String(d.headers['koe-timestamp'] ?? '');
  const sig = String(d.headers['koe-signature'] ?? '');
  const want = `v1=${createHmac('sha256', secret).update(`${ts}.${d.body}`).digest('hex')}`;
  return sig.split(',').map((s) => s.trim()).includes(want) && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
}

describe('admin console (dev host + Chromium + Kamailio + rtpengine + baresip)', () => {
  it('first admin enrols TOTP, sets up a webhook, team, campaign and operator; the operator takes a call; alert live + signed webhook; session revoked; audit shows it all', async () => {
    // 1. The first admin: an enrolment-only session until TOTP is set up in the app.
    const ap = await pcPage(ports[0]!, 'KOE-ADMIN-PC');
    await signIn(ap, admin.username, admin.password);
    await ap.getByTestId('totp-enrolment').waitFor();
    await ap.getByRole('button', { name: '二要素認証を設定する' }).click();
    const secret = (await ap.getByTestId('totp-secret').textContent())!.trim();
    await ap.getByLabel('確認コード（6 桁）').fill(totpCode(secret, new Date()));
    await ap.getByTestId('totp-confirm').click();
    await ap.getByTestId('recovery-code-list').waitFor();
    expect(await ap.getByTestId('recovery-code-list').locator('li').count()).toBe(10);
    await ap.getByLabel('リカバリーコードを安全な場所に保管しました').check();
    await ap.getByTestId('recovery-continue').click();
    await ap.getByTestId('home').waitFor();
    await ap.getByTestId('admin-open').click();
    await ap.getByTestId('admin-console').waitFor();

    // 2. A webhook: the secret is shown once.
    await openSection(ap, 'webhooks');
    await ap.getByTestId('webhook-url').fill(receiverUrl);
    await ap.getByTestId('webhook-create').click();
    await ap.getByTestId('webhook-secret').waitFor();
    const hookSecret = (await ap.getByTestId('webhook-secret').textContent())!.trim();
    expect(hookSecret.length).toBeGreaterThan(20);
    await ap.getByTestId('webhook-secret-done').click();
    expect(await ap.getByTestId('webhook-secret').count()).toBe(0); // shown once
    await ap.locator(`[data-testid="webhook-row"][data-url="${receiverUrl}"]`).waitFor();

    // 3. An operator with a temporary password, a team, a campaign with a DID; assignments.
    const op = { username: `op.${tag}`, displayName: '佐藤 花子', temp: `Temp-${tag}-Koe-2026!`, password: `Own-${tag}-Sakura-2026!` };
    await openSection(ap, 'users');
    await ap.getByTestId('users-create-open').click();
    await ap.getByTestId('user-create-username').fill(op.username);
    await ap.getByTestId('user-create-display-name').fill(op.displayName);
    await ap.getByTestId('user-create-role').selectOption('operator');
    await ap.getByTestId('user-create-password').fill(op.temp);
    await ap.getByTestId('user-create-submit').click();
    await ap.getByTestId('user-create-done').waitFor();
    await ap.getByTestId('users-search').fill(op.username);
    await ap.getByTestId('users-search-submit').click();
    await ap.getByTestId(`users-row-${op.username}`).waitFor();
    const teamName = `一課 ${tag}`;
    await openSection(ap, 'teams');
    await ap.getByTestId('team-create-name').fill(teamName);
    await ap.getByTestId('team-create-submit').click();
    await ap.getByTestId(`team-row-${teamName}`).waitFor();
    await ap.getByTestId(`team-open-${teamName}`).click();
    await ap.getByTestId('team-operators-search').fill(op.username);
    await ap.getByTestId('team-operators-search').press('Enter');
    await ap.getByTestId(`team-operators-add-${op.username}`).click();
    await ap.getByTestId('team-members-save').click();
    await ap.getByTestId('team-editor-status').waitFor();

    const campaignName = `電気料金窓口 ${tag}`;
    const did = `+8150${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    await openSection(ap, 'campaigns');
    await ap.getByTestId('campaign-new').click();
    await ap.getByTestId('campaign-create-name').fill(campaignName);
    await ap.getByTestId('campaign-create-dids').fill(did);
    await ap.getByTestId('campaign-create-dispositions').fill('解決\n折り返し');
    // a line answered around the clock (the form's default is Mon-Fri 09:00-18:00, enforced): the test runs at any hour
    await ap.getByTestId('campaign-create-enforce-hours').uncheck();
    await ap.getByTestId('campaign-create-submit').click();
    await ap.getByTestId('campaign-create-done').waitFor();
    await ap.getByTestId('campaign-editor').waitFor();
    await ap.getByTestId('campaign-assign-search').fill(op.username);
    await ap.getByTestId('campaign-assign-search').press('Enter');
    await ap.getByTestId(`campaign-assign-add-${op.username}`).click();
    await ap.getByTestId('campaign-assignments-save').click();
    await ap.getByTestId('campaign-editor-status').waitFor();

    // 4. The admin watches alerts while the operator signs in on a new PC.
    await openSection(ap, 'alerts');
    const opPage = await pcPage(ports[1]!, 'KOE-OP-PC-7');
    await signIn(opPage, op.username, op.temp);
    // the temporary password: changed before anything else
    await opPage.getByTestId('password-change-required').waitFor();
    await opPage.getByLabel('現在のパスワード').fill(op.temp);
    await opPage.getByLabel('新しいパスワード', { exact: true }).fill(op.password);
    await opPage.getByLabel('新しいパスワード（確認）').fill(op.password);
    await opPage.getByTestId('password-submit').click();
    await opPage.getByTestId('phone-panel').waitFor();
    await opPage.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 20_000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${logTail(stackLogs(stack).kamailio, 40)}`);
    });
    // the new-device alert reaches the open console live (no reload asked for)
    const alertRow = ap.locator(`[data-testid="alert-row"][data-kind="new_device"][data-user="${op.username}"]`);
    await alertRow.waitFor({ timeout: 10_000 });
    expect(await alertRow.textContent()).toContain('KOE-OP-PC-7');

    // 5. The operator takes a call on the new campaign's DID.
    await opPage.getByTestId('agent-ready').click();
    await opPage.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
    pstn.dial(`sip:${did}@${stack.sip.domain}`);
    await opPage.getByTestId('ringing').waitFor({ timeout: 15_000 });
    expect(await opPage.getByTestId('customer-campaign').textContent()).toContain(campaignName);
    await opPage.getByTestId('answer').click();
    await opPage.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    await opPage.getByTestId('wrapup').waitFor({ timeout: 10_000 });
    await opPage.getByTestId('disposition').selectOption('解決');
    await opPage.getByTestId('finish-wrapup').click();
    await opPage.locator('[data-testid="agent-state"][data-state="ready"]').waitFor();

    // 6. The webhook receiver got the new-device alert, correctly signed.
    await expect.poll(() => deliveries.filter((d) => d.body.includes('new_device') && d.body.includes(op.username)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    const delivered = deliveries.find((d) => d.body.includes('new_device') && d.body.includes(op.username))!;
    expect(delivered.headers['content-type']).toMatch(/application\/json/);
    expect(signatureValid(delivered, hookSecret)).toBe(true);
    expect(signatureValid(delivered, `${hookSecret}x`)).toBe(false);
    expect(signatureValid({ ...delivered, body: delivered.body.replace('new_device', 'new_devicf') }, hookSecret)).toBe(false);

    // 7. The admin revokes the operator's session: the operator's window signs out.
    await openSection(ap, 'sessions');
    await ap.getByTestId('sessions-reload').click();
    const row = ap.locator(`[data-testid="sessions-row"][data-username="${op.username}"]`).first();
    await row.waitFor();
    const sessionId = (await row.getAttribute('data-session-id'))!;
    await ap.getByTestId(`session-revoke-${sessionId}`).click();
    await ap.getByTestId('admin-confirm-ok').click();
    await ap.getByTestId('sessions-done').waitFor();
    await opPage.getByTestId('session-ended').waitFor({ timeout: 10_000 });
    expect(await opPage.getByTestId('session-ended').textContent()).toContain('管理者');

    // 8. The audit viewer shows each step.
    await openSection(ap, 'audit');
    const actions = async () => ap.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    await ap.getByTestId('audit-row').first().waitFor();
    const seen = new Set<string | null>();
    // newest first: page back until every step is seen (or the log ends)
    for (let page = 0; page < 10; page++) {
      for (const a of await actions()) seen.add(a);
      if (['totp.enabled', 'webhook.created', 'user.created', 'team.created', 'team.members_changed', 'campaign.created', 'campaign.assignments_changed', 'user.password_changed', 'device.enrolled', 'session.revoked'].every((a) => seen.has(a))) break;
      if (!(await ap.getByTestId('audit-next').isEnabled())) break;
      await ap.getByTestId('audit-next').click();
      await ap.waitForTimeout(300);
    }
    expect([...seen]).toEqual(expect.arrayContaining(['totp.enabled', 'webhook.created', 'user.created', 'team.created', 'team.members_changed', 'campaign.created', 'campaign.assignments_changed', 'user.password_changed', 'device.enrolled', 'session.revoked']));
    // filtered by an action prefix: only those
    await ap.getByTestId('audit-filter-action').fill('campaign.*');
    await ap.getByTestId('audit-apply').click();
    await expect.poll(async () => [...new Set(await actions())].every((a) => a?.startsWith('campaign.'))).toBe(true);
    expect(await actions()).toEqual(expect.arrayContaining(['campaign.created', 'campaign.assignments_changed']));
    // the chain's verification status is shown
    await expect.poll(() => ap.getByTestId('audit-chain').getAttribute('data-state'), { timeout: 30_000 }).toBe('verified');
  });
});
