import { describe, expect, it } from 'vitest';
import { RetryQueue } from '../../../renderer/src/features/customer/retry-queue';

/** Timers the test fires by hand. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let n = 0;
  return {
    timers: { setTimeout: (f: () => void) => (pending.set(++n, f), n), clearTimeout: (h: unknown) => void pending.delete(h as number) },
    pending,
  };
}

describe('RetryQueue.clear (the session ended)', () => {
  it('drops what waits, cancels the backoff, and a send in flight reports nothing nor touches the next items', async () => {
    const sent: string[] = [];
    const reported: string[] = [];
    let release!: () => void;
    const { timers, pending } = manualTimers();
    const q = new RetryQueue<string>({
      send: async (item) => {
        if (item === 'a-1') await new Promise<void>((r) => (release = r));
        sent.push(item);
      },
      onSent: (item) => reported.push(`sent ${item}`),
      onFailed: (item) => reported.push(`failed ${item}`),
      timers,
    });
    q.push('a-1'); // in flight
    q.push('a-2'); // waiting
    expect(q.clear()).toBe(2);
    expect(q.pending).toEqual([]);
    q.push('b-1'); // the next user's
    release();
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(['a-1', 'b-1']);
    expect(reported).toEqual(['sent b-1']);
    expect(q.pending).toEqual([]);
    expect(pending.size).toBe(0);
  });

  it('cancels a scheduled retry', async () => {
    const { timers, pending } = manualTimers();
    let tries = 0;
    const q = new RetryQueue<string>({
      send: async () => {
        tries++;
        throw new Error('down');
      },
      timers,
    });
    q.push('a-1');
    await new Promise((r) => setTimeout(r, 0));
    expect(tries).toBe(1);
    expect(pending.size).toBe(1);
    expect(q.clear()).toBe(1);
    expect(pending.size).toBe(0);
    expect(tries).toBe(1);
  });
});
