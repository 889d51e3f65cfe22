// Main's outbox (main/outbox/outbox.ts) flushed while a send is on its way: after a sleep the
// send in flight may hang on a dead connection until main drops it; when it then fails, the
// next try is at once, not after the backoff that a failure alone would wait (up to 30 s).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutboxService, type OutboxItem } from '../../../main/outbox/outbox';
import { GatewayCallError } from '../../../shared/gateway-client';
import { MemoryVault } from '../../support/memory-vault';
import { recordingLogger } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koe-outbox-flush-'));
  dirs.push(dir);
  const sends: { item: OutboxItem; settle: (err?: unknown) => void }[] = [];
  const timers: { ms: number }[] = [];
  const outbox = new OutboxService({
    dir,
    vault: new MemoryVault(),
    now: () => Date.now(),
    log: recordingLogger().log,
    send: (item) => new Promise<void>((resolve, reject) => sends.push({ item, settle: (err) => (err ? reject(err) : resolve()) })),
    timers: { setTimeout: (_fn, ms) => (timers.push({ ms }), timers.length), clearTimeout: () => undefined },
  });
  await outbox.open('user-1');
  await outbox.enqueue({ kind: 'note', id: randomUUID(), sipCallId: 'a@10.0.0.1', customerId: null, body: 'メモ' });
  await expect.poll(() => sends.length).toBe(1);
  return { outbox, sends, timers };
}

const unreachable = () => new GatewayCallError('unreachable', 'The gateway did not answer');

describe('outbox flush while a send is on its way', () => {
  it('the send fails after the flush: tried again at once (no backoff), then saved', async () => {
    const { outbox, sends, timers } = await setup();
    outbox.flush(); // the PC woke: the send on its way hangs on a connection from before the sleep
    expect(sends).toHaveLength(1); // not sent twice at once
    sends[0]!.settle(unreachable()); // main dropped that connection: the send fails
    await expect.poll(() => sends.length).toBe(2);
    expect(timers).toEqual([]);
    sends[1]!.settle();
    await expect.poll(() => outbox.state().pending.length).toBe(0);
    await outbox.close();
  });

  it('without a flush a failed send waits for its backoff', async () => {
    const { outbox, sends, timers } = await setup();
    sends[0]!.settle(unreachable());
    await expect.poll(() => timers.length).toBe(1);
    expect(timers[0]!.ms).toBe(1_000);
    expect(sends).toHaveLength(1);
    await outbox.close();
  });
});
