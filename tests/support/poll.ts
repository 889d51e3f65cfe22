// Waiting for a condition in integration tests (a condition to wait for, not a timed assertion):
// `probe` is polled every `everyMs` until it is true; a probe that throws counts as false. On
// timeout the error names what was awaited and adds `context()` (e.g. the stack's log tails).
import { setTimeout as sleep } from 'node:timers/promises';

export async function pollUntil(
  what: string,
  probe: () => Promise<boolean>,
  o: { timeoutMs?: number; everyMs?: number; context?: () => string } = {},
): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await probe().catch(() => false)) return;
    await sleep(o.everyMs ?? 20);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${o.context ? `\n${o.context()}` : ''}`);
}
