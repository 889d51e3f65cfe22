import { describe, expect, it } from 'vitest';
import { formatPhone, isE164 } from '../../../shared/rules/phone-format';
import { toE164 } from '../../../shared/rules/phone';

describe('formatPhone: Japanese numbers in the national form, hyphens where Japanese people put them', () => {
  it.each([
    // mobiles and IP phones
    ['+819012345678', '090-1234-5678'],
    ['+818012345678', '080-1234-5678'],
    ['+817012345678', '070-1234-5678'],
    ['+815012345678', '050-1234-5678'],
    // toll-free, navi-dial
    ['+81120123456', '0120-123-456'],
    ['+81120333444', '0120-333-444'],
    ['+818001234567', '0800-123-4567'],
    ['+81570123456', '0570-123-456'],
    // 2-digit area codes: Tokyo, Osaka
    ['+81312345678', '03-1234-5678'],
    ['+81355550001', '03-5555-0001'],
    ['+81612345678', '06-1234-5678'],
    // 3-digit area codes
    ['+81111234567', '011-123-4567'], // Sapporo
    ['+81451234567', '045-123-4567'], // Yokohama
    ['+81521234567', '052-123-4567'], // Nagoya
    ['+81921234567', '092-123-4567'], // Fukuoka
    ['+81752123456', '075-212-3456'], // Kyoto
    ['+81474123456', '047-412-3456'], // Ichikawa / Funabashi
    ['+81426123456', '042-612-3456'], // Hachioji
    // 4-digit area codes
    ['+81422513456', '0422-51-3456'], // Musashino-Mitaka
    ['+81466123456', '0466-12-3456'], // Fujisawa
    ['+81178123456', '0178-12-3456'], // Hachinohe
    ['+81596123456', '0596-12-3456'], // Ise
    ['+81980123456', '0980-12-3456'], // Nago (Okinawa)
    // 5-digit area codes
    ['+81499212345', '04992-1-2345'], // Izu Oshima
    ['+81996912345', '09969-1-2345'], // Koshikijima
  ])('%s -> %s', (e164, national) => {
    expect(formatPhone(e164, { style: 'national' })).toBe(national);
  });

  it('round-trips: the national form reads back as the same E.164 number', () => {
    for (const e164 of ['+819012345678', '+81120123456', '+81422513456', '+81499212345', '+81312345678', '+818001234567']) {
      expect(toE164(formatPhone(e164, { style: 'national' }))).toBe(e164);
    }
  });

  it('the area code follows the number block, not only the first digits (042-6.. Hachioji, 0422-5.. Musashino)', () => {
    expect(formatPhone('+81426123456', { style: 'national' })).toBe('042-612-3456');
    expect(formatPhone('+81422513456', { style: 'national' })).toBe('0422-51-3456');
  });

  it('national is the default style', () => {
    expect(formatPhone('+819012345678')).toBe('090-1234-5678');
  });

  it('a Japanese number whose grouping is not known stays E.164 (never grouped wrongly)', () => {
    // a wrong length for a mobile, a range with no format
    expect(formatPhone('+8190123456789', { style: 'national' })).toBe('+8190123456789');
    expect(formatPhone('+8190123', { style: 'national' })).toBe('+8190123');
    expect(formatPhone('+8120123456', { style: 'national' })).toBe('+8120123456');
  });
});

describe('formatPhone: other countries in the international form', () => {
  it.each([
    ['+12125550123', '+1 212 555 0123'],
    ['+442071234567', '+44 20 7123 4567'],
    ['+8613812345678', '+86 138 1234 5678'],
    ['+82212345678', '+82 2 1234 5678'],
    ['+33142685300', '+33 1 42 68 53 00'],
  ])('%s -> %s', (e164, international) => {
    expect(formatPhone(e164, { style: 'national' })).toBe(international);
  });

  it('starts with the country code and a space, and keeps every digit in order', () => {
    for (const e164 of ['+12125550123', '+442071234567', '+4930123456', '+6561234567']) {
      const shown = formatPhone(e164, { style: 'national' });
      expect(shown.replace(/[ -]/g, '')).toBe(e164);
      expect(shown).toMatch(/^\+\d{1,3} /);
    }
  });
});

describe('formatPhone: style e164', () => {
  it('shows the number as it is stored', () => {
    expect(formatPhone('+819012345678', { style: 'e164' })).toBe('+819012345678');
    expect(formatPhone('+12125550123', { style: 'e164' })).toBe('+12125550123');
  });
});

describe('formatPhone: anything that is not an E.164 string comes back unchanged, never throws', () => {
  it.each([
    [''],
    ['+81'],
    ['+'],
    ['819012345678'],
    ['09012345678'],
    ['090-1234-5678'],
    ['+81 90 1234 5678'],
    ['op2'],
    ['anonymous'],
    ['+81abc12345678'],
    ['+8190123456789012'], // 16 digits
    ['+' + '9'.repeat(200)],
    ['+０９０１２３４５６７８'], // full-width digits
    ['+٨١٩٠١٢٣٤٥٦٧٨'], // Arabic-Indic digits
    ['+819012345678\n'],
    [' +819012345678'],
    ['+0123456789'],
    ['+999123456789'], // no such country code
    ['<script>alert(1)</script>'],
  ])('%j', (text) => {
    expect(formatPhone(text, { style: 'national' })).toBe(text);
    expect(formatPhone(text, { style: 'e164' })).toBe(text);
  });

  it('a value that is not a string (from untyped data) comes back as it is', () => {
    for (const v of [undefined, null, 42, {}]) {
      expect(() => formatPhone(v as unknown as string, { style: 'national' })).not.toThrow();
      expect(formatPhone(v as unknown as string, { style: 'national' })).toBe(v);
    }
  });
});

describe('isE164', () => {
  it('accepts plain E.164 only', () => {
    expect(isE164('+819012345678')).toBe(true);
    expect(isE164('+81')).toBe(true); // the form, not the length of a real number
    expect(isE164('+')).toBe(false);
    expect(isE164('+0812')).toBe(false);
    expect(isE164('+1234567890123456')).toBe(false);
    expect(isE164(819012345678)).toBe(false);
  });
});
