import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Electronegativity (Doyensec's Electron security linter) over the BUILT main and preload
// bundles: any HIGH finding fails npm test. It cannot fetch Electron's release list offline,
// so the Electron version is given explicitly.
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CLI = path.join(ROOT, 'node_modules/@doyensec/electronegativity/dist/index.js');
const ELECTRON = (JSON.parse(readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;

function highFindings(dir: string): string[] {
  const out = path.join(dir, 'report.csv');
  execFileSync(process.execPath, [CLI, '-i', dir, '-r', '-v', 'false', '-s', 'high', '-e', ELECTRON, '-o', out], {
    stdio: 'ignore',
    timeout: 120_000,
  });
  return readFileSync(out, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.split(',')[1] === '"HIGH"'); // its -s flag does not filter the CSV
}

describe('electronegativity on the built app', () => {
  it('finds nothing of high severity in out/main and out/preload', () => {
    if (!existsSync(path.join(ROOT, 'out/main/index.js'))) throw new Error('out/main is missing: run `npm run build` (npm test does)');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'koe-eneg-'));
    cpSync(path.join(ROOT, 'out/main'), path.join(dir, 'main'), { recursive: true });
    cpSync(path.join(ROOT, 'out/preload'), path.join(dir, 'preload'), { recursive: true });
    cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    expect(highFindings(dir)).toEqual([]);
  });

  it('does flag a window without context isolation (so the check above can fail)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'koe-eneg-bad-'));
    mkdirSync(path.join(dir, 'main'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bad', main: 'main/index.js' }));
    writeFileSync(
      path.join(dir, 'main/index.js'),
      "const { BrowserWindow } = require('electron');\nnew BrowserWindow({ webPreferences: { contextIsolation: false, sandbox: true } });\n",
    );
    const findings = highFindings(dir);
    expect(findings.some((f) => f.startsWith('CONTEXT_ISOLATION_JS_CHECK'))).toBe(true);
  });
});
