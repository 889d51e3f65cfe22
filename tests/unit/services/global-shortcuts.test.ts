// Main's global answer / hang-up (issue 18 item 3): registered with the OS only while a user is
// signed in and the policy allows it, handed to the renderer as `shortcut:pressed`.
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { wireEvents } from '../../../main/services';
import { GlobalShortcutService, type GlobalShortcutLike } from '../../../main/services/global-shortcuts';
import { makeServices, recordingLogger, signedInAs } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Electron's globalShortcut as the OS would answer: `taken` are held by another application. */
function fakeOs(taken: string[] = []) {
  const held = new Map<string, () => void>();
  const log: string[] = [];
  const os: GlobalShortcutLike = {
    register: (accelerator, cb) => {
      log.push(`register ${accelerator}`);
      if (taken.includes(accelerator)) return false;
      held.set(accelerator, cb);
      return true;
    },
    unregister: (accelerator) => {
      log.push(`unregister ${accelerator}`);
      held.delete(accelerator);
    },
  };
  return { os, held, log, press: (accelerator: string) => held.get(accelerator)?.() };
}

describe('global shortcuts in main', () => {
  it('registered while signed in, pressed -> shortcut:pressed to the renderer; the session ends -> the keys go back to the OS', async () => {
    const os = fakeOs();
    const s = await makeServices({ globalShortcut: os.os });
    dirs.push(s.userDataDir);
    const sent: [string, unknown][] = [];
    wireEvents(s, (event, payload) => sent.push([event, payload]));
    s.shortcuts.sync();
    expect(os.held.size).toBe(0); // signed out: nothing taken from other applications

    const real = s.session.current.bind(s.session);
    signedInAs(s);
    s.policy.setUser({ language: 'en' }); // any policy change re-checks
    expect([...os.held.keys()]).toEqual(['Control+Alt+A', 'Control+Alt+E']);
    expect(s.shortcuts.registered()).toEqual(['answer', 'hangup']);

    os.press('Control+Alt+A');
    os.press('Control+Alt+E');
    expect(sent.filter(([e]) => e === 'shortcut:pressed')).toEqual([
      ['shortcut:pressed', { action: 'answer' }],
      ['shortcut:pressed', { action: 'hangup' }],
    ]);

    s.session.current = real; // the real session (signed out) from here
    await s.session.end('signed-out');
    expect(os.held.size).toBe(0);
    expect(os.log.slice(-2)).toEqual(['unregister Control+Alt+A', 'unregister Control+Alt+E']);
  });

  it('the managed policy can turn them off: nothing is registered, signed in or not', async () => {
    const os = fakeOs();
    const s = await makeServices({ globalShortcut: os.os, managedPolicy: { globalShortcuts: false } });
    dirs.push(s.userDataDir);
    signedInAs(s);
    s.shortcuts.sync();
    expect(os.log).toEqual([]);
    expect(s.policy.effective().managedKeys).toContain('globalShortcuts');
  });

  it('the dev host (no OS shortcuts) registers nothing and fails nothing', async () => {
    const s = await makeServices();
    dirs.push(s.userDataDir);
    signedInAs(s);
    expect(() => s.shortcuts.sync()).not.toThrow();
    expect(s.shortcuts.registered()).toEqual([]);
  });

  it('a key another application holds is left to it and logged; a throwing OS call is logged, never thrown', () => {
    const os = fakeOs(['Control+Alt+A']);
    const { log, records } = recordingLogger();
    let want = true;
    const g = new GlobalShortcutService(os.os, () => want, log);
    g.sync();
    expect(g.registered()).toEqual(['hangup']);
    expect(records).toEqual([{ level: 'warn', message: 'a global shortcut is held by another application: only the in-window key works', fields: { accelerator: 'Control+Alt+A' } }]);
    // a later sync tries the held one again (the other application may have let it go), not the one it has
    g.sync();
    expect(os.log.filter((l) => l === 'register Control+Alt+E')).toHaveLength(1);
    expect(os.log.filter((l) => l === 'register Control+Alt+A')).toHaveLength(2);

    const broken: GlobalShortcutLike = { register: () => { throw new TypeError('bad accelerator'); }, unregister: () => { throw new Error('gone'); } };
    const g2 = new GlobalShortcutService(broken, () => want, log);
    expect(() => g2.sync()).not.toThrow();
    expect(g2.registered()).toEqual([]);
    expect(records.filter((r) => r.message === 'registering a global shortcut failed')).toHaveLength(2);
    want = false;
    expect(() => g.sync()).not.toThrow();
    expect(g.registered()).toEqual([]);
  });
});
