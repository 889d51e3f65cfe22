#!/usr/bin/env node
// `npm start`: build, then run Koe in Electron when its binary is present or can be fetched;
// otherwise say why in one line and open the same app in the dev host (Debian Chromium).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const extra = process.argv.slice(2);

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

const child = electron.path
  ? spawn(electron.path, [root, ...extra], { stdio: 'inherit' })
  : (console.log(
      `Koe: the Electron binary is not available (${electron.error}); starting the dev host in Debian Chromium instead (a development and test tool).`,
    ),
    spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'main/devhost/cli.ts'), ...extra], {
      stdio: 'inherit',
    }));
child.on('exit', (code) => process.exit(code ?? 0));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
