// The one webhook URL rule (shared/rules/webhook-url.ts): https only, loopback only where the
// config allows it, private / link-local / mapped / reserved targets refused, by literal and
// (deliverableAddress) by resolved address; and the backoff it is retried with.
import { describe, expect, it } from 'vitest';
import { addressClass, deliverableAddress, webhookUrlProblem } from '../../../shared/rules/webhook-url';
import { backoffMs } from '../../../server/alerts/webhooks';
import { WebhookUrl } from '../../../shared/gateway/admin-alerts';

describe('webhook URL rule', () => {
  it('classifies addresses, including IPv6 and IPv4-mapped forms', () => {
    const cases: [string, string][] = [
      ['8.8.8.8', 'public'], ['127.0.0.1', 'loopback'], ['127.255.0.1', 'loopback'], ['10.1.2.3', 'private'], ['172.16.0.1', 'private'],
      ['172.32.0.1', 'public'], ['192.168.1.1', 'private'], ['169.254.169.254', 'private'], ['100.64.0.1', 'private'], ['0.0.0.0', 'private'],
      ['224.0.0.1', 'private'], ['255.255.255.255', 'private'], ['::1', 'loopback'], ['[::1]', 'loopback'], ['::', 'private'],
      ['fe80::1', 'private'], ['fd12:3456::1', 'private'], ['ff02::1', 'private'], ['2001:db8::1', 'private'], ['2606:4700:4700::1111', 'public'],
      ['::ffff:10.0.0.1', 'private'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:8.8.8.8', 'public'], ['::ffff:a9fe:a9fe', 'private'],
      ['64:ff9b::a9fe:a9fe', 'private'], ['fe80::1%eth0', 'private'], ['example.com', 'invalid'], ['1.2.3', 'invalid'], ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ];
    for (const [a, cls] of cases) expect(addressClass(a), a).toBe(cls);
  });

  it('refuses non-https, credentials, private and link-local targets; loopback only when allowed', () => {
    const strict = { allowLoopback: false };
    const dev = { allowLoopback: true };
    expect(webhookUrlProblem('https://hooks.example.com/koe?x=1', strict)).toBeNull();
    expect(webhookUrlProblem('http://hooks.example.com/koe', strict)).toBe('not_https');
    expect(webhookUrlProblem('ftp://hooks.example.com/', strict)).toBe('not_https');
    expect(webhookUrlProblem('https://u:p@hooks.example.com/', strict)).toBe('credentials');
    expect(webhookUrlProblem('https://hooks.example.com/#x', strict)).toBe('invalid');
    expect(webhookUrlProblem('not a url', strict)).toBe('invalid');
    expect(webhookUrlProblem(`https://example.com/${'a'.repeat(2100)}`, strict)).toBe('too_long');
    for (const u of ['https://10.0.0.5/', 'https://169.254.169.254/latest/meta-data', 'https://[fe80::1]/', 'https://[::ffff:169.254.169.254]/',
      'https://0x7f000001/', 'https://2130706433/', 'https://017700000001/', 'https://intranet/', 'https://db.internal/', 'https://printer.local/']) {
      expect(webhookUrlProblem(u, strict), u).toBe('private_target');
      expect(webhookUrlProblem(u, dev) === null, u).toBe(u.includes('0x7f') || u.includes('2130706433') || u.includes('017700000001'));
    }
    for (const u of ['http://127.0.0.1:8080/h', 'https://[::1]/h', 'http://localhost/h']) {
      expect(webhookUrlProblem(u, strict), u).toBe('private_target');
      expect(webhookUrlProblem(u, dev), u).toBeNull();
    }
    expect(deliverableAddress('10.0.0.1', dev)).toBe(false);
    expect(deliverableAddress('127.0.0.1', strict)).toBe(false);
    expect(deliverableAddress('127.0.0.1', dev)).toBe(true);
    expect(deliverableAddress('93.184.216.34', strict)).toBe(true);
  });

  it('the contract schema (the form uses it) says which problem', () => {
    const r = WebhookUrl.safeParse('http://hooks.example.com/');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('not_https');
    expect(WebhookUrl.safeParse('  https://hooks.example.com/  ').data).toBe('https://hooks.example.com/');
  });

  it('backoff grows exponentially, is capped, and half of it is jitter', () => {
    const cfg = { baseDelaySeconds: 10, maxDelaySeconds: 3600 };
    expect([1, 2, 3, 4].map((n) => backoffMs(n, cfg, () => 0))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, cfg, () => 1))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(backoffMs(30, cfg, () => 1)).toBe(3_600_000);
  });
});
