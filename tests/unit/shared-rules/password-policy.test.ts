import { describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD_POLICY, passwordViolations } from '../../../shared/rules/password-policy';
import { isCidr } from '../../../shared/gateway/cidr';
import { DEFAULT_ORG_POLICY, OrgPolicySchema } from '../../../shared/gateway/policy';
import { deviceSignatureMessage, normalizeUsername } from '../../../shared/gateway/device-message';

describe('passwordViolations (default policy: 8+, upper, lower, digit, symbol)', () => {
  it.each([
    ['Sakura-Koe-2026!', []],
    ['Aa1!aaaa', []],
    ['Aa1!aaa', ['too_short']],
    ['aaaaaaa1!', ['missing_upper']],
    ['AAAAAAA1!', ['missing_lower']],
    ['Aaaaaaaa!', ['missing_digit']],
    ['Aaaaaaaa1', ['missing_symbol']],
    ['P@ssw0rd', ['common_password']],
    ['Password1!', ['common_password']],
    ['', ['too_short', 'missing_upper', 'missing_lower', 'missing_digit', 'missing_symbol']],
  ] as const)('%s -> %j', (password, expected) => {
    expect(passwordViolations(password, DEFAULT_PASSWORD_POLICY)).toEqual(expected);
  });

  it('counts characters, not UTF-16 units, and accepts full-width and Japanese text', () => {
    expect(passwordViolations('Ａ１ｂ！さくら', DEFAULT_PASSWORD_POLICY)).toEqual(['too_short']);
    expect(passwordViolations('Ａ１ｂ！さくらさくら', DEFAULT_PASSWORD_POLICY)).toEqual([]);
  });

  it('refuses passwords containing the username and org blocklist words (case-insensitive)', () => {
    expect(passwordViolations('Sato.Hanako-2026!', DEFAULT_PASSWORD_POLICY, { username: 'sato.hanako' })).toEqual(['contains_username']);
    expect(passwordViolations('My-KOECORP-pass1', { ...DEFAULT_PASSWORD_POLICY, blocklist: ['koecorp'] })).toEqual(['common_password']);
  });

  it('honours a relaxed policy', () => {
    const relaxed = { ...DEFAULT_PASSWORD_POLICY, minLength: 12, requireSymbol: false, requireUpper: false };
    expect(passwordViolations('lowercase1234', relaxed)).toEqual([]);
    expect(passwordViolations('lowercase12', relaxed)).toEqual(['too_short']);
  });
});

describe('org policy schema', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_ORG_POLICY).toMatchObject({
      password: { minLength: 8, requireUpper: true, requireLower: true, requireDigit: true, requireSymbol: true, historyCount: 5 },
      lockout: { maxFailures: 5, windowMinutes: 15, lockMinutes: 30 },
      sessions: { accessTokenMinutes: 10, idleMinutes: 30, absoluteHours: 12 },
      totpRequiredRoles: ['admin'],
      deviceBindingRoles: ['operator', 'team_lead', 'admin'],
      ipAllowlist: { org: [], roles: {} },
    });
  });

  it('rejects unknown keys and out-of-range values', () => {
    expect(OrgPolicySchema.safeParse({ lockout: { maxFailures: 5, foo: 1 } }).success).toBe(false);
    expect(OrgPolicySchema.safeParse({ password: { minLength: 6 } }).success).toBe(false);
    expect(OrgPolicySchema.safeParse({ sessions: { accessTokenMinutes: 600 } }).success).toBe(false);
  });
});

describe('isCidr', () => {
  it.each(['10.0.0.0/8', '192.168.1.1', '0.0.0.0/0', '2001:db8::/32', '::1', '::ffff:10.0.0.1', 'fe80::1/64'])('accepts %s', (v) => {
    expect(isCidr(v)).toBe(true);
  });
  it.each(['10.0.0.0/33', '256.1.1.1', '10.0.0', 'example.com', '2001:db8::/129', '1.2.3.4/8/9', '', '/8'])('rejects %s', (v) => {
    expect(isCidr(v)).toBe(false);
  });
});

describe('device signature message', () => {
  it('binds version, purpose, user, challenge and key, one per line', () => {
    const m = deviceSignatureMessage({ purpose: 'refresh', username: 'sato.hanako', challenge: 'c1', publicKey: 'k1' });
    expect(m).toBe('koe-device-signature-v1\nrefresh\nsato.hanako\nc1\nk1');
    expect(m).not.toBe(deviceSignatureMessage({ purpose: 'sign-in', username: 'sato.hanako', challenge: 'c1', publicKey: 'k1' }));
  });
  it('normalizes usernames (NFKC, trim, lower case)', () => {
    expect(normalizeUsername(' Ｓａｔｏ.Hanako ')).toBe('sato.hanako');
  });
});
