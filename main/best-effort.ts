import type { Logger } from './ipc/dispatcher';

/**
 * Main's one way to survive a failure without hiding it: what failed and why, as the error's
 * name and code only (a GatewayCallError's code, an errno such as ENOENT), never its message
 * (messages can quote a token, a URL with credentials or a customer's data). Every best-effort
 * step in main (a courtesy call to the gateway, an optional cleanup, a value that falls back)
 * goes through here, so no failure is dropped without a line in main's log.
 */
export function errorFields(err: unknown): { error: string; code?: string } {
  const name = err instanceof Error ? err.name : typeof err === 'object' && err !== null ? 'object' : typeof err;
  const raw = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  // codes are identifiers (ENOENT, session_revoked, ERR_INVALID_URL); anything else is not logged
  const code = typeof raw === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(raw) ? raw : undefined;
  return code === undefined ? { error: name } : { error: name, code };
}

/** Logs that `what` failed (e.g. "telling the gateway about a lock"), with the error's name and code. */
export function logFailure(log: Logger, what: string, err: unknown, fields: Record<string, unknown> = {}, level: 'warn' | 'error' = 'warn'): void {
  log[level](`${what} failed`, { ...fields, ...errorFields(err) });
}

/** A rejection handler for `.catch()`: logs the failure, then answers `value` (the decided fallback). */
export function fallback<T>(log: Logger, what: string, value: T, fields?: Record<string, unknown>): (err: unknown) => T {
  return (err) => {
    logFailure(log, what, err, fields);
    return value;
  };
}

/** Runs a step whose failure must not stop the caller; a failure is logged and answers undefined. */
export async function bestEffort<T>(log: Logger, what: string, step: Promise<T> | (() => Promise<T>), fields?: Record<string, unknown>): Promise<T | undefined> {
  try {
    return await (typeof step === 'function' ? step() : step);
  } catch (err) {
    logFailure(log, what, err, fields);
    return undefined;
  }
}
