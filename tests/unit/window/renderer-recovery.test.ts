// A renderer that crashes is reloaded by main (main/renderer-recovery.ts, wired to Electron's
// `render-process-gone` in main/index.ts): main's state lives on, the new renderer reads it
// back. The e2e side (a real Chromium renderer crashed with CDP, the note and the disposition
// back from main's outbox) is tests/e2e/faults-client.test.ts.
import { describe, expect, it } from 'vitest';
import { LOOP_CRASHES, LOOP_DELAY_MS, LOOP_WINDOW_MS, RendererRecovery } from '../../../main/renderer-recovery';
import { recordingLogger } from '../helpers';

function setup(o: { destroyed?: boolean; reloadFails?: boolean } = {}) {
  let now = 1_000_000;
  const timers: { fn: () => void; ms: number }[] = [];
  const reloads: number[] = [];
  const { log, records } = recordingLogger();
  const recovery = new RendererRecovery({
    window: {
      isDestroyed: () => o.destroyed === true,
      reload: async () => {
        reloads.push(now);
        if (o.reloadFails) throw Object.assign(new Error('ERR_FAILED loading koe://app/index.html?note=4111'), { code: 'ERR_FAILED' });
      },
    },
    log,
    now: () => now,
    timers: { setTimeout: (fn, ms) => (timers.push({ fn, ms }), timers.length), clearTimeout: () => undefined },
  });
  return { recovery, reloads, records, timers, advance: (ms: number) => (now += ms) };
}

describe('RendererRecovery (render-process-gone)', () => {
  it('reloads the window at once when the renderer crashed, was killed or ran out of memory, and logs why', () => {
    for (const reason of ['crashed', 'killed', 'oom', 'abnormal-exit', 'launch-failed']) {
      const t = setup();
      expect(t.recovery.gone({ reason, exitCode: 139 })).toBe('reloading');
      expect(t.reloads).toHaveLength(1);
      expect(t.records).toEqual([{ level: 'error', message: 'the renderer process is gone: reloading the window', fields: { reason, exitCode: 139, crashesInLastMinute: 1 } }]);
    }
  });

  it('a clean exit (the window closing) is not a crash: nothing reloaded, nothing logged', () => {
    const t = setup();
    expect(t.recovery.gone({ reason: 'clean-exit', exitCode: 0 })).toBe('ignored');
    expect(t.reloads).toEqual([]);
    expect(t.records).toEqual([]);
  });

  it('a renderer that keeps crashing is reloaded after a pause, not in a tight loop; a minute later it is at once again', () => {
    const t = setup();
    for (let i = 0; i < LOOP_CRASHES; i++) {
      expect(t.recovery.gone({ reason: 'crashed', exitCode: 1 })).toBe('reloading');
      t.advance(1000);
    }
    expect(t.reloads).toHaveLength(LOOP_CRASHES);
    expect(t.recovery.gone({ reason: 'crashed', exitCode: 1 })).toBe('delayed');
    expect(t.reloads).toHaveLength(LOOP_CRASHES);
    expect(t.timers.map((x) => x.ms)).toEqual([LOOP_DELAY_MS]);
    expect(t.records.at(-1)).toMatchObject({ level: 'error', message: 'the renderer process keeps going away: reloading the window later', fields: { crashesInLastMinute: LOOP_CRASHES + 1, reloadInMs: LOOP_DELAY_MS } });
    // another crash while the reload is due does not schedule a second one
    expect(t.recovery.gone({ reason: 'crashed', exitCode: 1 })).toBe('delayed');
    expect(t.timers).toHaveLength(1);
    t.advance(LOOP_DELAY_MS);
    t.timers[0]!.fn();
    expect(t.reloads).toHaveLength(LOOP_CRASHES + 1);
    // the old crashes are out of the window: the next one reloads at once
    t.advance(LOOP_WINDOW_MS);
    expect(t.recovery.gone({ reason: 'crashed', exitCode: 1 })).toBe('reloading');
    expect(t.reloads).toHaveLength(LOOP_CRASHES + 2);
  });

  it('a window already closed is not reloaded (said in the log); a reload that fails is logged with its code, never its message', async () => {
    const closed = setup({ destroyed: true });
    closed.recovery.gone({ reason: 'crashed', exitCode: 1 });
    expect(closed.reloads).toEqual([]);
    expect(closed.records.at(-1)).toMatchObject({ level: 'warn', message: 'the window is closed: nothing to reload' });

    const failing = setup({ reloadFails: true });
    failing.recovery.gone({ reason: 'oom', exitCode: 1 });
    await new Promise((r) => setImmediate(r));
    expect(failing.records.at(-1)).toEqual({
      level: 'error',
      message: 'reloading the window after the renderer went failed',
      fields: { reason: 'oom', exitCode: 1, crashesInLastMinute: 1, error: 'Error', code: 'ERR_FAILED' },
    });
    expect(JSON.stringify(failing.records)).not.toContain('4111');
  });
});
