import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../../main/security/csp';

/** Parses a CSP header value into directive -> sources. Fails on a repeated directive (browsers ignore the second). */
function parseCsp(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    if (out.has(name)) throw new Error(`duplicate directive ${name}`);
    out.set(name.toLowerCase(), sources);
  }
  return out;
}

const GATEWAY = 'https://gw.koe.example:8443/api/v1?x=1';
const SIP = 'wss://sip.koe.example:7443/ws';

describe('contentSecurityPolicy', () => {
  const csp = parseCsp(contentSecurityPolicy({ connect: [GATEWAY, SIP] }));

  it.each([
    ['default-src', ["'none'"]],
    ['script-src', ["'self'"]],
    ['style-src', ["'self'"]],
    ['object-src', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
    ['frame-src', ["'none'"]],
    ['worker-src', ["'none'"]],
  ])('%s is exactly %j', (directive, sources) => {
    expect(csp.get(directive)).toEqual(sources);
  });

  it.each(["'unsafe-inline'", "'unsafe-eval'", "'wasm-unsafe-eval'", "'unsafe-hashes'", 'data:', 'blob:', '*', 'http:', 'https:'])(
    'no script or style source is %s',
    (bad) => {
      expect(csp.get('script-src')).not.toContain(bad);
      expect(csp.get('style-src')).not.toContain(bad);
    },
  );

  it('connect-src is self, the gateway origin and its wss twin, and the SIP origin: nothing else', () => {
    expect(new Set(csp.get('connect-src'))).toEqual(
      new Set(["'self'", 'https://gw.koe.example:8443', 'wss://gw.koe.example:8443', 'wss://sip.koe.example:7443']),
    );
  });

  it('no directive allows every host', () => {
    for (const [name, sources] of csp) {
      expect(sources, name).not.toContain('*');
      expect(sources.some((s) => s.includes('*')), name).toBe(false);
    }
  });

  it('leaks no paths or query strings from the policy URLs', () => {
    const text = contentSecurityPolicy({ connect: [GATEWAY, SIP] });
    expect(text).not.toContain('/api');
    expect(text).not.toContain('/ws');
    expect(text).not.toContain('?');
  });

  it.each([
    ['not a url'],
    [''],
    ['javascript:alert(1)'],
    ['data:text/html,hi'],
    ['https://gw.koe.example; script-src *'],
    ['*'],
  ])('drops an invalid connect URL %j', (bad) => {
    const sources = parseCsp(contentSecurityPolicy({ connect: [bad] })).get('connect-src');
    expect(sources).toEqual(["'self'"]);
  });

  it('an injected directive inside a URL cannot add a directive', () => {
    const text = contentSecurityPolicy({ connect: ['https://gw.koe.example/;script-src%20*'] });
    const parsed = parseCsp(text);
    expect(parsed.get('script-src')).toEqual(["'self'"]);
    expect(parsed.get('connect-src')).toEqual(["'self'", 'https://gw.koe.example', 'wss://gw.koe.example']);
  });

  it('an http gateway (dev) gets its ws twin, never wss by accident', () => {
    const sources = parseCsp(contentSecurityPolicy({ connect: ['http://127.0.0.1:7400'] })).get('connect-src');
    expect(sources).toEqual(["'self'", 'http://127.0.0.1:7400', 'ws://127.0.0.1:7400']);
  });

  it('adds the dev host bridge origin only when asked', () => {
    const sources = parseCsp(contentSecurityPolicy({ connect: [GATEWAY], extraConnect: ['ws://127.0.0.1:5555'] })).get('connect-src');
    expect(sources).toContain('ws://127.0.0.1:5555');
    expect(csp.get('connect-src')).not.toContain('ws://127.0.0.1:5555');
  });
});
