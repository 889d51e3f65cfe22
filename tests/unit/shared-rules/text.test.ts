// The one rule for user text (shared/rules/text.ts): what it refuses, what it keeps exactly,
// how it normalises, its bounds, and the card-number masking of free text.
import { describe, expect, it } from 'vitest';
import { normalizeText, sanitizeText, textProblem, userText } from '../../../shared/rules/text';

const line = userText({ max: 20 });
const lines = userText({ max: 200, multiline: true });
const free = userText({ max: 200, redactCards: true });
const ok = (schema: ReturnType<typeof userText>, s: string) => {
  const r = schema.safeParse(s);
  expect(r.success, `${JSON.stringify(s)}: ${JSON.stringify(r.error?.issues)}`).toBe(true);
  return r.data as string;
};
const refused = (schema: ReturnType<typeof userText>, s: unknown) => {
  const r = schema.safeParse(s);
  expect(r.success, `${JSON.stringify(s)} was accepted as ${JSON.stringify(r.data)}`).toBe(false);
  return r.error!.issues.map((i) => i.message).join('; ');
};

/** Every character class the rule refuses, with the problem textProblem reports for it. */
const FORBIDDEN: [string, string, ReturnType<typeof textProblem>][] = [
  ['NUL', '\u0000', 'control'],
  ['SOH', '\u0001', 'control'],
  ['BEL', '\u0007', 'control'],
  ['backspace', '\b', 'control'],
  ['vertical tab', '\u000b', 'control'],
  ['form feed', '\f', 'control'],
  ['ESC', '\u001b', 'control'],
  ['unit separator', '\u001f', 'control'],
  ['DEL', '\u007f', 'control'],
  ['C1 PAD', '\u0080', 'control'],
  ['C1 NEL', '\u0085', 'control'],
  ['C1 APC', '\u009f', 'control'],
  ['lone high surrogate', '\ud800', 'surrogate'],
  ['lone high surrogate at the end', '\udbff', 'surrogate'],
  ['lone low surrogate', '\udc00', 'surrogate'],
  ['reversed pair', '\ude00\ud83d', 'surrogate'],
  ['U+FDD0', '\ufdd0', 'noncharacter'],
  ['U+FDEF', '\ufdef', 'noncharacter'],
  ['U+FFFE', '\ufffe', 'noncharacter'],
  ['U+FFFF', '\uffff', 'noncharacter'],
  ['U+1FFFE', '\ud83f\udffe', 'noncharacter'],
  ['U+10FFFF', '\udbff\udfff', 'noncharacter'],
];
const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'];

describe('user text: refused characters', () => {
  it.each(FORBIDDEN)('refuses %s anywhere in single-line and multi-line text', (_name, ch, problem) => {
    for (const s of [ch, `a${ch}`, `${ch}a`, `佐藤${ch}花子`]) {
      expect(textProblem(s), JSON.stringify(s)).toBe(problem);
      expect(textProblem(s, true), JSON.stringify(s)).toBe(problem);
      refused(line, s);
      refused(lines, s);
      refused(free, s);
    }
  });

  it('names the problem in the message', () => {
    expect(refused(line, 'a\u0000b')).toContain('control character');
    expect(refused(line, 'a\ud800b')).toContain('unpaired surrogate');
    expect(refused(line, 'a\uffffb')).toContain('noncharacter');
    expect(refused(line, 'a\u202eb')).toContain('bidirectional');
  });

  it.each(BIDI.map((c) => [`U+${c.charCodeAt(0).toString(16).toUpperCase()}`, c]))('refuses bidi control %s in single-line text only', (_n, ch) => {
    expect(textProblem(`abc${ch}def`)).toBe('bidi');
    refused(line, `abc${ch}def`);
    expect(textProblem(`abc${ch}def`, true)).toBeNull();
    expect(ok(lines, `abc${ch}def`)).toBe(`abc${ch}def`);
  });

  it('refuses tab and line breaks in single-line text, keeps them in multi-line text', () => {
    for (const s of ['a\tb', 'a\nb', 'a\rb']) {
      expect(textProblem(s)).toBe('control');
      refused(line, s);
    }
    expect(ok(lines, '一行目\n二行目\tタブ')).toBe('一行目\n二行目\tタブ');
  });

  it('refuses what is not a string', () => {
    for (const v of [42, true, null, undefined, ['a'], { a: 'b' }]) refused(line, v);
    expect(line.safeParse(1n).success).toBe(false);
  });
});

describe('user text: what survives exactly', () => {
  it.each([
    ['kanji and kana', '佐藤 花子（サトウ ハナコ）'],
    ['hiragana', 'さとう はなこ'],
    ['half-width kana', 'ｻﾄｳ ﾊﾅｺ'],
    ['full-width letters and digits', 'ＡＢＣ１２３'],
    ['ideographic space inside', '佐藤\u3000花子'],
    ['emoji (surrogate pairs)', 'お疲れさまです 🙇‍♀️👍🏽'],
    ['flag and keycap sequences', '🇯🇵 1️⃣'],
    ['combining marks (already NFC-stable)', 'a\u0301\u0323x'.normalize('NFC')],
    ['zero-width joiner and non-joiner', 'a\u200db\u200cc'],
    ['U+FFFD replacement character', 'a\ufffdb'],
    ['private use', '\ue000'],
    ['Arabic and Hebrew letters', 'مرحبا שלום'],
    ['SQL-looking text', "'; DROP TABLE customers; --"],
    ['percent escapes as text', '%00 %u0000 \\u0000'],
  ])('keeps %s', (_name, s) => {
    expect(textProblem(s)).toBeNull();
    expect(ok(userText({ max: 100 }), s)).toBe(s.normalize('NFC'));
    expect(ok(userText({ max: 100, redactCards: true }), s)).toBe(s.normalize('NFC'));
  });

  it('keeps full-width and half-width kana apart (NFC, not NFKC)', () => {
    expect(ok(line, 'ｶﾞ')).toBe('ｶﾞ');
    expect(ok(line, 'ガ')).toBe('ガ');
    expect(ok(line, 'ｶﾞ')).not.toBe(ok(line, 'ガ'));
  });
});

describe('user text: normalisation', () => {
  it('applies NFC: one string for the same text typed two ways', () => {
    const decomposed = 'か\u3099'; // か + combining dakuten
    expect(decomposed).not.toBe('が');
    expect(ok(line, decomposed)).toBe('が');
    expect(ok(line, 'e\u0301')).toBe('é');
    expect(ok(lines, 'Cafe\u0301\nが')).toBe('Café\nが');
  });

  it('trims single-line text (ideographic space too) and keeps inner spacing', () => {
    expect(ok(line, '  佐藤  花子 \u3000')).toBe('佐藤  花子');
  });

  it('makes line breaks "\\n" in multi-line text and trims its ends', () => {
    expect(ok(lines, '\r\n 一\r\n二\r三\n ')).toBe('一\n二\n三');
    expect(normalizeText('a\r\nb', true)).toBe('a\nb');
  });
});

describe('user text: bounds', () => {
  it('refuses empty text (after trimming) unless min is 0', () => {
    expect(refused(line, '')).toContain('must not be empty');
    refused(line, '   ');
    refused(line, '\u3000');
    expect(ok(userText({ min: 0, max: 5 }), '')).toBe('');
    expect(ok(userText({ min: 0, max: 5 }), '  ')).toBe('');
  });

  it('bounds the length in UTF-16 units, after normalising', () => {
    expect(ok(line, 'あ'.repeat(20))).toHaveLength(20);
    expect(refused(line, 'あ'.repeat(21))).toContain('at most 20');
    expect(ok(line, ` ${'a'.repeat(20)} `)).toHaveLength(20); // trimmed first
    expect(ok(userText({ min: 3, max: 5 }), 'abc')).toBe('abc');
    refused(userText({ min: 3, max: 5 }), 'ab');
  });

  it('refuses a 10,000-character string cheaply (before scanning it)', () => {
    const huge = `${'x'.repeat(9_999)}\u0000`;
    const t = performance.now();
    expect(refused(line, huge)).toContain('at most 20');
    expect(performance.now() - t).toBeLessThan(50);
    refused(userText({ max: 4000, multiline: true }), 'あ'.repeat(10_000));
  });
});

describe('user text: card numbers in free text', () => {
  it('masks a card number before anything sees the value', () => {
    expect(ok(free, 'カード 4111 1111 1111 1111 で支払い')).toBe('カード **** **** **** 1111 で支払い');
    expect(ok(free, '４１１１－１１１１－１１１１－１１１１')).toBe('****－****－****－１１１１');
    expect(ok(userText({ max: 200, multiline: true, redactCards: true }), '番号:\n4111111111111111')).toBe('番号:\n************1111');
  });

  it('leaves phone numbers, dates and order numbers alone, and is off unless asked', () => {
    expect(ok(free, '090-1234-5678 2026-11-21 ORD-2026-000123')).toBe('090-1234-5678 2026-11-21 ORD-2026-000123');
    expect(ok(userText({ max: 50 }), '4111111111111111')).toBe('4111111111111111');
  });
});

describe('sanitizeText (values that did not come through a schema)', () => {
  it('drops controls and noncharacters, replaces lone surrogates, keeps the rest', () => {
    expect(sanitizeText('a\u0000b\u0007c\u007f\u0085d')).toBe('abcd');
    expect(sanitizeText('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz');
    expect(sanitizeText('a\ufdd0\uffffb\ufffe')).toBe('ab');
    expect(sanitizeText('佐藤\t花子\n🙇')).toBe('佐藤\t花子\n🙇');
    expect(sanitizeText('\u202eabc')).toBe('\u202eabc');
    // Every BMP class the schemas refuse is gone after sanitizing (astral noncharacters such as
    // U+1FFFE are valid UTF-8 that PostgreSQL stores; sanitizeText keeps surrogate pairs whole).
    for (const [, ch] of FORBIDDEN.filter(([, c]) => !/^[\ud800-\udbff][\udc00-\udfff]$/.test(c))) {
      expect(textProblem(sanitizeText(`a${ch}b`), true), JSON.stringify(ch)).toBeNull();
    }
  });

  it('returns text with no problem unchanged (the same string)', () => {
    const s = 'テスト 🙇 text';
    expect(sanitizeText(s)).toBe(s);
  });
});
