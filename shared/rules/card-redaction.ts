// Card-number redaction (PCI DSS: a full card number must never be stored or logged).
// One rule for every place text goes: the renderer redacts a note before sending it, the
// gateway redacts it again before storing it, and the same function cleans search terms
// and log lines.
//
// The rule:
// - Detection looks at the text through NFKC, so full-width digits (０-９), the full-width
//   hyphen (－) and the ideographic space count as digits and separators. Only the digits
//   that are masked change; everything else stays exactly as typed.
// - A "token" is an unbroken run of digits. Tokens joined by 1 to 3 separator characters
//   (spaces or dashes, ASCII or Japanese) form a "run", e.g. "4111 1111 1111 1111".
// - A card number is a span of whole tokens of a run with 13 to 19 digits in total that
//   passes the Luhn check, where every token but the last has at least 4 digits (cards are
//   written 4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3 or unbroken). That last condition keeps two
//   phone numbers separated by a space (090-1234-5678 080-8765-4321) from being read as one
//   number. At each token the longest valid span wins, left to right.
// - A card number keeps only its last 4 digits; every other digit of it becomes "*" and its
//   separators stay, so "4111-1111-1111-1111" becomes "****-****-****-1111". Neighbouring
//   tokens of the same run (an order number, a date) are left as typed.
// - An unbroken digit string of 20 or more digits is never a card number (card numbers
//   have at most 19 digits) and is left whole: masking a window of it would half-redact a
//   longer identifier (e.g. a 22-digit electricity supply point number).
// - Runs failing Luhn, phone numbers (090-1234-5678, +81 3-1234-5678), order numbers
//   (ORD-2026-000123) and dates (2026-11-21) survive unchanged.
// Redacting is idempotent: the output has at most 4 digits left in each masked span.

const SEPARATORS = new Set([' ', '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\u30fc']);
const MAX_SEPARATOR_CHARS = 3;
const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/** The Luhn (mod 10) check over ASCII digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

interface Token {
  /** UTF-16 indices of each digit in the original text. */
  positions: number[];
  digits: string;
  /** Index just after the last digit. */
  end: number;
}

function classify(ch: string): 'digit' | 'sep' | 'other' {
  const n = ch.normalize('NFKC');
  if (n.length === 1 && n >= '0' && n <= '9') return 'digit';
  if (n.length === 1 && SEPARATORS.has(n)) return 'sep';
  return 'other';
}

function digitValue(ch: string): string {
  return ch.normalize('NFKC');
}

/** Splits the text into runs of digit tokens joined by short separator sequences. */
function runsOf(text: string): Token[][] {
  const runs: Token[][] = [];
  let run: Token[] = [];
  let token: Token | null = null;
  let sepCount = 0; // separator characters since the last token ended (-1: broken)
  for (let i = 0; i < text.length; i++) {
    const kind = classify(text[i]!);
    if (kind === 'digit') {
      if (!token) {
        if (run.length > 0 && (sepCount < 1 || sepCount > MAX_SEPARATOR_CHARS)) {
          runs.push(run);
          run = [];
        }
        token = { positions: [], digits: '', end: i };
        run.push(token);
      }
      token.positions.push(i);
      token.digits += digitValue(text[i]!);
      token.end = i + 1;
      sepCount = 0;
      continue;
    }
    token = null;
    if (kind === 'sep' && sepCount >= 0) sepCount++;
    else {
      sepCount = -1;
      if (run.length > 0) {
        runs.push(run);
        run = [];
      }
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The digit positions to mask in one run. */
function maskedPositions(run: Token[]): number[] {
  const masked: number[] = [];
  let i = 0;
  while (i < run.length) {
    let found = -1;
    let total = 0;
    let last = i;
    // extend while every token but the last has >= 4 digits and the total stays <= 19
    for (let j = i; j < run.length; j++) {
      total += run[j]!.digits.length;
      if (total > MAX_DIGITS) break;
      last = j;
      if (j > i && run[j - 1]!.digits.length < 4) break;
    }
    for (let j = last; j >= i; j--) {
      let digits = '';
      let ok = true;
      for (let k = i; k <= j; k++) {
        if (k < j && run[k]!.digits.length < 4) ok = false;
        digits += run[k]!.digits;
      }
      if (ok && digits.length >= MIN_DIGITS && digits.length <= MAX_DIGITS && luhnValid(digits)) {
        found = j;
        break;
      }
    }
    if (found < 0) {
      i++;
      continue;
    }
    const positions = run.slice(i, found + 1).flatMap((t) => t.positions);
    masked.push(...positions.slice(0, positions.length - 4));
    i = found + 1;
  }
  return masked;
}

/** Masks every card number in `text` down to its last 4 digits; the rest stays as typed. */
export function redactCardNumbers(text: string): string {
  if (!/[0-9\uff10-\uff19]/.test(text)) return text;
  const masked = runsOf(text).flatMap(maskedPositions);
  if (masked.length === 0) return text;
  const chars = text.split('');
  for (const p of masked) chars[p] = '*';
  return chars.join('');
}

/** True when `text` holds at least one card number by the rule above. */
export function containsCardNumber(text: string): boolean {
  return redactCardNumbers(text) !== text;
}
