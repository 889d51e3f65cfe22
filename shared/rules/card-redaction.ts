// Card-number redaction (PCI DSS: a full card number must never be stored or logged).
// One rule for every place text goes: the renderer redacts a note as it is typed and again
// before sending it, the gateway redacts every free-text field (shared/rules/text.ts
// userText({ redactCards: true })) before storing it, and the same function cleans search
// terms and log lines.
//
// The rule, read one code point at a time (so astral digits such as 𝟒 are one character):
// - Digits: every Unicode decimal digit (\p{Nd}: ASCII, full-width, Arabic-Indic,
//   Devanagari, Thai, mathematical bold/monospace 𝟎-𝟿, ...) and every character that NFKC
//   maps to one ASCII digit (superscripts ¹²³, subscripts ₁, circled ⓪①-⑨). Circled ⑩-⑳
//   (two digits each) are not digits.
// - Look-alikes: O and o (0), l and I (1), half- or full-width, are digits only inside a
//   "digit block" (an unbroken run of digits, look-alikes and invisible characters) that
//   holds at least one real digit and does not touch a Latin, Greek or Cyrillic letter.
//   So "4111 1111 1111 111l" is a card, "No. 1234" and "Tokyo 0120" are not changed. A
//   group written only with letters ("4111 IIII ...") is not read as digits.
// - Invisible characters are transparent: format characters (\p{Cf}: ZWSP U+200B, ZWNJ,
//   ZWJ, WJ U+2060, soft hyphen U+00AD, BOM U+FEFF, bidi controls), combining marks
//   (\p{M}, incl. variation selectors and the keycap U+20E3) and every other default-
//   ignorable code point. "4111\u200b1111..." is read as "41111111...".
// - A "token" is a maximal run of digits (invisible characters may sit between them).
// - Two tokens are joined when only a separator run stands between them: whitespace
//   (ASCII and full-width/ideographic space, tab, no-break and other \p{Zs} spaces), line
//   breaks, and the marks - and every dash (\p{Pd}: ‐ ‑ ‒ – — ― 〜 ゠ －, ...), minus −,
//   ー ｰ, . ． , ， / ／ ⁄ ∕ \ _ ＿ ~ ～ ・ ･ · 、 ､ (the full stop 。 ends a sentence, so it
//   is not one: "注文番号 ORD-2026-000123。2026年…"). A separator run holds at most 8
//   characters (invisible ones not counted), at most 3 of them marks and at most one line
//   break (\r\n is one). So "4111 - 1111", "4111. 1111", "4111\t\t1111" and a number
//   broken over two lines are joined; a blank line, or a run of punctuation, is a boundary.
// - A card number is a span of whole tokens, joined as above, with 13 to 19 digits in total
//   that passes the Luhn check, where every token but the last has at least 4 digits
//   (cards are written 4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3 or unbroken). That last condition
//   keeps phone numbers (090-1234-5678 080-8765-4321), dates (2026/11/30), amounts
//   (1,234,567), postcodes (〒100-0001) and times from being read as one number, whatever
//   separates them.
// - Every span that qualifies is masked, starting at every token, the longest from each
//   start: all its digits but the last 4 become "*" (one "*" per digit, whatever its script;
//   everything else, separators and invisible characters included, stays exactly as typed).
//   "4111-1111-1111-1111" becomes "****-****-****-1111". Masking every qualifying span (not
//   only the first from the left) means a number in front (a phone number that happens to
//   make a Luhn-valid span with the first groups) cannot shift the window off the card.
// - Redacting is idempotent: the remaining digits of a masked token (its last 4) are
//   checked again, as they would be read on a second pass, together with the tokens after
//   them.
// - An unbroken digit string of 20 or more digits is never a card number (card numbers
//   have at most 19 digits) and is left whole: masking a window of it would half-redact a
//   longer identifier (e.g. a 22-digit electricity supply point number).
// - Length: a BMP digit becomes one "*", so the text keeps its length (the renderer keeps
//   the caret where it was); an astral digit (two UTF-16 units) becomes one "*":
//   redactCardNumbersMapped() tells where, for the caret.
// Cost: linear in the text (each token starts at most a few spans of at most 19 digits).

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;
const MAX_SEPARATOR_CHARS = 8;
const MAX_SEPARATOR_MARKS = 3;
const MAX_SEPARATOR_BREAKS = 1;

/** The Luhn (mod 10) check over ASCII digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  const values: number[] = [];
  for (let i = 0; i < digits.length; i++) values.push(digits.charCodeAt(i) - 48);
  return luhnOf(values);
}

function luhnOf(values: readonly number[]): boolean {
  let sum = 0;
  let double = false;
  for (let i = values.length - 1; i >= 0; i--) {
    let d = values[i]!;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// Kinds of code point. A digit's value is kept beside its kind.
const DIGIT = 0;
const LOOK = 1; // O o l I: a digit only inside a digit block
const SPACE = 2;
const BREAK = 3;
const MARK = 4;
const INVISIBLE = 5;
const LETTER = 6; // Latin, Greek, Cyrillic: a look-alike touching one is a letter
const OTHER = 7;

const ND = /^\p{Nd}$/u;
const PD = /^\p{Pd}$/u;
const ZS = /^\p{Zs}$/u;
const INVISIBLES = /^[\p{Cf}\p{M}\p{Default_Ignorable_Code_Point}]$/u;
const ALPHABETIC = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]$/u;
const MARKS = new Set(['-', '\u2212', '\u2043', '\u30fc', '.', ',', '/', '\u2044', '\u2215', '\\', '_', '~', '\u30fb', '\u00b7', '\u2027', '\u3001']);
const BREAKS = new Set(['\n', '\r', '\u000b', '\u000c', '\u0085', '\u2028', '\u2029']);
const LOOKS: Record<string, number> = { O: 0, o: 0, l: 1, I: 1 };

/** kind * 16 + value, cached per code point outside ASCII. */
const cache = new Map<number, number>();

function ndValue(cp: number): number {
  // Unicode encodes every decimal digit set as 10 contiguous code points, 0 first.
  let zero = cp;
  while (zero > 0 && ND.test(String.fromCodePoint(zero - 1))) zero--;
  return (cp - zero) % 10;
}

function classifySlow(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (ND.test(ch)) return DIGIT * 16 + ndValue(cp);
  const n = ch.normalize('NFKC');
  if (n.length === 1 && n >= '0' && n <= '9') return DIGIT * 16 + (n.charCodeAt(0) - 48);
  if (n.length === 1 && n in LOOKS) return LOOK * 16 + LOOKS[n]!;
  if (BREAKS.has(ch)) return BREAK * 16 + (ch === '\r' ? 1 : ch === '\n' ? 2 : 0);
  if (ch === '\t' || ZS.test(ch) || n === ' ') return SPACE * 16;
  if (MARKS.has(ch) || MARKS.has(n) || PD.test(ch) || PD.test(n)) return MARK * 16;
  if (INVISIBLES.test(ch)) return INVISIBLE * 16;
  if (ALPHABETIC.test(ch)) return LETTER * 16;
  return OTHER * 16;
}

const ASCII: number[] = [];
for (let c = 0; c < 128; c++) ASCII.push(classifySlow(c));

function classify(cp: number): number {
  if (cp < 128) return ASCII[cp]!;
  let k = cache.get(cp);
  if (k === undefined) {
    k = classifySlow(cp);
    if (cache.size < 4096) cache.set(cp, k);
  }
  return k;
}

interface Scan {
  /** UTF-16 index of each code point. */
  at: Int32Array;
  kind: Uint8Array;
  value: Uint8Array;
  count: number;
}

function scan(text: string): Scan {
  const at = new Int32Array(text.length);
  const kind = new Uint8Array(text.length);
  const value = new Uint8Array(text.length);
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    const k = classify(cp);
    at[count] = i;
    kind[count] = k >> 4;
    value[count] = k & 15;
    count++;
    if (cp > 0xffff) i++;
  }
  // Look-alikes: digits inside a block with a real digit that touches no letter.
  for (let i = 0; i < count; ) {
    const K = kind[i]!;
    if (K !== DIGIT && K !== LOOK && K !== INVISIBLE) {
      i++;
      continue;
    }
    let j = i;
    let real = false;
    let looks = false;
    while (j < count && (kind[j] === DIGIT || kind[j] === LOOK || kind[j] === INVISIBLE)) {
      if (kind[j] === DIGIT) real = true;
      else if (kind[j] === LOOK) looks = true;
      j++;
    }
    if (looks) {
      const touches = (i > 0 && kind[i - 1] === LETTER) || (j < count && kind[j] === LETTER);
      const as = real && !touches ? DIGIT : LETTER;
      for (let k = i; k < j; k++) if (kind[k] === LOOK) kind[k] = as;
    }
    i = j;
  }
  return { at, kind, value, count };
}

interface Tokens {
  /** Code-point indices of the digits of each token. */
  digits: number[][];
  /** joined[t]: token t and token t + 1 are joined by a separator run. */
  joined: boolean[];
}

function tokensOf(s: Scan): Tokens {
  const digits: number[][] = [];
  const joined: boolean[] = [];
  let current: number[] | null = null;
  // The separator run since the last token: characters, marks, line breaks; broken when
  // something else stood there or it grew too long.
  let chars = 0;
  let marks = 0;
  let breaks = 0;
  let broken = true;
  for (let i = 0; i < s.count; i++) {
    const k = s.kind[i]!;
    if (k === DIGIT) {
      if (!current) {
        if (digits.length > 0) joined.push(!broken && chars > 0);
        current = [];
        digits.push(current);
      }
      current.push(i);
      continue;
    }
    if (k === INVISIBLE) continue; // transparent, inside a token or a separator run
    if (current) {
      current = null;
      chars = marks = breaks = 0;
      broken = false;
    }
    if (broken) continue;
    if (k === SPACE || k === MARK || k === BREAK) {
      chars++;
      if (k === MARK) marks++;
      // \r\n is one line break
      if (k === BREAK && !(s.value[i] === 1 && s.kind[i + 1] === BREAK && s.value[i + 1] === 2)) breaks++;
      if (chars > MAX_SEPARATOR_CHARS || marks > MAX_SEPARATOR_MARKS || breaks > MAX_SEPARATOR_BREAKS) broken = true;
    } else broken = true;
  }
  return { digits, joined };
}

/**
 * The longest qualifying span starting with `first` (digit indices) and continuing with the
 * tokens after token `t`; returns its digit indices, or null.
 */
function longestSpan(s: Scan, tk: Tokens, first: number[], t: number): number[] | null {
  const values: number[] = [];
  const indices: number[] = [];
  let best: number[] | null = null;
  let previousLength = 0;
  for (let j = t; j < tk.digits.length; j++) {
    const group = j === t ? first : tk.digits[j]!;
    if (j > t && (!tk.joined[j - 1] || previousLength < 4)) break;
    if (values.length + group.length > MAX_DIGITS) break;
    for (const p of group) {
      values.push(s.value[p]!);
      indices.push(p);
    }
    previousLength = group.length;
    if (values.length >= MIN_DIGITS && luhnOf(values)) best = indices.slice();
  }
  return best;
}

/** The code-point indices to mask. */
function maskedIndices(s: Scan, tk: Tokens): Uint8Array {
  const masked = new Uint8Array(s.count);
  const mask = (span: number[]) => {
    for (let k = 0; k < span.length - 4; k++) masked[span[k]!] = 1;
  };
  for (let t = 0; t < tk.digits.length; t++) {
    const token = tk.digits[t]!;
    const whole = longestSpan(s, tk, token, t);
    if (whole) mask(whole);
    // What a second pass would read: the unmasked end of a partly masked token starts a
    // new run with the tokens after it. Masks are always a prefix of a token.
    for (;;) {
      let firstOpen = 0;
      while (firstOpen < token.length && masked[token[firstOpen]!]) firstOpen++;
      if (firstOpen === 0 || firstOpen === token.length) break;
      const span = longestSpan(s, tk, token.slice(firstOpen), t);
      if (!span) break;
      mask(span);
    }
  }
  return masked;
}

/** Where redaction shrank the text: UTF-16 indices (in the input) of astral digits now one "*". */
export interface RedactionResult {
  text: string;
  /** UTF-16 indices in the input of masked digits that took two code units. */
  shrunkAt: number[];
}

/** Masks every card number in `text`, and says where an astral digit became one "*". */
export function redactCardNumbersMapped(text: string): RedactionResult {
  if (!/\p{N}/u.test(text)) return { text, shrunkAt: [] };
  const s = scan(text);
  const tk = tokensOf(s);
  if (tk.digits.length === 0) return { text, shrunkAt: [] };
  const masked = maskedIndices(s, tk);
  let out = '';
  let from = 0;
  const shrunkAt: number[] = [];
  for (let i = 0; i < s.count; i++) {
    if (!masked[i]) continue;
    const start = s.at[i]!;
    const width = text.codePointAt(start)! > 0xffff ? 2 : 1;
    if (width === 2) shrunkAt.push(start);
    out += text.slice(from, start) + '*';
    from = start + width;
  }
  if (from === 0) return { text, shrunkAt: [] };
  return { text: out + text.slice(from), shrunkAt };
}

/** Masks every card number in `text` down to its last 4 digits; the rest stays as typed. */
export function redactCardNumbers(text: string): string {
  return redactCardNumbersMapped(text).text;
}

/** True when `text` holds at least one card number by the rule above. */
export function containsCardNumber(text: string): boolean {
  return redactCardNumbers(text) !== text;
}
