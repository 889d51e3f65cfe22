/**
 * The renderer's one way to report a failure it cannot hand to the user: what failed and the
 * error's name, never its message (it can carry customer data or a token). Every best-effort
 * step (a cleanup, an autoplay, a courtesy BYE) goes through `bestEffort`, so no failure is
 * dropped without a trace.
 *
 * Today this writes to the console; the IPC log channel to main's log replaces the sink.
 */
export type FailureSink = (what: string, errorName: string) => void;

let sink: FailureSink = (what, errorName) => console.warn(`[koe] ${what} failed: ${errorName}`);

/** Replaces where failures go (main's log through the IPC contract; tests). */
export function setFailureSink(next: FailureSink): void {
  sink = next;
}

export function errorName(err: unknown): string {
  if (err instanceof Error) return err.name;
  if (typeof err === 'object' && err !== null && 'name' in err && typeof (err as { name: unknown }).name === 'string') return (err as { name: string }).name;
  return typeof err;
}

/** Logs that `what` failed (e.g. "ending a call at sign-out"), with the error's name only. */
export function logFailure(what: string, err: unknown): void {
  sink(what, errorName(err));
}

/** Awaits a step whose failure must not stop the caller, and logs the failure. */
export async function bestEffort<T>(what: string, step: Promise<T> | (() => Promise<T>)): Promise<T | undefined> {
  try {
    return await (typeof step === 'function' ? step() : step);
  } catch (err) {
    logFailure(what, err);
    return undefined;
  }
}
