import { describe, expect, it, vi } from 'vitest';
import { RetryQueue } from '../../../renderer/src/features/customer/retry-queue';
import { redactAsTyped } from '../../../renderer/src/features/customer/redacting-input';
import { AgentStateService } from '../../../main/telephony/agent-state';
import { SipCredentialService } from '../../../main/telephony/sip-credentials';
import { defaultPolicy } from '../../../shared/policy';

describe('RetryQueue', () => {
  it('retries the same item with backoff until it is sent, in order, losing nothing', async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    let fail = 2;
    const q = new RetryQueue<string>({
      async send(x) {
        if (x === 'a' && fail-- > 0) throw new Error('offline');
        sent.push(x);
      },
    });
    q.push('a');
    q.push('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(sent).toEqual(['a', 'b']);
    expect(q.pending).toEqual([]);
    vi.useRealTimers();
  });

  it('drops an item the gateway refuses for good, and flush() retries at once', async () => {
    vi.useFakeTimers();
    const dropped: string[] = [];
    let down = true;
    const q = new RetryQueue<string>({
      async send(x) {
        if (x === 'bad') throw Object.assign(new Error('400'), { permanent: true });
        if (down) throw new Error('offline');
      },
      permanent: (e) => (e as { permanent?: boolean }).permanent === true,
      onDropped: (x) => dropped.push(x),
    });
    q.push('bad');
    q.push('good');
    await vi.advanceTimersByTimeAsync(0);
    expect(dropped).toEqual(['bad']);
    expect(q.pending).toEqual(['good']);
    down = false;
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(q.pending).toEqual([]);
    vi.useRealTimers();
  });
});

describe('redaction as you type', () => {
  it('masks a card number once its last digit is typed and keeps the caret in place', () => {
    const r = redactAsTyped('pay 4111 1111 1111 1111 now', 23, 23);
    expect(r.text).toBe('pay **** **** **** 1111 now');
    expect(r.selectionStart).toBe(23);
    expect(redactAsTyped('tel 090-1234-5678', 17, 17).text).toBe('tel 090-1234-5678');
  });
  it('a caret in the middle (editing an earlier digit) stays there', () => {
    const value = '4111111111111111 x';
    const r = redactAsTyped(value, 5, 5);
    expect(r.text).toBe('************1111 x');
    expect([r.selectionStart, r.selectionEnd]).toEqual([5, 5]);
  });
});

describe('SipCredentialService', () => {
  it('keeps credentials in memory, offers only the policy\'s SIP server, renews before expiry', async () => {
    let now = 1_000_000;
    const timers: { fn: () => void; ms: number }[] = [];
    let issued = 0;
    const svc = new SipCredentialService({
      issue: async () => {
        issued++;
        return { authorizationUsername: `${now / 1000 + 3600}:op`, authorizationPassword: 'pw', aor: 'sip:op@koe.local', expiresAt: new Date(now + 3_600_000).toISOString(), wsServers: ['wss://127.0.0.1:7443', 'ws://127.0.0.1:5066'] };
      },
      accessToken: async () => 'tok',
      policy: () => ({ ...defaultPolicy(), sipWssUrl: 'ws://127.0.0.1:5066' }),
      now: () => now,
      timers: { setTimeout: (fn, ms) => (timers.push({ fn, ms }), timers.length), clearTimeout: () => undefined },
    });
    const c = await svc.get();
    expect(c?.wsServers).toEqual(['ws://127.0.0.1:5066']);
    expect(await svc.get()).toBe(c);
    expect(issued).toBe(1);
    expect(timers.at(-1)!.ms).toBe(1_800_000);
    now += 3_600_000 - 30_000;
    await svc.get();
    expect(issued).toBe(2);
    svc.clear();
  });
});
