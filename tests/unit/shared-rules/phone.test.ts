import { describe, expect, it } from 'vitest';
import { looksLikePhoneNumber, toE164 } from '../../../shared/rules/phone';

describe('toE164 (Japan default)', () => {
  it.each([
    ['090-1234-5678', '+819012345678'],
    ['09012345678', '+819012345678'],
    ['+81 90-1234-5678', '+819012345678'],
    ['+81 3-1234-5678', '+81312345678'],
    ['03-1234-5678', '+81312345678'],
    ['(03) 1234-5678', '+81312345678'],
    ['0120-123-456', '+81120123456'],
    ['050-1234-5678', '+815012345678'],
    ['０９０－１２３４－５６７８', '+819012345678'],
    ['090ー1234ー5678', '+819012345678'],
    ['+1 212 555 0199', '+12125550199'],
  ])('%s -> %s', (input, e164) => {
    expect(toE164(input)).toBe(e164);
  });

  it.each(['', 'anonymous', '12345', '090-1234-5678; drop table', 'x'.repeat(100), '+81'])('refuses %j', (input) => {
    expect(toE164(input)).toBeNull();
  });

  it('uses another default region when asked', () => {
    expect(toE164('(212) 555-0199', 'US')).toBe('+12125550199');
  });

  it('looksLikePhoneNumber tells numbers from names', () => {
    expect(looksLikePhoneNumber('090-1234-5678')).toBe(true);
    expect(looksLikePhoneNumber('+81 3 1234 5678')).toBe(true);
    expect(looksLikePhoneNumber('スズキ')).toBe(false);
    expect(looksLikePhoneNumber('123')).toBe(false);
  });
});
