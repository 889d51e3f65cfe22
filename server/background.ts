// Work that runs outside a request (timers, pollers, pub/sub listeners) has no request to
// fail and nobody to answer: whatever fails there is logged here and contained, so the
// process goes on. One line per failure, JSON like the request log, through errorSummary:
// the error's class, code, message and stack, never a database driver's parameters.
import { errorSummary } from './log';

export type FailureReporter = (what: string, err: unknown) => void;

const toStderr: FailureReporter = (what, err) => {
  process.stderr.write(`${JSON.stringify({ level: 50, time: Date.now(), msg: `${what} failed`, err: errorSummary(err) })}\n`);
};

let reporter: FailureReporter = toStderr;

/** Replaces where background failures go (tests; a gateway's own logger); returns the previous one. */
export function setBackgroundReporter(next: FailureReporter): FailureReporter {
  const previous = reporter;
  reporter = next;
  return previous;
}

/** Logs a background failure; never throws (a reporter that fails falls back to stderr). */
export function reportBackgroundFailure(what: string, err: unknown): void {
  try {
    reporter(what, err);
  } catch (reportErr) {
    toStderr(what, err);
    toStderr('background failure reporter', reportErr);
  }
}
