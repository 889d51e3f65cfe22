import { describe, expect, it } from 'vitest';
import { externalUrlAllowed, navigationAllowed, windowOpenDecision } from '../../../main/security/navigation';

const APP = 'koe://app';

describe('navigationAllowed', () => {
  it.each([
    ['koe://app/index.html', true],
    ['koe://app/index.html#/settings', true],
    ['koe://app/', true],
    ['koe://app.evil/index.html', false],
    ['koe://other/index.html', false],
    ['https://evil.example/', false],
    ['http://127.0.0.1:7400/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['data:text/html,<script>alert(1)</script>', false],
    ['about:blank', false],
    ['', false],
    ['garbage', false],
  ])('%s -> %s', (url, allowed) => {
    expect(navigationAllowed(APP, url)).toBe(allowed);
  });
});

describe('windowOpenDecision', () => {
  const allow = ['help.koe.example'];
  it.each(['https://help.koe.example/guide', 'https://evil.example/', 'koe://app/index.html', 'file:///etc/passwd', 'garbage'])(
    'never opens a new Electron window for %s',
    (url) => {
      expect(windowOpenDecision(url, allow).action).toBe('deny');
    },
  );

  it('hands only allowlisted links to the OS browser', () => {
    expect(windowOpenDecision('https://help.koe.example/guide', allow).openExternally).toBe(true);
    expect(windowOpenDecision('https://evil.example/', allow).openExternally).toBe(false);
    expect(windowOpenDecision('koe://app/index.html', allow).openExternally).toBe(false);
    expect(windowOpenDecision('https://help.koe.example/guide', []).openExternally).toBe(false);
  });
});

describe('externalUrlAllowed', () => {
  const allow = ['help.koe.example', '*.example.com'];
  it.each([
    ['https://help.koe.example/guide?q=1', true],
    ['https://HELP.KOE.EXAMPLE/guide', true],
    ['https://help.koe.example:8443/', true],
    ['https://docs.example.com/x', true],
    ['https://a.b.example.com/x', true],
    ['https://example.com/', false],
    ['https://example.com.evil.net/', false],
    ['https://evilexample.com/', false],
    ['https://docs.example.com.evil.net/', false],
    ['https://sub.help.koe.example/', false],
    ['https://evil.example/?help.koe.example', false],
    ['https://evil.example/#help.koe.example', false],
    ['http://help.koe.example/', false],
    ['http://docs.example.com/', false],
    ['file:///C:/Windows/System32/calc.exe', false],
    ['file://help.koe.example/share', false],
    ['javascript:alert(1)', false],
    ['smb://help.koe.example/share', false],
    ['data:text/html,hi', false],
    ['ms-msdt:/id PCWDiagnostic', false],
    ['koe://app/index.html', false],
    ['https://user:pw@help.koe.example/', false],
    ['https://user@help.koe.example/', false],
    ['https://:pw@docs.example.com/', false],
    ['help.koe.example', false],
    ['//help.koe.example/', false],
    ['', false],
    ['garbage', false],
  ])('%s -> %s', (url, allowed) => {
    expect(externalUrlAllowed(url, allow)).toBe(allowed);
  });

  it('an empty allowlist opens nothing', () => {
    expect(externalUrlAllowed('https://help.koe.example/', [])).toBe(false);
  });
});
