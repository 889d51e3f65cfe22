#!/usr/bin/env node
// `npm start`: what a newcomer needs to see Koe work, in one command (README "First run").
// 1. On Linux, the OS keychain: without a Secret Service, run again inside `dbus-run-session`
//    with a private, unlocked gnome-keyring for this run (or stop, naming the packages). Never a
//    file instead of a keychain.
// 2. A Japanese font (the UI is Japanese by default): a warning naming fonts-noto-cjk.
// 3. Build; start the local stack with demo data (deploy/stack-cli.ts) unless --no-stack.
// 4. The operator's window (Electron when its binary is present or can be fetched, else the dev
//    host in Debian Chromium, said in one line) and a team lead's (a second dev host, its own
//    profile: another PC), each with the demo account to sign in with. Without a display the dev
//    hosts print links instead of opening windows.
// The decisions are pure functions in scripts/first-run.ts (tested in tests/unit/first-run.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
/** @type {typeof import('./first-run.ts')} */
const fr = await tsImport('./first-run.ts', import.meta.url);

const parsed = fr.parseStartArgs(process.argv.slice(2), process.env);
if ('help' in parsed) {
  console.log(fr.START_USAGE);
  process.exit(0);
}
if ('error' in parsed) {
  console.error(`Koe: ${parsed.error}\n${fr.START_USAGE}`);
  process.exit(2);
}
const opts = parsed;

// -- 1. the OS keychain ------------------------------------------------------------------------
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const privateKeyring = process.env.KOE_PRIVATE_KEYRING ?? null;

/** Inside the private D-Bus session: an unlocked gnome-keyring (random password, never kept) whose files live in `dir`. */
function startPrivateKeyring(dir) {
  const control = path.join(dir, 'control');
  const data = path.join(dir, 'data');
  mkdirSync(control, { recursive: true, mode: 0o700 });
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const env = { ...process.env, XDG_DATA_HOME: data };
  if (!process.env.XDG_RUNTIME_DIR) {
    // gnome-keyring wants a private runtime directory (root in a container often has none)
    const run = path.join(dir, 'run');
    mkdirSync(run, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = run;
  }
  const started = spawnSync('gnome-keyring-daemon', ['--unlock', '--components=secrets', `--control-directory=${control}`], {
    input: `${randomBytes(24).toString('base64url')}\n`,
    encoding: 'utf8',
    env,
    timeout: 15_000,
  });
  for (const line of (started.stdout ?? '').split('\n')) {
    const m = /^(GNOME_KEYRING_CONTROL|SSH_AUTH_SOCK)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
  if (started.status !== 0) console.error(`Koe: gnome-keyring-daemon failed (${started.error?.message ?? `exit ${started.status}`}): ${(started.stderr ?? '').trim().slice(0, 300)}`);
}

/** keytar's own answer: write, read and delete a probe entry in a child process. */
function probeKeychain() {
  const probe = `
    const k = require('keytar'); const s = 'Koe (npm start probe)'; const a = 'probe-' + process.pid;
    k.setPassword(s, a, 'probe').then(() => k.getPassword(s, a))
      .then((v) => k.deletePassword(s, a).then(() => process.exit(v === 'probe' ? 0 : 3)))
      .catch((e) => { console.error('koe-probe: ' + e.message); process.exit(2); });`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.error?.code === 'ETIMEDOUT') return { ok: false, timedOut: true };
  if (r.status === 0) return { ok: true };
  const stderr = r.stderr ?? '';
  const said = /koe-probe: (.*)/.exec(stderr)?.[1] ?? /Error: (.*)/.exec(stderr)?.[1] ?? `exit ${r.status}`;
  return { ok: false, error: said };
}

if (process.platform === 'linux') {
  if (privateKeyring && process.env.DBUS_SESSION_BUS_ADDRESS) startPrivateKeyring(privateKeyring);
  const decision = fr.keychainDecision({
    platform: process.platform,
    probe: probeKeychain(),
    insidePrivateKeyring: privateKeyring !== null,
    tools: { dbusRunSession: has('dbus-run-session'), gnomeKeyringDaemon: has('gnome-keyring-daemon') },
  });
  if (decision.action === 'stop') {
    console.error(`Koe: ${decision.message}`);
    process.exit(1);
  }
  if (decision.action === 'use-os' && decision.note) console.log(`Koe: ${decision.note}`);
  if (privateKeyring) console.log(fr.privateKeyringBanner(privateKeyring));
  if (decision.action === 'private-keyring') {
    // Run this very script again inside its own D-Bus session; the keyring's files go with it.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'koe-keyring-'));
    const child = spawn('dbus-run-session', ['--', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, KOE_PRIVATE_KEYRING: dir },
    });
    // Ctrl-C reaches the whole process group (the run inside stops its children); a SIGTERM sent to this process alone is passed on
    process.on('SIGINT', () => undefined);
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    child.on('error', (err) => {
      console.error(`Koe: dbus-run-session could not be started (${err.message}); install the dbus package, or run npm start in a desktop session.`);
      rmSync(dir, { recursive: true, force: true });
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(code ?? (signal ? 1 : 0));
    });
    await new Promise(() => undefined);
  }
}

// -- 2. a Japanese font --------------------------------------------------------------------------
const fcList = spawnSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' });
const fontWarning = fr.cjkFontWarning(process.platform, fcList.error ? null : (fcList.stdout ?? ''));
if (fontWarning) console.log(fontWarning);

// -- 3. build, Electron or the dev host ------------------------------------------------------------
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

/** @type {{ operator: { username: string; password: string }; lead: { username: string; password: string } } | null} */
let demo = null;
if (opts.withStack) {
  const seed = await tsImport('../server/seed.ts', import.meta.url);
  const first = (role) => seed.DEMO_USERS.find((u) => u.role === role);
  demo = {
    operator: { username: first('operator').username, password: seed.DEMO_PASSWORD },
    lead: { username: first('team_lead').username, password: seed.DEMO_PASSWORD },
  };
}
const windows = fr.planWindows({ options: opts, electron: Boolean(electron.path), display: fr.hasDisplay(process.env), demo });
if (windows.some((w) => w.via === 'devhost')) {
  console.log(
    electron.path
      ? "Koe: the team lead's window runs in the dev host (Debian Chromium, a development and test tool)."
      : `Koe: the Electron binary is not available (${electron.error}); starting the dev host in Debian Chromium instead (a development and test tool).`,
  );
}

const portFree = (port) =>
  new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).once('listening', () => s.close(() => resolve(true)));
    s.listen(port, '127.0.0.1');
  });
for (const w of windows) {
  if (w.port !== null && !(await portFree(w.port))) {
    console.error(`Koe: port ${w.port} on 127.0.0.1 is taken (another \`npm start\`?); stop it or choose others: npm start -- --port=N (the lead's is N+1).`);
    process.exit(1);
  }
}

const children = [];
let stopping = false;
const stopAll = (code) => {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stopAll(0));

const env = { ...process.env };
if (opts.withStack) {
  const policyFile = path.join(root, '.koe-data/stack-policy.json');
  mkdirSync(path.dirname(policyFile), { recursive: true });
  rmSync(policyFile, { force: true });
  const stack = spawn(process.execPath, [tsx, path.join(root, 'deploy/stack-cli.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, KOE_STACK_POLICY_FILE: policyFile, KOE_STACK_CORS_ORIGINS: fr.devhostOrigins(windows).join(',') },
  });
  children.push(stack);
  const started = Date.now();
  while (!existsSync(policyFile) && stack.exitCode === null && Date.now() - started < 90_000) {
    await new Promise((r) => setTimeout(r, 200));
  }
  if (existsSync(policyFile)) env.KOE_POLICY_FILE = policyFile;
  else console.log('Koe: the local stack did not start (see above); opening the app without it. `npm start -- --no-stack` skips it.');
}
/** Where the app's windows reach the gateway and SIP (the ports to forward to use the links from another machine). */
const reach = (() => {
  if (!env.KOE_POLICY_FILE) return null;
  try {
    return JSON.parse(readFileSync(env.KOE_POLICY_FILE, 'utf8'));
  } catch (err) {
    console.error(`Koe: could not read ${env.KOE_POLICY_FILE}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
})();
console.log(fr.windowsBanner(windows, reach));

const open = new Set();
for (const w of windows) {
  const app =
    w.via === 'electron'
      ? spawn(electron.path, [root, ...opts.appArgs], { stdio: 'inherit', env })
      : spawn(
          process.execPath,
          [
            tsx,
            path.join(root, 'main/devhost/cli.ts'),
            `--port=${w.port}`,
            ...(w.profile ? [`--profile=${w.profile}`] : []),
            ...(w.show === 'link' ? ['--serve'] : []),
            ...opts.appArgs,
          ],
          { stdio: [w.show === 'link' ? 'pipe' : 'ignore', 'inherit', 'inherit'], env },
        );
  children.push(app);
  open.add(app);
  app.on('exit', (code) => {
    open.delete(app);
    const which = w.role === 'lead' ? "team lead's" : "operator's";
    if (stopping) return;
    if (open.size > 0) console.log(`Koe: the ${which} window closed${code ? ` (exit ${code})` : ''}; the other stays open.`);
    else {
      console.log(`Koe: the ${which} window closed${code ? ` (exit ${code})` : ''}, the last one; stopping${opts.withStack ? ' the stack' : ''}.`);
      stopAll(code ?? 0);
    }
  });
}
if (windows.some((w) => w.show === 'link')) {
  // Enter: each dev host prints a new single-use link
  createInterface({ input: process.stdin }).on('line', () => {
    for (const c of open) c.stdin?.write('\n');
  });
}
