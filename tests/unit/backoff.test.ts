// shared/backoff.ts: exponential backoff with full jitter, capped (the gateway link's
// reconnects and the org policy's retries).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, RECONNECT_BACKOFF } from '../../shared/backoff';

const backoffs = fc.record({ baseMs: fc.integer({ min: 1, max: 10_000 }), capMs: fc.integer({ min: 1, max: 120_000 }) });
const attempts = fc.oneof(fc.nat(80), fc.constantFrom(-1, 1e9, Number.NaN, Number.POSITIVE_INFINITY, 2.5));
const randoms = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, Number.NaN, -3, 7));

describe('backoffDelay', () => {
  it('is never negative, never above the cap and never above base * 2^attempt', () => {
    fc.assert(
      fc.property(attempts, randoms, backoffs, (n, r, b) => {
        const d = backoffDelay(n, () => r, b);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(b.capMs);
        const k = Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
        expect(d).toBeLessThanOrEqual(Math.min(b.capMs, b.baseMs * 2 ** Math.min(k, 60)));
      }),
    );
  });

  it('is jittered over the whole window: the same attempt with different draws gives different waits', () => {
    fc.assert(
      fc.property(fc.nat(20), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (n, r1, r2) => {
        const ceiling = backoffCeiling(n);
        fc.pre(Math.abs(r1 - r2) * ceiling >= 1);
        expect(backoffDelay(n, () => r1)).not.toBe(backoffDelay(n, () => r2));
        // full jitter: the draw maps linearly onto [0, ceiling]
        expect(Math.abs(backoffDelay(n, () => r1) - r1 * ceiling)).toBeLessThanOrEqual(0.5);
      }),
    );
  });

  it('grows exponentially until the cap, then stays there', () => {
    const ceilings = Array.from({ length: 10 }, (_, n) => backoffCeiling(n));
    expect(ceilings).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000, 5_000, 5_000]);
    expect(backoffCeiling(10_000)).toBe(RECONNECT_BACKOFF.capMs);
    expect(backoffDelay(10_000, () => 1)).toBe(RECONNECT_BACKOFF.capMs);
    expect(backoffDelay(3, () => 0)).toBe(0);
  });

  it('spreads many clients over the window (no thundering herd): Math.random draws differ', () => {
    const waits = new Set(Array.from({ length: 200 }, () => backoffDelay(6)));
    expect(waits.size).toBeGreaterThan(150);
    for (const w of waits) expect(w).toBeLessThanOrEqual(5_000);
  });
});
