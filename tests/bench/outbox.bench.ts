// The durable outbox (issue 19 item 1, main/outbox): 1,000 items (notes with a card number to
// redact, call patches) written while the gateway is down, each sealed to disk before enqueue
// answers, then the gateway comes back: the time to send them all in order, over real HTTP to a
// real gateway on loopback (PGlite, in this process), main's own GatewayClient. The keychain is
// an in-memory stand-in (the key is read once at open; the bench measures the writes and the
// flush). Also the same 1,000 items sent with the gateway up from the start (no outbox wait), as
// the baseline in the same run. Env: KOE_BENCH_OUTBOX_ITEMS (1000).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GatewayClient, type FetchFn } from '../../shared/gateway-client';
import type { OutboxEnqueue } from '../../shared/ipc/contract';
import { gatewaySender, OutboxService } from '../../main/outbox/outbox';
import { KeytarVault } from '../../main/secrets/vault';
import { memoryKeytar } from '../support/memory-keytar';
import { startLoopbackGateway } from '../support/gateway-harness';
import type { Bench } from './run';

const ITEMS = Number(process.env.KOE_BENCH_OUTBOX_ITEMS ?? 1000);
const NOTE = '山田様 折り返し希望 カード 4111 1111 1111 1111 は使えず';
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const bench: Bench = async (log) => {
  const gw = await startLoopbackGateway({ deviceBindingRoles: [] });
  const rows: Record<string, string | number>[] = [];
  try {
    const op = await gw.addUser('operator', '佐藤 花子');
    const token = await gw.client.token(op.username, op.password);
    const camp = await gw.asAdmin<{ id: string }>('POST', '/campaigns', { name: 'bench', dids: ['0120-111-222'], hours: { timeZone: 'Asia/Tokyo', weekly: {} }, dispositions: ['解決'] });
    await gw.asAdmin('PUT', `/campaigns/${camp.body.id}/assignments`, { userIds: [op.id] });
    const calls: string[] = [];
    for (let i = 0; i < 50; i++) {
      const callId = `${randomUUID()}@10.0.0.9`;
      await gw.client.ok('POST', '/screen-pop', token, { callId, dialledNumber: '0120-111-222', callerNumber: '090-1234-5678' });
      calls.push(callId);
    }
    const items = (): OutboxEnqueue[] =>
      Array.from({ length: ITEMS }, (_, i) =>
        i % 5 === 4
          ? { kind: 'callPatch', id: randomUUID(), sipCallId: calls[i % calls.length]!, patch: { answeredAt: '2026-12-01T01:00:00Z' } }
          : { kind: 'note', id: randomUUID(), sipCallId: calls[i % calls.length]!, customerId: null, body: `${NOTE} #${i}` },
      );
    for (const mode of ['gateway up (baseline)', 'gateway down, then back'] as const) {
      let base = mode === 'gateway up (baseline)' ? gw.url : 'http://127.0.0.1:1';
      const client = new GatewayClient(() => base, ((url, init) => fetch(url, init)) as FetchFn, 5_000);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'koe-outbox-bench-'));
      const outbox = new OutboxService({
        dir, vault: new KeytarVault(memoryKeytar(), 'Koe outbox bench'), send: gatewaySender(client, async () => token), now: () => Date.now(),
        log: { warn: () => undefined, error: (m) => log(`outbox error: ${m}`) }, maxDelayMs: 50,
      });
      await outbox.open(op.id);
      const enqueueMs: number[] = [];
      const t0 = performance.now();
      for (const item of items()) {
        const s = performance.now();
        await outbox.enqueue(item);
        enqueueMs.push(performance.now() - s);
      }
      const written = performance.now() - t0;
      const f0 = performance.now();
      if (mode !== 'gateway up (baseline)') {
        base = gw.url;
        outbox.flush();
      }
      while (outbox.state().pending.length > 0) await new Promise((r) => setTimeout(r, 10));
      const flushMs = mode === 'gateway up (baseline)' ? performance.now() - t0 : performance.now() - f0;
      await outbox.close();
      await rm(dir, { recursive: true, force: true });
      log(`${mode}: ${ITEMS} items written in ${written.toFixed(0)} ms, all sent ${flushMs.toFixed(0)} ms later`);
      rows.push({
        mode, items: ITEMS, 'enqueue p50 ms': pct(enqueueMs, 50), 'enqueue p95 ms': pct(enqueueMs, 95), 'all written ms': written,
        [mode === 'gateway up (baseline)' ? 'all sent ms (from the first enqueue)' : 'all sent ms (from the gateway back)']: flushMs,
        'items/s sent': ITEMS / (flushMs / 1000),
      });
    }
  } finally {
    await gw.close();
  }
  return [{ title: `The durable outbox: ${ITEMS} items (4 notes : 1 call patch), sealed to disk, sent in order over HTTP to a gateway on loopback (PGlite)`, rows }];
};
export default bench;
