// A ringing call reaches the operator when Koe is not in front (issue 18 item 7): main's
// RingAlertService with fake Electron objects (Notification, BrowserWindow), and the
// `phone:ringing` channel through main's one guard (sender, payload, signed in).
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers } from '../../../main/services';
import { RingAlertService, type AlertWindowLike, type NotificationFactory } from '../../../main/services/ring-alert';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger, signedInAs } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function fakes(window: { focused?: boolean; visible?: boolean; minimized?: boolean } = {}) {
  const events: string[] = [];
  const clicks: (() => void)[] = [];
  const notify: NotificationFactory = (o) => {
    events.push(`notification "${o.title}" "${o.body}" silent=${o.silent}`);
    return {
      show: () => events.push('show'),
      close: () => events.push('close'),
      on: (_e, l) => clicks.push(l),
    };
  };
  const w = { focused: false, visible: true, minimized: false, ...window };
  const win: AlertWindowLike = {
    isDestroyed: () => false,
    isFocused: () => w.focused,
    isVisible: () => w.visible,
    isMinimized: () => w.minimized,
    flashFrame: (on) => events.push(`flash ${on}`),
    restore: () => {
      w.minimized = false;
      events.push('restore');
    },
    show: () => events.push('window show'),
    focus: () => {
      w.focused = true;
      events.push('focus');
    },
  };
  return { events, clicks, notify, win, w };
}

describe('RingAlertService', () => {
  it('minimised: an OS notification without the caller ("着信があります") and the taskbar flashes, until the ring ends; a click brings the window back', () => {
    const f = fakes({ minimized: true });
    const { log, records } = recordingLogger();
    const s = new RingAlertService(f.notify, () => 'ja', () => false, log);
    s.attach(f.win);
    expect(s.ring('c1@x', '+819012345678')).toBe(true);
    expect(f.events).toEqual(['notification "Koe" "着信があります" silent=true', 'show', 'flash true']);
    f.clicks[0]!();
    expect(f.events.slice(3)).toEqual(['restore', 'window show', 'focus']);
    s.stop('c1@x');
    expect(f.events.slice(6)).toEqual(['close', 'flash false']);
    expect(records).toEqual([]);
  });

  it('the caller is shown only when the policy allows it', () => {
    const f = fakes({ focused: false });
    const s = new RingAlertService(f.notify, () => 'en', () => true, recordingLogger().log);
    s.attach(f.win);
    s.ring('c1@x', '090-1234-5678');
    expect(f.events[0]).toBe('notification "Koe" "Incoming call from 090-1234-5678" silent=true');
    s.ring('c2@x', null); // withheld: no caller to show
    expect(f.events).toContain('notification "Koe" "Incoming call" silent=true');
  });

  it('in front (visible, focused): nothing from the OS; the ringing panel is enough', () => {
    const f = fakes({ focused: true });
    const s = new RingAlertService(f.notify, () => 'ja', () => true, recordingLogger().log);
    s.attach(f.win);
    expect(s.ring('c1@x', '+819012345678')).toBe(false);
    s.stop('c1@x');
    expect(f.events).toEqual([]);
  });

  it('two calls ringing: the flashing stops with the last; a notification that fails is logged and the taskbar still flashes', () => {
    const f = fakes();
    const { log, records } = recordingLogger();
    let n = 0;
    const notify: NotificationFactory = (o) => {
      if (++n === 2) throw new Error('no notification server');
      return f.notify(o);
    };
    const s = new RingAlertService(notify, () => 'ja', () => false, log);
    s.attach(f.win);
    expect(s.ring('a@x', null)).toBe(true);
    expect(s.ring('b@x', null)).toBe(false);
    expect(records.map((r) => r.message)).toEqual(['showing the OS notification of a ringing call failed']);
    expect(JSON.stringify(records)).not.toContain('no notification server@'); // (the error's fields only)
    s.stop('a@x');
    expect(f.events.filter((e) => e.startsWith('flash'))).toEqual(['flash true', 'flash true']);
    s.stop('b@x');
    expect(f.events.filter((e) => e.startsWith('flash'))).toEqual(['flash true', 'flash true', 'flash false']);
  });
});

describe('the phone:ringing channel', () => {
  it('alerts while signed in; signed out or from another sender, nothing', async () => {
    const f = fakes();
    const s = await makeServices({ notification: f.notify });
    dirs.push(s.userDataDir);
    s.ringAlert.attach(f.win);
    const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, recordingLogger().log, () => s.lock.current().locked);
    const report = { callId: 'c1@x', ringing: true, caller: '+819012345678' };
    expect(await dispatch(APP_SENDER, 'phone:ringing', report)).toEqual({ ok: true, value: { alerted: false } }); // signed out
    expect(await dispatch({ url: 'https://evil.example/', isMainFrame: true }, 'phone:ringing', report)).toMatchObject({ ok: false, error: { code: 'forbidden_sender' } });
    expect(await dispatch(APP_SENDER, 'phone:ringing', { ...report, caller: 'x'.repeat(101) })).toMatchObject({ ok: false });
    expect(f.events).toEqual([]);
    signedInAs(s);
    expect(await dispatch(APP_SENDER, 'phone:ringing', report)).toEqual({ ok: true, value: { alerted: true } });
    expect(f.events).toEqual(['notification "Koe" "着信があります" silent=true', 'show', 'flash true']);
    expect(await dispatch(APP_SENDER, 'phone:ringing', { ...report, ringing: false })).toEqual({ ok: true, value: { alerted: false } });
    expect(f.events.slice(3)).toEqual(['close', 'flash false']);
  });
});
