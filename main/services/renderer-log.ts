import type { RendererFailure } from '../../shared/ipc/contract';
import { redactCardNumbers } from '../../shared/rules/card-redaction';
import type { Logger } from '../ipc/dispatcher';

/** A burst of this many renderer failures is logged; then one a second. */
export const RENDERER_LOG_BURST = 20;
export const RENDERER_LOG_PER_SECOND = 1;

/**
 * What a renderer failure may say in main's log. `what` is the renderer code's own phrase
 * ("ending a call at sign-out"): ASCII words. Whatever else a hostile or careless renderer puts
 * there is cut out: any non-ASCII run (a customer's name in Japanese), quoted text, e-mail
 * addresses, query strings, card numbers, runs of five digits or more (phone numbers), and
 * anything token-like (a run of 20+ letters, digits and token punctuation: JWTs, keys).
 */
export function scrubWhat(what: string): string {
  let m = what.replace(/[\u0000-\u001f\u007f]/g, ' ');
  m = m.replace(/[^\u0020-\u007e]+/g, '…');
  m = m.replace(/"[^"]*"?|'[^']*'?/g, '"…"');
  m = m.replace(/[^\s@]+@[^\s@]+/g, '…@…');
  m = m.replace(/\?\S*/g, '?…');
  m = redactCardNumbers(m);
  m = m.replace(/[A-Za-z0-9+/=_.:-]{20,}/g, '[redacted]');
  m = m.replace(/\d{5,}/g, '…');
  return m.length > 160 ? `${m.slice(0, 159)}…` : m;
}

/** An error's name is an identifier (TypeError, NotAllowedError); anything else is not written. */
export function scrubErrorName(name: string): string {
  return /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'invalid-name';
}

/**
 * The renderer's failures into main's log (the `log:failure` channel). A token bucket
 * (RENDERER_LOG_BURST, then RENDERER_LOG_PER_SECOND) keeps a renderer from flooding the log;
 * what it drops is counted and said in the next line that passes.
 */
export class RendererLog {
  private tokens: number;
  private last: number;
  private dropped = 0;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly burst = RENDERER_LOG_BURST,
    private readonly perSecond = RENDERER_LOG_PER_SECOND,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  report(failure: RendererFailure): { logged: boolean } {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) {
      this.dropped++;
      return { logged: false };
    }
    this.tokens -= 1;
    if (this.dropped > 0) {
      this.log.warn('renderer: failures dropped by the rate limit', { dropped: this.dropped });
      this.dropped = 0;
    }
    this.log.warn('renderer: a step failed', { what: scrubWhat(failure.what), error: scrubErrorName(failure.errorName) });
    return { logged: true };
  }
}
