import { describe, expect, it } from 'vitest';
import { windowOptions } from '../../../main/security/window';

describe('windowOptions', () => {
  const opts = windowOptions({ preloadPath: '/opt/koe/preload/index.cjs', title: 'Koe' });
  const web = opts.webPreferences ?? {};

  it.each([
    ['contextIsolation', true],
    ['sandbox', true],
    ['nodeIntegration', false],
    ['nodeIntegrationInWorker', false],
    ['nodeIntegrationInSubFrames', false],
    ['webSecurity', true],
    ['allowRunningInsecureContent', false],
    ['webviewTag', false],
    ['experimentalFeatures', false],
    ['enableBlinkFeatures', ''],
    ['navigateOnDragDrop', false],
    ['disableBlinkFeatures', 'Auxclick'],
  ] as const)('webPreferences.%s is pinned to %s', (flag, expected) => {
    // Explicitly set, not left to Electron's default (defaults have changed between versions).
    expect(Object.hasOwn(web, flag)).toBe(true);
    expect(web[flag]).toBe(expected);
  });

  it('loads no extra Blink features and no other script entry besides the preload', () => {
    expect(web.enableBlinkFeatures).toBe('');
    expect(web).not.toHaveProperty('additionalArguments');
    expect(web.disableBlinkFeatures).toBe('Auxclick'); // middle-click must not open new windows
  });

  it('passes the preload path through unchanged', () => {
    expect(web.preload).toBe('/opt/koe/preload/index.cjs');
    expect(windowOptions({ preloadPath: 'C:\\Koe\\preload.cjs', title: 'Koe' }).webPreferences?.preload).toBe('C:\\Koe\\preload.cjs');
  });

  it('is hidden until ready-to-show unless asked otherwise', () => {
    expect(opts.show).toBe(false);
    expect(windowOptions({ preloadPath: 'p', title: 'Koe', show: true }).show).toBe(true);
  });

  it('uses the given title', () => {
    expect(opts.title).toBe('Koe');
  });

  it('returns a fresh object each call (a caller mutating it cannot weaken the next window)', () => {
    const a = windowOptions({ preloadPath: 'p', title: 'Koe' });
    a.webPreferences!.sandbox = false;
    expect(windowOptions({ preloadPath: 'p', title: 'Koe' }).webPreferences?.sandbox).toBe(true);
  });
});
