// The tray icon says the operator's state from main (issue 18 item 7): TrayService with a fake
// Electron Tray, the icons it draws decoded here (chunk CRCs checked with Node's own zlib.crc32,
// pixels read back), and the service wired in createMainServices (agent snapshot, language,
// the session's end).
import fs from 'node:fs';
import { crc32, inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TrayService, type TrayFactory, type TrayMenuItem, type TrayWindowLike } from '../../../main/services/tray';
import { trayPng, type TrayState } from '../../../main/services/tray-icons';
import { AGENT_STATES, initialOperatorState, viewOf } from '../../../shared/rules/operator-model';
import type { AgentSnapshot } from '../../../shared/ipc/contract';
import { makeServices, recordingLogger, signedInAs } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Decodes the PNGs trayPng writes (RGBA 8 bit, filter 0 rows); throws on a bad signature or CRC. */
function decode(png: Buffer): { width: number; height: number; px: (x: number, y: number) => [number, number, number, number] } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('ascii');
    const data = png.subarray(at + 8, at + 8 + len);
    expect(png.readUInt32BE(at + 8 + len), `${type} CRC`).toBe(crc32(png.subarray(at + 4, at + 8 + len)));
    types.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe(height * (1 + width * 4));
  const px = (x: number, y: number) => {
    const o = y * (1 + width * 4);
    expect(raw[o]).toBe(0); // filter: none
    const i = o + 1 + x * 4;
    return [raw[i]!, raw[i + 1]!, raw[i + 2]!, raw[i + 3]!] as [number, number, number, number];
  };
  return { width, height, px };
}

function fakeTray() {
  const calls: string[] = [];
  const images: string[] = [];
  let menu: TrayMenuItem[] = [];
  let click: (() => void) | null = null;
  const make: TrayFactory = (icon) => {
    images.push(icon.png.toString('base64'));
    return {
      setImage: (i) => void images.push(i.png.toString('base64')),
      setToolTip: (t) => void calls.push(t),
      setContextMenu: (items) => void (menu = items),
      onClick: (l) => void (click = l),
      destroy: () => void calls.push('destroyed'),
    };
  };
  const winEvents: string[] = [];
  const win: TrayWindowLike = {
    isDestroyed: () => false,
    isMinimized: () => true,
    restore: () => void winEvents.push('restore'),
    show: () => void winEvents.push('show'),
    focus: () => void winEvents.push('focus'),
  };
  return { make, calls, images, menu: () => menu, click: () => click!(), win, winEvents };
}

const snap = (agent: TrayState, link: AgentSnapshot['link'] = 'connected') => ({ view: { agent }, link, pending: [] }) as unknown as AgentSnapshot;

describe('the tray icons', () => {
  it('one valid 16 px and 32 px PNG per agent state, each state different in its pixels; shape as well as colour (a ring is hollow, a call has a white centre)', () => {
    const seen = new Set<string>();
    for (const state of AGENT_STATES) {
      for (const size of [16, 32]) {
        const img = decode(trayPng(state, size));
        expect([img.width, img.height]).toEqual([size, size]);
        expect(img.px(0, 0)[3]).toBe(0); // corners transparent
      }
      seen.add(trayPng(state, 32).toString('base64'));
    }
    expect(seen.size).toBe(AGENT_STATES.length);
    const centre = (s: TrayState) => decode(trayPng(s, 32)).px(16, 16);
    const edge = (s: TrayState) => decode(trayPng(s, 32)).px(16, 3); // on the ring, near the top
    expect(centre('ready')).toEqual([0x1b, 0x8a, 0x3c, 255]); // filled disc
    expect(centre('on_call')).toEqual([255, 255, 255, 255]); // white centre
    expect(centre('ringing')).toEqual([255, 255, 255, 255]);
    expect(centre('not_ready')[3]).toBe(0); // hollow
    expect(edge('not_ready')[3]).toBe(255);
    expect(centre('offline')[3]).toBe(255); // the slash crosses the centre
    expect(decode(trayPng('offline', 32)).px(11, 11)[3]).toBe(0); // ... but not the other diagonal
  });
});

describe('TrayService', () => {
  it('follows main\'s agent snapshot: icon, tooltip and the menu\'s first line in the UI language; "reconnecting" while the link is down; redraws only on a change', () => {
    const f = fakeTray();
    let lang: 'ja' | 'en' = 'ja';
    const { log, records } = recordingLogger();
    const t = new TrayService(f.make, () => lang, log);
    t.attach(f.win);
    expect(f.calls).toEqual(['Koe — オフライン']);
    t.agent(snap('ready'));
    t.agent(snap('ready')); // the same: nothing redrawn
    t.agent(snap('on_call'));
    t.agent(snap('on_call', 'unreachable'));
    expect(f.calls).toEqual(['Koe — オフライン', 'Koe — 受付可', 'Koe — 通話中', 'Koe — 通話中 (再接続しています)']);
    expect(f.menu().map((m) => [m.label, m.enabled])).toEqual([['通話中 (再接続しています)', false], ['Koe を表示', true]]);
    expect(f.images).toEqual((['offline', 'ready', 'on_call'] as const).map((st) => trayPng(st, 16).toString('base64'))); // the icon changed with the state only
    lang = 'en';
    t.languageChanged();
    t.agent(snap('wrap_up'));
    expect(f.calls.slice(-2)).toEqual(['Koe — On a call (reconnecting)', 'Koe — Wrap-up']);
    expect(t.current()).toEqual({ state: 'wrap_up', text: 'Koe — Wrap-up' });
    t.reset();
    expect(t.current()).toEqual({ state: 'offline', text: 'Koe — Offline' });
    expect(records).toEqual([]);
  });

  it('a click, or the menu\'s "Show Koe", brings the window back', () => {
    const f = fakeTray();
    const t = new TrayService(f.make, () => 'en', recordingLogger().log);
    t.attach(f.win);
    f.click();
    f.menu()[1]!.click!();
    expect(f.winEvents).toEqual(['restore', 'show', 'focus', 'restore', 'show', 'focus']);
  });

  it('no tray on this OS, or one that fails: said in the log, nothing thrown, Koe goes on', () => {
    const none = new TrayService(null, () => 'ja', recordingLogger().log);
    none.attach(fakeTray().win);
    none.agent(snap('ready'));
    expect(none.current()).toBeNull();
    const { log, records } = recordingLogger();
    const broken = new TrayService(() => {
      throw new Error('no StatusNotifier host');
    }, () => 'ja', log);
    broken.attach(fakeTray().win);
    broken.agent(snap('ready'));
    expect(broken.current()).toBeNull();
    expect(records.map((r) => r.message)).toEqual([expect.stringContaining('creating the tray icon')]);
  });
});

describe('the tray in main\'s services', () => {
  it('shows the state main\'s agent snapshot holds, and offline once the session ends', async () => {
    const f = fakeTray();
    const s = await makeServices({ tray: f.make });
    dirs.push(s.userDataDir);
    s.tray.attach(f.win);
    signedInAs(s);
    // the gateway's pushes, as main's agent service receives them on the link
    s.agent.fromGateway({ type: 'operatorState', view: { ...viewOf(initialOperatorState(0)), version: 1, agent: 'ready' } });
    expect(s.tray.current()?.state).toBe('ready');
    s.agent.fromGateway({ type: 'operatorState', view: { ...viewOf(initialOperatorState(0)), version: 2, agent: 'wrap_up' } });
    expect(s.tray.current()?.state).toBe('wrap_up');
    await s.session.signOut();
    expect(s.tray.current()).toEqual({ state: 'offline', text: 'Koe — オフライン' });
  });
});
