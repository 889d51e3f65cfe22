import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDevHost, type DevHost, type DevHostOptions } from '../../main/devhost/server';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.KOE_CHROMIUM ?? '/usr/bin/chromium';
export const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Fails (never skips) when what the e2e tests need is missing, and says what to install or run. */
export function requireE2ePrerequisites(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's "chromium" package (bash .ci/run does).`);
  for (const f of ['out/renderer/index.html', 'out/devhost/bridge.js']) {
    if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run "npm run build" (npm test does).`);
  }
}

export async function startTestDevHost(opts: Partial<DevHostOptions> = {}): Promise<DevHost & { userDataDir: string }> {
  requireE2ePrerequisites();
  const userDataDir = opts.userDataDir ?? mkdtempSync(path.join(os.tmpdir(), 'koe-e2e-'));
  const host = await startDevHost({
    rendererDir: path.join(ROOT, 'out/renderer'),
    bridgeFile: path.join(ROOT, 'out/devhost/bridge.js'),
    version: VERSION,
    quiet: true,
    ...opts,
    userDataDir,
  });
  return Object.assign(host, { userDataDir });
}

export async function launchChromium(): Promise<Browser> {
  requireE2ePrerequisites();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
}

/** Opens the app in a fresh page and collects console errors and CSP violations. */
export async function openApp(browser: Browser, host: DevHost): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(host.pageUrl());
  await page.getByTestId('app-version').waitFor({ state: 'attached' }); // folded in "About this app"
  return { page, problems };
}
