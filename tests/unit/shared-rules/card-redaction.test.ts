import { describe, expect, it } from 'vitest';
import { containsCardNumber, luhnValid, redactCardNumbers } from '../../../shared/rules/card-redaction';

/** A random Luhn-valid number: prefix + random digits + check digit. */
function card(prefix: string, length: number, rnd: () => number): string {
  let body = prefix;
  while (body.length < length - 1) body += String(Math.floor(rnd() * 10));
  for (let check = 0; check <= 9; check++) if (luhnValid(body + check)) return body + check;
  throw new Error('unreachable');
}
function seeded(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}
const group = (digits: string, sizes: number[], sep: string) => {
  const out: string[] = [];
  let i = 0;
  for (const n of sizes) out.push(digits.slice(i, (i += n)));
  return out.join(sep);
};
const fullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))).replace(/-/g, '－');
const digitsOf = (s: string) => (s.normalize('NFKC').match(/\d/g) ?? []).join('');

const BRANDS: [string, string, number, number[]][] = [
  ['Visa 16', '4', 16, [4, 4, 4, 4]],
  ['Mastercard 16', '51', 16, [4, 4, 4, 4]],
  ['Amex 15', '37', 15, [4, 6, 5]],
  ['Diners 14', '36', 14, [4, 6, 4]],
  ['UnionPay 19', '62', 19, [4, 4, 4, 4, 3]],
  ['Visa 13', '4', 13, [4, 4, 5]],
  ['JCB 16', '35', 16, [4, 4, 4, 4]],
];

describe('luhnValid', () => {
  it('accepts known test numbers and refuses off-by-one', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('30569309025904')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('41111111x1111111')).toBe(false);
  });
});

describe('redactCardNumbers: generated valid card numbers in several formats', () => {
  const rnd = seeded(20261121);
  for (const [brand, prefix, length, sizes] of BRANDS) {
    for (let n = 0; n < 20; n++) {
      const pan = card(prefix, length, rnd);
      const last4 = pan.slice(-4);
      const formats: [string, string][] = [
        ['unbroken', pan],
        ['spaces', group(pan, sizes, ' ')],
        ['dashes', group(pan, sizes, '-')],
        ['full-width', fullWidth(group(pan, sizes, '-'))],
        ['ideographic space', fullWidth(group(pan, sizes, '\u3000'))],
        ['spaced dashes', group(pan, sizes, ' - ')],
      ];
      for (const [fmt, written] of formats) {
        it(`${brand} #${n} ${fmt}`, () => {
          const text = `お客様のカード番号は${written}です。`;
          const out = redactCardNumbers(text);
          expect(out.startsWith('お客様のカード番号は')).toBe(true);
          expect(out.endsWith('です。')).toBe(true);
          expect(digitsOf(out)).toBe(last4);
          expect(out).not.toContain(pan);
          expect(out.length).toBe(text.length); // only digits are replaced, one for one
          expect(redactCardNumbers(out)).toBe(out); // idempotent
          expect(containsCardNumber(text)).toBe(true);
        });
      }
    }
  }

  it('masks digits one for one and keeps separators and the last 4 as typed', () => {
    expect(redactCardNumbers('4111-1111-1111-1111')).toBe('****-****-****-1111');
    expect(redactCardNumbers('4111 1111 1111 1111')).toBe('**** **** **** 1111');
    expect(redactCardNumbers('４１１１－１１１１－１１１１－１１１１')).toBe('****－****－****－１１１１');
    expect(redactCardNumbers('3782 822463 10005')).toBe('**** ****** *0005');
  });

  it('finds several cards in one text, and cards glued to Japanese words', () => {
    const a = card('4', 16, seeded(1));
    const b = card('37', 15, seeded(2));
    const out = redactCardNumbers(`カード${a}、予備は${group(b, [4, 6, 5], ' ')}。`);
    expect(digitsOf(out)).toBe(a.slice(-4) + b.slice(-4));
  });

  it('masks the card but leaves a neighbouring date, CVV group or order number as typed', () => {
    expect(redactCardNumbers('4111 1111 1111 1111 2026-11-21')).toBe('**** **** **** 1111 2026-11-21');
    expect(redactCardNumbers('ORD-2026-000123 4111111111111111')).toBe('ORD-2026-000123 ************1111');
    expect(redactCardNumbers('4111111111111111 有効期限 12/28')).toBe('************1111 有効期限 12/28');
  });

  it('leaves an unbroken run of 20+ digits whole, even when a window of it passes Luhn (no half-redaction)', () => {
    const long = `${'4111111111111111'}2345`; // a valid card followed by 4 more digits, unbroken
    expect(long).toHaveLength(20);
    expect(redactCardNumbers(`伝票番号 ${long}`)).toBe(`伝票番号 ${long}`);
    const rnd = seeded(7);
    for (let i = 0; i < 50; i++) {
      let s = '';
      while (s.length < 22) s += String(Math.floor(rnd() * 10));
      expect(redactCardNumbers(`供給地点特定番号 ${s}`)).toBe(`供給地点特定番号 ${s}`);
    }
  });
});

describe('redactCardNumbers: near-misses and numbers that must survive', () => {
  it.each([
    ['Luhn failure (16 digits)', '4111 1111 1111 1112'],
    ['Luhn failure (unbroken)', '4111111111111112'],
    ['12 digits (too short)', '4111 1111 1111'],
    ['mobile number', '090-1234-5678'],
    ['international number', '+81 3-1234-5678'],
    ['two mobile numbers separated by a space', '090-1234-5678 080-8765-4321'],
    ['two landlines', '03-1234-5678 06-1234-5678'],
    ['toll-free numbers', '0120-123-456 0120-987-654'],
    ['unbroken mobiles', '09012345678 08087654321'],
    ['order number', 'ORD-2026-000123'],
    ['date', '2026-11-21'],
    ['dates and times', '2026-11-21 10:30 から 2026-11-22 18:00'],
    ['postal code and address', '〒100-0001 東京都千代田区千代田1-1'],
    ['full-width phone', '０９０－１２３４－５６７８'],
    ['amount', '合計 12,800円 (税込)'],
    ['already redacted', '**** **** **** 1111'],
    ['empty', ''],
  ])('%s survives', (_what, text) => {
    expect(redactCardNumbers(text)).toBe(text);
  });

  it('random phone numbers and order numbers survive in bulk', () => {
    const rnd = seeded(99);
    const d = (n: number) => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join('');
    for (let i = 0; i < 500; i++) {
      const text = `電話 0${d(2)}-${d(4)}-${d(4)} / 0${d(1)}-${d(4)}-${d(4)} 注文 ORD-2026-${d(6)} 日付 2026-${d(2)}-${d(2)}`;
      expect(redactCardNumbers(text)).toBe(text);
    }
  });

  it('tells 13-19 digit runs failing Luhn from cards', () => {
    const rnd = seeded(5);
    let survived = 0;
    for (let i = 0; i < 1000; i++) {
      let s = '4';
      while (s.length < 16) s += String(Math.floor(rnd() * 10));
      if (!luhnValid(s)) {
        expect(redactCardNumbers(s)).toBe(s);
        survived++;
      } else expect(redactCardNumbers(s)).toBe(`************${s.slice(-4)}`);
    }
    expect(survived).toBeGreaterThan(850);
  });
});
