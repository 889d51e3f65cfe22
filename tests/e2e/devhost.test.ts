import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { launchChromium, openApp, startTestDevHost, VERSION } from '../support/devhost-harness';

let host: Awaited<ReturnType<typeof startTestDevHost>>;
let browser: Browser;

beforeAll(async () => {
  host = await startTestDevHost({ fetch: async () => ({ ok: true, status: 200, json: async () => ({ status: 'ok', version: 'gw-1' }) }) });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await host?.close();
});

describe('Koe in the dev host (real renderer in Chromium, real main services)', () => {
  it('loads the app shell with status bar, app info and a dev-host title, without errors', async () => {
    const { page, problems } = await openApp(browser, host);
    expect(await page.getByTestId('app-version').textContent()).toBe(VERSION);
    await expect.poll(() => page.getByTestId('status-gateway').getAttribute('data-tone')).toBe('ok');
    expect(await page.getByTestId('status-lock').getAttribute('data-tone')).toBe('ok');
    expect(await page.title()).toContain('開発用ホスト');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('round-trips a real channel through window.koe and main persists the result', async () => {
    const { page } = await openApp(browser, host);
    const info = await page.evaluate(() => window.koe.app.info({}));
    expect(info).toEqual({ ok: true, value: expect.objectContaining({ host: 'devhost', version: VERSION }) });

    const set = await page.evaluate(() => window.koe.settings.setLanguage({ language: 'en' }));
    expect(set).toEqual({ ok: true, value: { language: 'en' } });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const saved = JSON.parse(readFileSync(path.join(host.userDataDir, 'settings.json'), 'utf8'));
    expect(saved).toEqual({ language: 'en' });
    await page.evaluate(() => window.koe.settings.setLanguage({ language: 'ja' }));
    await page.close();
  });

  it('answers a bad payload with a typed error and changes nothing', async () => {
    const { page } = await openApp(browser, host);
    const results = await page.evaluate(async () => [
      await window.koe.settings.setLanguage({ language: 'fr' } as never),
      await window.koe.settings.setLanguage({ language: 'en', extra: 1 } as never),
      await window.koe.shell.openExternal({ url: 42 } as never),
    ]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(results[0]).toMatchObject({ error: { message: expect.stringContaining('language') } });
    expect(host.services.settings.get().language).not.toBe('fr');
    const denied = await page.evaluate(() => window.koe.shell.openExternal({ url: 'file:///etc/passwd' }));
    expect(denied).toMatchObject({ ok: false, error: { code: 'not_allowed' } });
    await page.close();
  });

  it('delivers main -> renderer events (a policy change re-renders); signed out, an idle or OS lock never traps the user behind a lock screen', async () => {
    const { page } = await openApp(browser, host);
    await page.locator('input[name="password"]').waitFor();
    host.services.lock.lock('idle');
    host.services.lock.lock('os-lock');
    host.services.policy.setUser({ language: 'en' });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByTestId('lock-screen').count()).toBe(0);
    expect(await page.locator('input[name="password"]').count()).toBe(1);
    expect(host.services.lock.current().locked).toBe(false);
    host.services.policy.setUser({ language: 'ja' });
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();
    await page.close();
  });

  it('keeps the page locked down: strict CSP, no inline script or handler, no remote script, window.koe cannot be replaced', async () => {
    const { page, problems } = await openApp(browser, host);
    const res = await page.request.get(host.origin + '/');
    const csp = res.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const probe = await page.evaluate(async () => {
      const w = window as unknown as { injected?: boolean; handler?: boolean; koe: unknown };
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.head.appendChild(s);
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.handler = true');
      img.src = 'data:,broken';
      document.body.appendChild(img);
      const remote = document.createElement('script');
      remote.src = 'https://cdn.example.invalid/x.js';
      document.head.appendChild(remote);
      await new Promise((r) => setTimeout(r, 300));
      let replaced = true;
      try {
        (window as unknown as { koe: unknown }).koe = { evil: true };
        replaced = (window as unknown as { koe: { evil?: boolean } }).koe.evil === true;
      } catch {
        replaced = false;
      }
      return {
        inline: w.injected === true,
        handler: w.handler === true,
        replaced,
        hasRequire: 'require' in window,
        hasProcess: 'process' in window,
        violations: [...new Set(violations)].sort(),
      };
    });
    expect(probe).toEqual({
      inline: false,
      handler: false,
      replaced: false,
      hasRequire: false,
      hasProcess: false,
      violations: ['script-src-attr', 'script-src-elem'],
    });
    expect(problems.some((p) => /Content Security Policy/i.test(p))).toBe(true);
    await page.close();
  });

  it('refuses IPC sockets without a fresh token or from another origin', async () => {
    const wsUrl = host.origin.replace('http', 'ws') + '/__koe/ipc';
    const attempt = (url: string, origin: string) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url, { headers: { Origin: origin } });
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
        ws.on('error', () => resolve('error'));
      });
    const token = new URL(host.pageUrl()).hash.split('=')[1]!;
    expect(await attempt(wsUrl, host.origin)).toBe('403');
    expect(await attempt(`${wsUrl}?token=${token}`, 'http://evil.example')).toBe('403');
    const fresh = new URL(host.pageUrl()).hash.split('=')[1]!;
    expect(await attempt(`${wsUrl}?token=${fresh}`, host.origin)).toBe('open');
    expect(await attempt(`${wsUrl}?token=${fresh}`, host.origin)).toBe('403');
  });
});
