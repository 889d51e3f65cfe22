import { describe, expect, it } from 'vitest';
import { isTrustedSender, originOf } from '../../../main/security/sender';

describe('originOf', () => {
  it.each([
    ['koe://app/index.html', 'koe://app'],
    ['koe://app/', 'koe://app'],
    ['koe://app', 'koe://app'],
    ['koe://app/assets/x.js?v=1#h', 'koe://app'],
    ['koe://app.evil/index.html', 'koe://app.evil'],
    ['https://gw.koe.example:8443/a/b', 'https://gw.koe.example:8443'],
    ['https://gw.koe.example:443/', 'https://gw.koe.example'],
    ['http://127.0.0.1:9999/x', 'http://127.0.0.1:9999'],
    ['file:///etc/passwd', null],
    ['data:text/html,hi', null],
    ['about:blank', null],
    ['koe:app', null],
    ['', null],
    [null, null],
    [undefined, null],
    ['not a url', null],
  ])('%s -> %s', (url, origin) => {
    expect(originOf(url)).toBe(origin);
  });
});

describe('isTrustedSender', () => {
  const APP = 'koe://app';
  it.each([
    [{ url: 'koe://app/index.html', isMainFrame: true }, true],
    [{ url: 'koe://app/index.html#/settings', isMainFrame: true }, true],
    [{ url: 'koe://app/index.html', isMainFrame: false }, false],
    [{ url: 'koe://app.evil/index.html', isMainFrame: true }, false],
    [{ url: 'koe://other/index.html', isMainFrame: true }, false],
    [{ url: 'https://evil.example/', isMainFrame: true }, false],
    [{ url: 'http://127.0.0.1:9999/', isMainFrame: true }, false],
    [{ url: 'file:///opt/koe/index.html', isMainFrame: true }, false],
    [{ url: 'about:blank', isMainFrame: true }, false],
    [{ url: null, isMainFrame: true }, false],
    [{ url: undefined, isMainFrame: true }, false],
    [{ url: '', isMainFrame: true }, false],
  ])('%j -> %s', (sender, trusted) => {
    expect(isTrustedSender(sender, APP)).toBe(trusted);
  });

  it('requires isMainFrame to be exactly true, not merely truthy', () => {
    expect(isTrustedSender({ url: 'koe://app/index.html', isMainFrame: 1 as unknown as boolean }, APP)).toBe(false);
  });

  it('an app origin of null never matches a URL without an origin', () => {
    expect(isTrustedSender({ url: 'file:///x', isMainFrame: true }, 'null')).toBe(false);
  });
});
