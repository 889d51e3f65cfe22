// The one WebSocket waiter's core (tests/support/ws-waiter.ts): what a wait resolves with,
// when it fails (closed, timed out) and what it names then.
import { describe, expect, it } from 'vitest';
import { MessageLog } from '../../support/ws-waiter';

describe('MessageLog', () => {
  it('resolves with the first match from `from` on: already received ones count, earlier ones do not', async () => {
    const log = new MessageLog<{ n: number }>('t');
    log.push({ n: 1 });
    expect(await log.next((m) => m.n === 1)).toEqual({ n: 1 });
    const later = log.next((m) => m.n === 1, { from: 1 });
    log.push({ n: 2 });
    log.push({ n: 1 });
    expect(await later).toBe(log.messages[2]);
  });

  it('fails at once when the stream ends, and on time-out names what did arrive', async () => {
    const log = new MessageLog<{ type: string }>('ws op');
    const pending = log.next((m) => m.type === 'never', { timeoutMs: 60_000 });
    log.push({ type: 'pong' });
    log.end('closed (4401)');
    await expect(pending).rejects.toThrow(/ws op: closed \(4401\) while waiting; got \[\{"type":"pong"\}\]/);
    const quiet = new MessageLog<{ type: string }>('quiet');
    quiet.push({ type: 'ready' });
    await expect(quiet.next((m) => m.type === 'x', { timeoutMs: 20 })).rejects.toThrow(/quiet: timed out after 20 ms; got \[\{"type":"ready"\}\]/);
  });

  it('serves many waiters on one stream, each with its own match', async () => {
    const log = new MessageLog<number>('n');
    const waits = [3, 1, 2].map((k) => log.next((m) => m === k));
    for (const m of [1, 2, 3]) log.push(m);
    expect(await Promise.all(waits)).toEqual([3, 1, 2]);
  });
});
