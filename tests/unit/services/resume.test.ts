// After the PC wakes (issue 19 item 3; main/session/resume.ts): the session is re-checked, then
// the renderer's phone re-registers, then the gateway link reconnects, then the outbox is sent,
// in that order, each phase told to the renderer (`resume:status`, the status bar). Over main's
// real services, started by the power monitor's `resume` as Electron's powerMonitor sends it.
import fs from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers, wireEvents } from '../../../main/services';
import { FakePowerMonitor } from '../../../main/lock/idle-monitor';
import { ResumeSequence } from '../../../main/session/resume';
import type { ResumeStatus } from '../../../shared/ipc/contract';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger, signedInAs } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('resume from sleep, over main\'s services', () => {
  it('connections dropped, session, phone (the renderer answers through IPC), link, outbox, in that order, each phase sent to the renderer', async () => {
    const power = new FakePowerMonitor();
    const order: string[] = [];
    const s = await makeServices({ power, dropConnections: async () => void order.push('connections dropped') });
    dirs.push(s.userDataDir);
    signedInAs(s);
    s.session.reload = vi.fn(async () => (order.push('session checked'), s.session.current()));
    s.link.reconnectNow = vi.fn(async () => (order.push('link reconnected'), true));
    s.outbox.flush = vi.fn(() => void order.push('outbox flushed'));
    const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, recordingLogger().log);
    const sent: ResumeStatus[] = [];
    wireEvents(s, (event, payload) => {
      if (event !== 'resume:status') return;
      const st = payload as ResumeStatus;
      sent.push(st);
      // the renderer: re-registers its phone, then says so (as Telephony.tsx does)
      if (st.phase === 'phone') {
        order.push('phone re-registered');
        void dispatch(APP_SENDER, 'resume:phoneDone', { run: st.run });
      }
    });
    power.emit('resume');
    await vi.waitFor(() => expect(s.resume.status().phase).toBe('done'));
    expect(order).toEqual(['connections dropped', 'session checked', 'phone re-registered', 'link reconnected', 'outbox flushed']);
    expect(sent.map((x) => x.phase)).toEqual(['session', 'phone', 'link', 'outbox', 'done']);
    expect(new Set(sent.map((x) => x.run))).toEqual(new Set([1]));
    expect(await dispatch(APP_SENDER, 'resume:state', {})).toMatchObject({ ok: true, value: { phase: 'done', run: 1 } });
  });

  it('a session that did not survive the sleep stops there: nothing re-registers, reconnects or sends', async () => {
    const power = new FakePowerMonitor();
    const s = await makeServices({ power });
    dirs.push(s.userDataDir);
    s.link.reconnectNow = vi.fn(async () => true);
    s.outbox.flush = vi.fn();
    power.emit('resume'); // nobody signed in
    await vi.waitFor(() => expect(s.resume.status().phase).toBe('signed-out'));
    expect(s.link.reconnectNow).not.toHaveBeenCalled();
    expect(s.outbox.flush).not.toHaveBeenCalled();
  });
});

describe('ResumeSequence', () => {
  const deps = (over: Partial<ConstructorParameters<typeof ResumeSequence>[0]> = {}) => {
    const { log, records } = recordingLogger();
    const order: string[] = [];
    const d = {
      network: async () => void order.push('network'),
      checkSession: async () => (order.push('session'), true),
      phone: async () => void order.push('phone'),
      link: async () => (order.push('link'), true),
      flush: async () => void order.push('outbox'),
      now: () => 1_700_000_000_000,
      log,
      ...over,
    };
    return { d, order, records };
  };

  it('a step that fails is logged and the next still runs (the notes are sent even if the phone cannot register)', async () => {
    const { d, order, records } = deps({ phone: async () => Promise.reject(new Error('registration refused')) });
    const r = new ResumeSequence(d);
    await r.resumed();
    expect(order).toEqual(['network', 'session', 'link', 'outbox']);
    expect(r.status().phase).toBe('done');
    expect(records.map((x) => x.message)).toEqual(['resume: phone failed']);
  });

  it('the connections could not be ended: logged (name and code only), and the session check still runs', async () => {
    const { d, order, records } = deps({ network: async () => Promise.reject(Object.assign(new Error('net::ERR_FAILED https://gw/?t=secret'), { code: 'ERR_FAILED' })) });
    const r = new ResumeSequence(d);
    await r.resumed();
    expect(order).toEqual(['session', 'phone', 'link', 'outbox']);
    expect(records).toEqual([{ level: 'warn', message: 'resume: ending the connections from before the sleep failed', fields: { error: 'Error', code: 'ERR_FAILED' } }]);
  });

  it('the gateway unreachable at the session check: the session stands, the steps still run (they retry on their own)', async () => {
    const { d, order } = deps({ checkSession: async () => Promise.reject(new TypeError('fetch failed')) });
    const r = new ResumeSequence(d);
    await r.resumed();
    expect(order).toEqual(['network', 'phone', 'link', 'outbox']);
    expect(r.status().phase).toBe('done');
  });

  it('a second resume during a run starts one more run after it, never two at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inFlight = 0;
    let most = 0;
    const { d } = deps({
      phone: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await gate;
        inFlight--;
      },
    });
    const r = new ResumeSequence(d);
    const runs: number[] = [];
    r.onChange((st) => st.phase === 'done' && runs.push(st.run));
    const first = r.resumed();
    const second = r.resumed();
    const third = r.resumed();
    release();
    await Promise.all([first, second, third]);
    expect(runs).toEqual([1, 2]);
    expect(most).toBe(1);
  });

  it('waits for the renderer\'s phone at most the time given, then goes on (a window without a phone)', async () => {
    vi.useFakeTimers();
    try {
      const { d, records } = deps();
      const r: ResumeSequence = new ResumeSequence({ ...d, phone: (run): Promise<void> => r.waitForPhone(run, 10_000) });
      const done = r.resumed();
      await vi.advanceTimersByTimeAsync(9_999);
      expect(r.status().phase).toBe('phone');
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(r.status().phase).toBe('done');
      expect(records.map((x) => x.message)).toEqual(['resume: the phone did not say it re-registered in time; going on']);
    } finally {
      vi.useRealTimers();
    }
  });
});
