import type { KoeApi } from '../../shared/ipc/api';
import { koe } from './koe';
import { errorName as nameOf, setFailureSink, type FailureSink } from './log';

/** The console: where a failure goes when main's log cannot take it (the channel failed or rate-limited it). */
export const consoleSink: FailureSink = (what, errorName) => console.warn(`[koe] ${what} failed: ${errorName}`);

/**
 * Renderer start-up: `logFailure` / `bestEffort` (renderer/src/log.ts) report to main's log
 * through the IPC contract (`log:failure`, scrubbed and rate-limited in main). When the
 * channel fails, or main's rate limit drops the record, the console still has it.
 */
export function sendFailuresToMain(api: () => KoeApi = koe): void {
  setFailureSink((what, errorName) => {
    const input = { what: what.slice(0, 200) || 'a step', errorName: errorName.slice(0, 64) || 'unknown' };
    let sent: ReturnType<KoeApi['log']['failure']>;
    try {
      sent = api().log.failure(input);
    } catch (err) {
      consoleSink(what, errorName);
      consoleSink('reporting a failure to main', nameOf(err));
      return;
    }
    void sent.then(
      (result) => {
        if (!result.ok) {
          consoleSink(what, errorName);
          consoleSink('reporting a failure to main', result.error.code);
        } else if (!result.value.logged) consoleSink(what, errorName);
      },
      (err: unknown) => {
        consoleSink(what, errorName);
        consoleSink('reporting a failure to main', nameOf(err));
      },
    );
  });
}
