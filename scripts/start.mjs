#!/usr/bin/env node
// `npm start`: build; start the local stack (gateway with demo data on PGlite, Kamailio,
// rtpengine: deploy/stack-cli.ts) unless --no-stack; then run Koe in Electron when its binary
// is present or can be fetched, otherwise say why in one line and open the same app in the
// dev host (Debian Chromium), pointed at the stack by a generated client policy file.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const withStack = !args.includes('--no-stack');
const appArgs = args.filter((a) => a !== '--no-stack');
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
const DEVHOST_PORT = process.env.KOE_DEVHOST_PORT ?? '5174';

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) process.exit(build.status ?? 1);

function electronBinary() {
  try {
    return { path: require('electron') };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

let electron = electronBinary();
if (electron.error && process.env.KOE_NO_ELECTRON_FETCH !== '1') {
  // The electron package's own installer fetches the binary; it is not run at npm install.
  const fetched = spawnSync(process.execPath, [path.join(root, 'node_modules/electron/install.js')], {
    cwd: path.join(root, 'node_modules/electron'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (fetched.status === 0) electron = electronBinary();
  else {
    const why = `${fetched.stderr ?? ''}${fetched.error?.message ?? ''}`.match(/(ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|timed out)/)?.[1];
    electron.error = `its download failed${why ? ` (${why})` : ''}`;
  }
}

const children = [];
const stopAll = (code) => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stopAll(0));

const env = { ...process.env };
if (withStack) {
  const policyFile = path.join(root, '.koe-data/stack-policy.json');
  mkdirSync(path.dirname(policyFile), { recursive: true });
  rmSync(policyFile, { force: true });
  const stack = spawn(process.execPath, [tsx, path.join(root, 'deploy/stack-cli.ts')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, KOE_STACK_POLICY_FILE: policyFile, KOE_STACK_CORS_ORIGINS: `http://127.0.0.1:${DEVHOST_PORT}` },
  });
  children.push(stack);
  const started = Date.now();
  while (!existsSync(policyFile) && stack.exitCode === null && Date.now() - started < 90_000) {
    await new Promise((r) => setTimeout(r, 200));
  }
  if (existsSync(policyFile)) env.KOE_POLICY_FILE = policyFile;
  else console.log('Koe: the local stack did not start (see above); opening the app without it. `npm start -- --no-stack` skips it.');
}

const app = electron.path
  ? spawn(electron.path, [root, ...appArgs], { stdio: 'inherit', env })
  : (console.log(
      `Koe: the Electron binary is not available (${electron.error}); starting the dev host in Debian Chromium instead (a development and test tool).`,
    ),
    spawn(process.execPath, [tsx, path.join(root, 'main/devhost/cli.ts'), `--port=${DEVHOST_PORT}`, ...appArgs], { stdio: 'inherit', env }));
children.push(app);
app.on('exit', (code) => stopAll(code ?? 0));
