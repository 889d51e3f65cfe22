import { logFailure } from './best-effort';
import type { Logger } from './ipc/dispatcher';
import { realTimers, type Timeouts } from './timers';

/** What Electron's `render-process-gone` says (Electron's RenderProcessGoneDetails, the fields Koe reads). */
export interface RendererGone {
  reason: string;
  exitCode: number;
}

/** The window whose renderer went: Electron's BrowserWindow through a small adapter (main/index.ts). */
export interface RecoverableWindow {
  isDestroyed(): boolean;
  /** Loads the app again in a new renderer process. */
  reload(): Promise<void>;
}

/** Crashes within this window count together: past `LOOP_CRASHES` of them the reload waits `LOOP_DELAY_MS`. */
export const LOOP_WINDOW_MS = 60_000;
export const LOOP_CRASHES = 3;
export const LOOP_DELAY_MS = 30_000;

/**
 * The renderer process died (crashed, killed, out of memory): main keeps running (the session,
 * the gateway link and the durable outbox live here), so the window loads the app again and the
 * new renderer reads everything back from main (the outbox's pending notes and dispositions
 * included). A clean exit (the window closing) is not a crash. A renderer that keeps crashing
 * (more than `LOOP_CRASHES` in `LOOP_WINDOW_MS`) is reloaded after `LOOP_DELAY_MS`, not in a
 * tight loop. The log says why and when, never what the page held.
 */
export class RendererRecovery {
  private crashes: number[] = [];
  private pending: unknown = null;

  constructor(
    private readonly deps: {
      window: RecoverableWindow;
      log: Logger;
      now: () => number;
      timers?: Timeouts;
    },
  ) {}

  /** Electron's `render-process-gone`. Answers what was decided (for tests and the log). */
  gone(details: RendererGone): 'ignored' | 'reloading' | 'delayed' {
    if (details.reason === 'clean-exit') return 'ignored';
    const now = this.deps.now();
    this.crashes = [...this.crashes.filter((t) => now - t < LOOP_WINDOW_MS), now];
    const fields = { reason: details.reason, exitCode: details.exitCode, crashesInLastMinute: this.crashes.length };
    if (this.pending !== null) {
      this.deps.log.error('the renderer process is gone again: a reload is already due', fields);
      return 'delayed';
    }
    if (this.crashes.length > LOOP_CRASHES) {
      this.deps.log.error('the renderer process keeps going away: reloading the window later', { ...fields, reloadInMs: LOOP_DELAY_MS });
      const timers = this.deps.timers ?? realTimers;
      this.pending = timers.setTimeout(() => {
        this.pending = null;
        this.reload(fields);
      }, LOOP_DELAY_MS);
      return 'delayed';
    }
    this.deps.log.error('the renderer process is gone: reloading the window', fields);
    this.reload(fields);
    return 'reloading';
  }

  private reload(fields: Record<string, unknown>): void {
    if (this.deps.window.isDestroyed()) {
      this.deps.log.warn('the window is closed: nothing to reload', fields);
      return;
    }
    this.deps.window.reload().catch((err: unknown) => logFailure(this.deps.log, 'reloading the window after the renderer went', err, fields, 'error'));
  }
}
