import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeytar, type KeytarLike } from '../../main/secrets/vault';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { startLoopbackGateway } from '../support/gateway-harness';
import { freePort } from '../../deploy/stack';

// A temporary password, end to end (issue 17): the real renderer in Chromium, main's real
// services in the dev host, real keytar, a real gateway on loopback. An operator works; an
// admin resets their password (POST /admin/users/:id/password); the operator signs in with the
// temporary one and sees only the password change (the gateway refuses that session everything
// else, the live link stays stopped); they change it and the same session opens the workspace.

type Gw = Awaited<ReturnType<typeof startLoopbackGateway>>;
let gw: Gw;
let browser: Browser;
let keytar: KeytarLike;
let devhostPort: number;
const run = Date.now().toString(36);

beforeAll(async () => {
  const k = await loadKeytar();
  if (!k) throw new Error('keytar did not load (Debian package libsecret-1-dev; npm ci builds it)');
  keytar = k;
  devhostPort = await freePort('tcp');
  gw = await startLoopbackGateway({ deviceBindingRoles: ['operator'] }, { corsOrigins: [`http://127.0.0.1:${devhostPort}`] });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('a temporary password in the app (dev host + Chromium + real gateway)', () => {
  it('admin resets an operator\'s password; the operator signs in, must change it, then works', async () => {
    const op = await gw.addUser('operator', '佐藤 花子');
    const svc = (s: string) => `${s} [${run} KOE-OP-PC]`;
    const host = await startTestDevHost({
      managedPolicy: { gatewayUrl: gw.url, idleTimeoutSeconds: 300 },
      keytar: { getPassword: (s, a) => keytar.getPassword(svc(s), a), setPassword: (s, a, p) => keytar.setPassword(svc(s), a, p), deletePassword: (s, a) => keytar.deletePassword(svc(s), a) },
      deviceName: 'KOE-OP-PC',
      port: devhostPort,
    });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const signIn = async (password: string) => {
      await page.getByLabel('ユーザー名').fill(op.username);
      await page.getByLabel('パスワード', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'サインイン' }).click();
    };
    await page.goto(host.pageUrl());
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();

    // 1. The operator works (this PC is enrolled for them).
    await signIn(op.password);
    await page.getByTestId('home').waitFor();
    await expect.poll(() => host.services.link.readyState).toBe('ready');

    // 2. An admin resets the password: the operator's session ends (revoked) at once.
    const temporary = 'Kari-Pasuwado-2026!';
    const reset = await gw.asAdmin('POST', `/admin/users/${op.id}/password`, { password: temporary });
    expect(reset.status).toBe(200);
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();

    // 3. The old password is refused; the temporary one opens only the password change.
    await signIn(op.password);
    await expect.poll(() => page.getByTestId('signin-error').getAttribute('data-code')).toBe('invalid_credentials');
    await signIn(temporary);
    await page.getByTestId('password-change-required').waitFor();
    expect(await page.getByTestId('home').count()).toBe(0);
    expect(host.services.link.readyState).not.toBe('ready');
    // ...and the gateway refuses this session everything else, whatever the renderer asks
    const refused = await page.evaluate(async (url) => {
      const t = await window.koe.session.accessToken({});
      const token = t.ok && t.value ? t.value.token : '';
      const call = async (path: string, method = 'GET') => {
        const r = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        return [r.status, ((await r.json()) as { error?: { code: string } }).error?.code ?? null] as const;
      };
      return { devices: await call('/me/devices'), sip: await call('/sip/credentials', 'POST'), me: await call('/me') };
    }, gw.url);
    expect(refused.devices).toEqual([403, 'password_change_required']);
    expect(refused.sip).toEqual([403, 'password_change_required']);
    expect(refused.me).toEqual([200, null]);

    // 4. Keeping the temporary password is refused by the gateway, shown in Japanese; then a new one.
    await page.getByLabel('現在のパスワード').fill(temporary);
    await page.getByLabel('新しいパスワード', { exact: true }).fill(temporary);
    await page.getByLabel('新しいパスワード（確認）').fill(temporary);
    await page.getByTestId('password-submit').click();
    await expect.poll(async () => (await page.getByTestId('password-error').textContent()) ?? '').toContain('パスワードの条件を満たしていません');
    const chosen = 'Jibun-De-Kimeta-77#';
    await page.getByLabel('新しいパスワード', { exact: true }).fill(chosen);
    await page.getByLabel('新しいパスワード（確認）').fill(chosen);
    await page.getByTestId('password-submit').click();
    // 5. The same session is a full one: the workspace and the live link.
    await page.getByTestId('home').waitFor();
    expect(await page.getByTestId('password-change-required').count()).toBe(0);
    await expect.poll(() => host.services.link.readyState).toBe('ready');
    await page.getByTestId('sign-out').click();
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();
    await signIn(chosen);
    await page.getByTestId('home').waitFor();
    expect(await page.getByTestId('password-change-required').count()).toBe(0);

    expect(pageErrors).toEqual([]);
    expect(await gw.auditActions()).toEqual(expect.arrayContaining(['user.password_reset', 'user.password_changed']));
    await page.close();
    await host.close();
  });
});
