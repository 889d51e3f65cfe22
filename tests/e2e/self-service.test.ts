import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeytar, type KeytarLike } from '../../main/secrets/vault';
import { pcKeychain } from '../support/pc-keychain';
import { totpCode } from '../../server/auth/totp';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { startLoopbackGateway } from '../support/gateway-harness';
import { freePort } from '../../deploy/stack';

// Self-service in the app, end to end (issue 17): the real renderer in Chromium, main's real
// services in the dev host, real keytar, a real gateway on loopback. A fresh org's first admin,
// TOTP required by the org's policy, enrols TOTP in the app, stores the recovery codes, signs in
// with one (once: the second time it is refused), sees the new-PC notice, and changes password.

type Gw = Awaited<ReturnType<typeof startLoopbackGateway>>;
let gw: Gw;
let browser: Browser;
let keytar: KeytarLike;
/** The dev host's port, known before the gateway starts: its origin is the one the gateway's CORS allows. */
let devhostPort: number;
const run = Date.now().toString(36);

/** This test's keychain of one PC (tests/support/pc-keychain.ts), read when called: after keytar is loaded. */
const keychainOfPc = (pc: string): KeytarLike => pcKeychain(keytar, run, pc);

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('ユーザー名').fill(username);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'サインイン' }).click();
}

async function signOut(page: Page) {
  await page.getByTestId('sign-out').click();
  await page.getByRole('heading', { name: 'サインイン' }).waitFor();
}

beforeAll(async () => {
  const k = await loadKeytar();
  if (!k) throw new Error('keytar did not load (Debian package libsecret-1-dev; npm ci builds it)');
  keytar = k;
  // the org's default: admins must use TOTP, and are bound to their PC
  devhostPort = await freePort('tcp');
  gw = await startLoopbackGateway({ totpRequiredRoles: ['admin'], deviceBindingRoles: ['operator', 'team_lead', 'admin'] }, { corsOrigins: [`http://127.0.0.1:${devhostPort}`] });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('self-service in the app (dev host + Chromium + real gateway)', () => {
  it('first admin: enrols TOTP in the app, stores recovery codes, signs in with one (once), sees the new-PC notice, changes password', async () => {
    const admin = await gw.addUser('admin', '山本 管理者');
    const host = await startTestDevHost({ managedPolicy: { gatewayUrl: gw.url, idleTimeoutSeconds: 300 }, keytar: keychainOfPc('KOE-ADMIN-PC'), deviceName: 'KOE-ADMIN-PC', port: devhostPort });
    const page = await browser.newPage();
    const cspViolations: string[] = [];
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(host.pageUrl());
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();

    // 1. Sign-in answers with an enrolment-only session: the enrolment screen, nothing else.
    await signIn(page, admin.username, admin.password);
    await page.getByTestId('totp-enrolment').waitFor();
    expect(await page.getByTestId('home').count()).toBe(0);
    // ...and the gateway refuses this session everything else, whatever the renderer asks
    const refused = await page.evaluate(async (url) => {
      const t = await window.koe.session.accessToken({});
      const token = t.ok && t.value ? t.value.token : '';
      const get = async (path: string, method = 'GET') => {
        const r = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        return [r.status, ((await r.json()) as { error?: { code: string } }).error?.code ?? null] as const;
      };
      return { users: await get('/admin/users'), devices: await get('/me/devices'), sip: await get('/sip/credentials', 'POST'), me: await get('/me') };
    }, gw.url);
    expect(refused.users).toEqual([403, 'totp_enrolment_required']);
    expect(refused.devices).toEqual([403, 'totp_enrolment_required']);
    expect(refused.sip).toEqual([403, 'totp_enrolment_required']);
    expect(refused.me).toEqual([200, null]);

    await page.getByRole('button', { name: '二要素認証を設定する' }).click();
    const qr = page.getByRole('img', { name: '認証アプリに登録するための QR コード' });
    await qr.waitFor();
    // the QR code is a data: image the CSP allows, and it really loaded
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // a wrong code first: refused, in Japanese
    await page.getByLabel('確認コード（6 桁）').fill(totpCode(secret, new Date(Date.now() - 10 * 60_000)));
    await page.getByTestId('totp-confirm').click();
    await expect.poll(() => page.getByTestId('totp-error').getAttribute('data-code')).toBe('totp_invalid');
    const enrolCode = totpCode(secret, new Date());
    await page.getByLabel('確認コード（6 桁）').fill(enrolCode);
    await page.getByTestId('totp-confirm').click();
    await page.getByTestId('recovery-code-list').waitFor();
    const codes = (await page.getByTestId('recovery-code-list').locator('li').allTextContents()).map((c) => c.trim());
    expect(codes).toHaveLength(10);
    expect(await page.getByTestId('recovery-continue').isDisabled()).toBe(true);
    await page.getByLabel('リカバリーコードを安全な場所に保管しました').check();
    await page.getByTestId('recovery-continue').click();
    // 2. The sign-in completes: the workspace of a full session.
    await page.getByTestId('home').waitFor();
    expect(await page.getByTestId('recovery-code-list').count()).toBe(0);
    await expect.poll(() => host.services.link.readyState).toBe('ready');
    await signOut(page);

    // 3. Sign in with a recovery code, typed in capitals with a space instead of the hyphen.
    await signIn(page, admin.username, admin.password);
    await page.getByLabel('確認コード（6 桁）').waitFor();
    await page.getByRole('button', { name: 'リカバリーコードを使う' }).click();
    await page.getByLabel('リカバリーコード').fill(codes[0]!.toUpperCase().replace('-', ' '));
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByTestId('home').waitFor();
    // the PC the first sign-in enrolled is announced now, once, in Japanese date format
    const notice = (await page.getByTestId('new-device').textContent())!;
    expect(notice).toMatch(/^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} に 127\.0\.0\.1 から新しい PC（KOE-ADMIN-PC）が登録されました。$/);
    await signOut(page);

    // 4. The same recovery code again: refused.
    await signIn(page, admin.username, admin.password);
    await page.getByLabel('確認コード（6 桁）').waitFor();
    await page.getByRole('button', { name: 'リカバリーコードを使う' }).click();
    await page.getByLabel('リカバリーコード').fill(codes[0]!);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await expect.poll(() => page.getByTestId('signin-error').getAttribute('data-code')).toBe('totp_invalid');
    // the enrolment code replayed: refused too; the next time step's code works
    await page.getByRole('button', { name: '認証アプリのコードを使う' }).click();
    await page.getByLabel('確認コード（6 桁）').fill(enrolCode);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await expect.poll(async () => (await page.getByTestId('signin-error').textContent()) ?? '').toContain('確認コードが正しくありません');
    await page.getByLabel('確認コード（6 桁）').fill(totpCode(secret, new Date(Date.now() + 30_000)));
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByTestId('home').waitFor();
    expect(await page.getByTestId('new-device-notice').count()).toBe(0); // told once

    // 5. Account: my PCs, then a password change with the rules shown as typed.
    await page.getByTestId('account-open').click();
    const mine = page.getByTestId('my-device');
    await mine.first().waitFor();
    expect(await mine.count()).toBe(1);
    expect(await mine.first().textContent()).toMatch(/KOE-ADMIN-PC.*この PC.*\d{4}年\d{1,2}月\d{1,2}日.*127\.0\.0\.1/);
    await page.getByLabel('現在のパスワード').fill(admin.password);
    await page.getByLabel('新しいパスワード', { exact: true }).fill('short');
    expect(await page.locator('[data-rule="too_short"]').getAttribute('data-met')).toBe('false');
    const newPassword = 'Kawa-Nagare-2027!';
    await page.getByLabel('新しいパスワード', { exact: true }).fill(newPassword);
    expect(await page.locator('[data-testid="password-rules"] li[data-met="false"]').count()).toBe(0);
    await page.getByLabel('新しいパスワード（確認）').fill(newPassword);
    await page.getByTestId('password-submit').click();
    await page.getByTestId('password-saved').waitFor();
    await signOut(page);
    await signIn(page, admin.username, admin.password);
    await expect.poll(() => page.getByTestId('signin-error').getAttribute('data-code')).toBe('invalid_credentials');
    await signIn(page, admin.username, newPassword);
    await page.getByLabel('確認コード（6 桁）').waitFor();
    // (the next time step's code was used above; the one after is outside the ±30 s window until time moves on)
    await page.getByRole('button', { name: 'リカバリーコードを使う' }).click();
    await page.getByLabel('リカバリーコード').fill(` ${codes[1]!} `);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByTestId('home').waitFor();

    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(await gw.auditActions()).toEqual(expect.arrayContaining(['totp.enrolment_started', 'totp.enabled', 'totp.recovery_code_used', 'user.password_changed']));
    await page.close();
    await host.close();
  });
});
