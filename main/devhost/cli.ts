// `npm run devhost`: Koe's dev host (a development and test tool, not the product).
// Serves the built renderer with the real main-process services on 127.0.0.1 and opens it in
// Debian Chromium: an --app window when a display exists, headless (with a screenshot) otherwise.
//   --port=N        listen on 127.0.0.1:N (default: a free port)
//   --profile=NAME  another PC: its own data directory (.koe-data/devhost-NAME) and its own
//                   keychain entries, so two dev hosts on one machine hold two sessions
//   --serve         no browser at all: print a single-use link to open (Enter prints a new one)
//   --headless      headless Chromium and a screenshot;  --once  stop after opening
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { loadManagedPolicy } from '../managed-policy';
import { loadKeytar, type KeytarLike } from '../secrets/vault';
import { startDevHost } from './server';

const root = path.resolve(import.meta.dirname, '../..');
const args = new Set(process.argv.slice(2));
const portArg = process.argv.find((a) => a.startsWith('--port='));
const profile = process.argv.find((a) => a.startsWith('--profile='))?.slice('--profile='.length) ?? null;
const chromiumPath = process.env.KOE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

function die(message: string): never {
  process.stderr.write(`Koe dev host: ${message}\n`);
  process.exit(1);
}

async function main() {
  const rendererDir = path.join(root, 'out/renderer');
  const bridgeFile = path.join(root, 'out/devhost/bridge.js');
  if (!existsSync(path.join(rendererDir, 'index.html')) || !existsSync(bridgeFile)) die('no build found: run `npm run build` first.');
  if (!existsSync(chromiumPath)) die(`${chromiumPath} not found: install Debian's chromium package (apt-get install chromium).`);

  const managed = await loadManagedPolicy(process.platform, process.env);
  if (!managed.ok) die(managed.message);
  if (profile !== null && !/^[a-z0-9-]{1,32}$/.test(profile)) die(`--profile must be 1-32 of a-z 0-9 -, got "${profile}"`);
  const userDataDir = path.join(root, profile ? `.koe-data/devhost-${profile}` : '.koe-data/devhost');
  mkdirSync(userDataDir, { recursive: true });
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const host = await startDevHost({
    rendererDir,
    bridgeFile,
    userDataDir,
    version,
    managedPolicy: managed.policy,
    port: portArg ? Number(portArg.split('=')[1]) : 0,
    ...(profile ? { keytar: profileKeytar(await loadKeytar(), profile), deviceName: `${os.hostname()} (${profile})` } : {}),
  });
  const label = profile ? ` [${profile}]` : '';
  process.stdout.write(`Koe dev host${label} (development and test tool) serving ${host.origin}\n`);

  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && !args.has('--headless');
  let shutdown: () => Promise<void>;
  if (args.has('--serve')) {
    // No browser of ours: a person opens the link (one page load per token; a reload resumes)
    const tell = () => process.stdout.write(`Koe dev host${label}: open ${host.pageUrl()}\n`);
    tell();
    const lines = createInterface({ input: process.stdin });
    lines.on('line', tell);
    shutdown = async () => {
      lines.close();
      await host.close();
    };
  } else if (hasDisplay) {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'koe-devhost-chromium-'));
    const child = spawn(chromiumPath, [`--app=${host.pageUrl()}`, `--user-data-dir=${profile}`, ...CHROMIUM_FLAGS], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Chromium's own words, said only when it fails (e.g. a display it cannot open)
    let said = '';
    child.stderr!.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
    shutdown = async () => {
      child.kill();
      await host.close();
      rmSync(profile, { recursive: true, force: true });
    };
    child.on('exit', (code) => {
      if (code) {
        const last = said.trim().split('\n').slice(-3).join('\n  ');
        process.stderr.write(`Koe dev host${label}: Chromium exited with code ${code}${last ? `:\n  ${last}` : ''}\nWithout a usable display, \`npm run devhost -- --serve\` (or \`npm start -- --headless\`) prints a link to open instead.\n`);
      }
      void shutdown().then(() => process.exit(code ? 1 : 0));
    });
  } else {
    const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(host.pageUrl());
    await page.getByTestId('status-lock').waitFor();
    const shot = path.join(root, '.koe-data/devhost-screenshot.png');
    await page.screenshot({ path: shot });
    process.stdout.write(`No display: Chromium runs headless. Screenshot of the app: ${shot}\n`);
    process.stdout.write(`Open ${host.origin} is token-protected; press Ctrl+C to stop.\n`);
    shutdown = async () => {
      await browser.close();
      await host.close();
    };
  }
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void shutdown().then(() => process.exit(0)));
  if (args.has('--once')) {
    await shutdown();
    process.exit(0);
  }
}

/**
 * The keychain of another PC on this one: the same OS keychain, every entry under its own
 * service name, so this profile's device key and refresh token never meet the default one's.
 */
function profileKeytar(keytar: KeytarLike | null, name: string): KeytarLike | null {
  if (!keytar) return null;
  const service = (s: string) => `${s} [profile ${name}]`;
  return {
    getPassword: (s, a) => keytar.getPassword(service(s), a),
    setPassword: (s, a, p) => keytar.setPassword(service(s), a, p),
    deletePassword: (s, a) => keytar.deletePassword(service(s), a),
  };
}

main().catch((err) => die(err instanceof Error ? err.message : String(err)));
