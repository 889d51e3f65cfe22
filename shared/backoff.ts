/**
 * Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): the n-th
 * retry (0-based) waits a uniformly random time in [0, min(cap, base * 2^n)]. Jitter spreads
 * the clients of a restarted gateway over the window instead of sending them back together;
 * the cap bounds how long an operator waits once the gateway is back. `random` is injected
 * (Math.random in the app) so tests can pin it.
 */
export interface Backoff {
  baseMs: number;
  capMs: number;
}

/**
 * The gateway link and the org policy fetch: 0.5 s, doubling, never more than 5 s. The cap is
 * how long an operator may wait, once the network or the gateway is back, for their state,
 * wrap-up and board (issue 19: back within 5 s). Full jitter spreads 2,000 clients of a
 * restarted gateway over those 5 s (about 400 reconnects a second).
 */
export const RECONNECT_BACKOFF: Backoff = { baseMs: 500, capMs: 5_000 };

/** The upper bound of the n-th wait (before jitter). */
export function backoffCeiling(attempt: number, b: Backoff = RECONNECT_BACKOFF): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2^n overflows to Infinity for large n; min() keeps the cap.
  return Math.min(b.capMs, b.baseMs * 2 ** Math.min(n, 60));
}

/** The n-th wait: uniform in [0, ceiling], whole milliseconds. */
export function backoffDelay(attempt: number, random: () => number = Math.random, b: Backoff = RECONNECT_BACKOFF): number {
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 1;
  return Math.round(unit * backoffCeiling(attempt, b));
}
