import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { featureCycles, importCycles, importsOf, readSourceTree, scanBoundaries, type SourceFile } from '../support/boundaries';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const rulesOf = (files: SourceFile[]) => scanBoundaries(files).map((v) => `${v.file}:${v.rule}`);
const one = (p: string, text: string) => rulesOf([{ path: p, text }]);

describe('environment boundaries of the real source tree', () => {
  const files = readSourceTree(repoRoot);

  it('finds the source files of every environment', () => {
    const envs = new Set(files.map((f) => f.path.split('/')[0]));
    expect(envs).toEqual(new Set(['main', 'preload', 'renderer', 'shared', 'server']));
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['main/index.ts', 'preload/index.ts', 'shared/ipc/contract.ts']));
  });

  it('has no file importing across an environment boundary', () => {
    const violations = scanBoundaries(files).map((v) => `${v.file}:${v.line} [${v.rule}] ${v.message}`);
    expect(violations).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(files).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('has no cycle between renderer features (a feature folder imports none that imports it back)', () => {
    // the real tree has features that depend on others (home -> phone, customer -> phone), so the rule is not vacuous
    expect(files.filter((f) => f.path.startsWith('renderer/src/features/')).length).toBeGreaterThan(10);
    expect(featureCycles(files).map((c) => c.join(' -> '))).toEqual([]);
  });
});

describe('feature cycle finder', () => {
  it('finds a cycle between two features that no cycle of files shows', () => {
    const files = [
      { path: 'renderer/src/features/phone/telephony.ts', text: `import { setPop } from '../customer/store';` },
      { path: 'renderer/src/features/customer/store.ts', text: `export const setPop = 1;` },
      { path: 'renderer/src/features/customer/Card.tsx', text: `import type { CallView } from '../phone/phone-store';` },
      { path: 'renderer/src/features/phone/phone-store.ts', text: `export type CallView = {};` },
    ];
    expect(importCycles(files)).toEqual([]);
    expect(featureCycles(files)).toEqual([['customer', 'phone', 'customer']]);
  });

  it('sees a cycle that goes through the renderer core, and one of three features', () => {
    expect(featureCycles([
      { path: 'renderer/src/features/phone/a.ts', text: `import '../../app/bridge';` },
      { path: 'renderer/src/app/bridge.ts', text: `import '../features/customer/b';` },
      { path: 'renderer/src/features/customer/b.ts', text: `export {};` },
      { path: 'renderer/src/features/customer/c.ts', text: `import '../phone/a';` },
    ])).toEqual([['customer', 'phone', 'customer']]);
    expect(featureCycles([
      { path: 'renderer/src/features/a/x.ts', text: `import '../b/x';` },
      { path: 'renderer/src/features/b/x.ts', text: `import '../c/x';` },
      { path: 'renderer/src/features/c/x.ts', text: `import type { T } from '../a/x';` },
    ])).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('leaves one-way dependencies, imports inside a feature and a shared core alone', () => {
    expect(featureCycles([
      { path: 'renderer/src/features/shell/AppShell.tsx', text: `import '../phone/Telephony';\nimport '../customer/Card';\nimport './StatusBar';` },
      { path: 'renderer/src/features/shell/StatusBar.tsx', text: `import './AppShell';\nimport '../phone/PhoneStatus';` },
      { path: 'renderer/src/features/customer/Card.tsx', text: `import '../phone/phone-store';\nimport '../../app/user-data';` },
      { path: 'renderer/src/features/phone/phone-store.ts', text: `import '../../app/user-data';` },
      { path: 'renderer/src/features/phone/Telephony.tsx', text: `import './phone-store';` },
      { path: 'renderer/src/features/phone/PhoneStatus.tsx', text: `import './phone-store';` },
      { path: 'renderer/src/app/user-data.ts', text: `import 'zustand';` },
    ])).toEqual([]);
  });
});

describe('cycle finder', () => {
  it('finds a cycle held together only by a type import, and names its path', () => {
    const cycles = importCycles([
      { path: 'server/context.ts', text: `import { Service } from './svc/service';` },
      { path: 'server/svc/service.ts', text: `import { rule } from '../rules/scope.js';` },
      { path: 'server/rules/scope.ts', text: `import type { Ctx } from '../context';` },
      { path: 'server/other.ts', text: `import { Service } from './svc/service';` },
    ]);
    expect(cycles).toEqual([['server/context.ts', 'server/svc/service.ts', 'server/rules/scope.ts', 'server/context.ts']]);
  });

  it('finds re-export and index cycles, a file importing itself, and leaves a diamond alone', () => {
    expect(importCycles([
      { path: 'shared/a/index.ts', text: `export * from './b';` },
      { path: 'shared/a/b.ts', text: `import type { X } from '.';` },
    ])).toEqual([['shared/a/b.ts', 'shared/a/index.ts', 'shared/a/b.ts']]);
    expect(importCycles([{ path: 'main/x.ts', text: `import { y } from './x';` }])).toEqual([['main/x.ts', 'main/x.ts']]);
    expect(importCycles([
      { path: 'main/a.ts', text: `import './b';\nimport './c';` },
      { path: 'main/b.ts', text: `import './d';` },
      { path: 'main/c.ts', text: `import './d';` },
      { path: 'main/d.ts', text: `import { z } from 'zod';` },
    ])).toEqual([]);
  });
});

describe('boundary scanner catches each kind of violation', () => {
  it.each([
    // (a) shared
    ['shared/x.ts', `import { readFileSync } from 'node:fs';`, 'shared-no-node'],
    ['shared/x.ts', `import path from 'path';`, 'shared-no-node'],
    ['shared/x.ts', `import { createHash } from 'crypto';`, 'shared-no-node'],
    ['shared/x.ts', `import { readFile } from 'fs/promises';`, 'shared-no-node'],
    ['shared/x.ts', `import type { Stats } from 'node:fs';`, 'shared-no-node'],
    ['shared/x.ts', `import type { BrowserWindow } from 'electron';`, 'shared-no-electron'],
    ['shared/x.ts', `import { useState } from 'react';`, 'shared-no-dom'],
    ['shared/x.ts', `import { createRoot } from 'react-dom/client';`, 'shared-no-dom'],
    ['shared/x.ts', `import Fastify from 'fastify';`, 'shared-no-node'],
    ['shared/ipc/x.ts', `import { windowOptions } from '../../main/security/window';`, 'shared-self-contained'],
    ['shared/x.ts', `import type { KoeApi } from '../renderer/src/koe';`, 'shared-self-contained'],
    ['shared/x.ts', `export { db } from '../server/db/connect';`, 'shared-self-contained'],
    ['shared/x.ts', `const fs = require('fs');`, 'shared-no-node'],
    ['shared/x.ts', `export const load = () => import('node:fs');`, 'shared-no-node'],
    ['shared/x.ts', `export const w = () => window.innerWidth;`, 'shared-no-globals'],
    ['shared/x.ts', `export const d = document.title;`, 'shared-no-globals'],
    ['shared/x.ts', `export const env = process.env.KOE;`, 'shared-no-globals'],
    ['shared/x.ts', `export const b = Buffer.from('x');`, 'shared-no-globals'],
    // (b) renderer
    ['renderer/src/x.ts', `import { readFileSync } from 'node:fs';`, 'renderer-no-node'],
    ['renderer/src/x.tsx', `import os from 'os';`, 'renderer-no-node'],
    ['renderer/src/x.ts', `import { ipcRenderer } from 'electron';`, 'renderer-no-electron'],
    ['renderer/src/x.ts', `import type { IpcRenderer } from 'electron';`, 'renderer-no-electron'],
    ['renderer/src/x.ts', `import { createHandlers } from '../../main/services';`, 'renderer-isolated'],
    ['renderer/src/x.ts', `import type { MainServices } from '../../main/services';`, 'renderer-isolated'],
    ['renderer/src/x.ts', `import { buildKoeApi } from '../../preload/api';`, 'renderer-isolated'],
    ['renderer/src/x.ts', `import { loadConfig } from '../../server/config';`, 'renderer-isolated'],
    ['renderer/src/x.ts', `const m = await import('../../main/assets');`, 'renderer-isolated'],
    // (c) electron as a value outside the composition root
    ['main/services/x.ts', `import { app } from 'electron';`, 'electron-value'],
    ['main/security/x.ts', `import { type BrowserWindow } from 'electron';`, 'electron-value'],
    ['main/x.ts', `import 'electron';`, 'electron-value'],
    ['main/x.ts', `const { shell } = require('electron');`, 'electron-value'],
    ['main/x.ts', `export const e = () => import('electron');`, 'electron-value'],
    ['main/x.ts', `export { app } from 'electron';`, 'electron-value'],
    ['preload/api.ts', `import { contextBridge } from 'electron';`, 'electron-value'],
    // (d) preload
    ['preload/x.ts', `import { createDispatcher } from '../main/ipc/dispatcher';`, 'preload-isolated'],
    ['preload/x.ts', `import { AppShell } from '../renderer/src/features/shell/AppShell';`, 'preload-isolated'],
    ['preload/x.ts', `import type { Config } from '../server/config';`, 'preload-isolated'],
    ['preload/x.ts', `import fs from 'node:fs';`, 'preload-sandboxed'],
    ['preload/index.ts', `import { buildKoeApi } from './api';\n(window as any).koe = buildKoeApi({} as any);`, 'preload-bridge'],
    // (e) server
    ['server/x.ts', `import { serveAsset } from '../main/assets';`, 'server-isolated'],
    ['server/x.ts', `import { buildKoeApi } from '../preload/api';`, 'server-isolated'],
    ['server/x.ts', `import type { KoeApi } from '../renderer/src/koe';`, 'server-isolated'],
    ['server/x.ts', `import type { App } from 'electron';`, 'server-no-electron'],
    // (f) main
    ['main/x.ts', `import { AppShell } from '../renderer/src/features/shell/AppShell';`, 'main-isolated'],
    ['main/session/x.ts', `import type { Principal } from '../../server/principal';`, 'main-isolated'],
    ['main/x.ts', `import { buildKoeApi } from '../preload/api';`, 'main-isolated'],
  ])('%s: `%s` -> %s', (file, text, rule) => {
    expect(one(file, text)).toContain(`${file}:${rule}`);
  });

  it.each([
    ['shared/x.ts', `import { z } from 'zod';\nimport { ClientPolicy } from '../shared/policy';\nexport const s = z.string();`],
    ['shared/x.ts', `// window.koe is derived from this contract\nexport const doc = { window: 1, location: 'x' };\nexport type T = { document: string };`],
    ['shared/x.ts', `export function f(process: number, location: string) { return process + location; }`],
    ['renderer/src/x.ts', `import type { KoeApi } from '../../shared/ipc/api';\nimport { z } from 'zod';\nexport const koe = (window as unknown as { koe: KoeApi }).koe;`],
    ['renderer/src/x.ts', `import { contract } from '../../shared/ipc/contract';`],
    ['main/security/x.ts', `import type { BrowserWindowConstructorOptions } from 'electron';`],
    ['main/x.ts', `export type W = typeof import('electron').BrowserWindow;`],
    ['main/index.ts', `import { app, BrowserWindow } from 'electron';\nimport fs from 'node:fs';`],
    ['preload/index.ts', `import { contextBridge, ipcRenderer } from 'electron';\ncontextBridge.exposeInMainWorld('koe', ipcRenderer);`],
    ['preload/api.ts', `import { contract } from '../shared/ipc/contract';\nimport type { IpcRendererEvent } from 'electron';`],
    ['server/x.ts', `import { createHash } from 'node:crypto';\nimport { Cidr } from '../shared/gateway/cidr';`],
    ['tests/unit/x.ts', `import { app } from 'electron';\nimport fs from 'node:fs';`],
  ])('allows %s: `%s`', (file, text) => {
    expect(one(file, text)).toEqual([]);
  });

  it('records type-only imports as such and dynamic/require imports as values', () => {
    const refs = importsOf({
      path: 'main/x.ts',
      text: [
        `import type { A } from 'a';`,
        `import { type B } from 'b';`,
        `export type { C } from 'c';`,
        `const d = require('d');`,
        `const e = await import('e');`,
        `type F = typeof import('f');`,
      ].join('\n'),
    });
    expect(refs.map((r) => [r.specifier, r.typeOnly, r.line])).toEqual([
      ['a', true, 1],
      ['b', false, 2],
      ['c', true, 3],
      ['d', false, 4],
      ['e', false, 5],
      ['f', true, 6],
    ]);
  });

  it('reports the line of the offending import', () => {
    const [v] = scanBoundaries([{ path: 'renderer/src/x.ts', text: `import { z } from 'zod';\n\nimport fs from 'node:fs';` }]);
    expect(v).toMatchObject({ file: 'renderer/src/x.ts', line: 3, rule: 'renderer-no-node' });
  });
});
