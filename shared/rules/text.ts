// The one definition of acceptable user text, used by every schema at every boundary (HTTP
// bodies, query strings, path parameters and WebSocket messages alike): a string a person
// could have typed, that PostgreSQL, JSON and the audit chain can hold unchanged.
//
// - Refused (with a clear message, nothing is stored): NUL and the other C0 control
//   characters (tab, line feed and carriage return are allowed in multi-line text only), DEL
//   and the C1 controls, lone UTF-16 surrogates (broken Unicode), the Unicode noncharacters
//   (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) and, in single-line text, the bidirectional controls
//   that make a name read differently from how it is stored.
// - Normalised: NFC (so "が" typed two ways is one string; NFKC is not used, it would turn
//   the full-width and half-width kana a customer's record was written with into others).
//   Single-line text is trimmed; multi-line text has its line breaks made "\n".
// - Bounded: a minimum and maximum length in characters (UTF-16 code units, as zod counts).
// - Card numbers: free-text fields redact them (shared/rules/card-redaction.ts) before the
//   value is seen by any handler, so nothing stores or logs one.
import { z } from 'zod';
import { redactCardNumbers } from './card-redaction';

export type TextProblem = 'control' | 'surrogate' | 'noncharacter' | 'bidi';

const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** What makes `s` unacceptable as user text, or null when it is fine. */
export function textProblem(s: string, multiline = false): TextProblem | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (multiline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return 'control';
    }
    if (c >= 0x7f && c <= 0x9f) return 'control';
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return 'surrogate';
      const cp = ((c - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
      if ((cp & 0xfffe) === 0xfffe) return 'noncharacter';
      i++;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'surrogate';
    if ((c >= 0xfdd0 && c <= 0xfdef) || c === 0xfffe || c === 0xffff) return 'noncharacter';
  }
  if (!multiline && BIDI_CONTROLS.test(s)) return 'bidi';
  return null;
}

const PROBLEM_MESSAGE: Record<TextProblem, string> = {
  control: 'contains a control character (such as NUL) that text may not hold',
  surrogate: 'contains broken Unicode (an unpaired surrogate)',
  noncharacter: 'contains a Unicode noncharacter',
  bidi: 'contains a bidirectional control character',
};

/** NFC, line breaks as "\n" in multi-line text, trimmed. */
export function normalizeText(s: string, multiline = false): string {
  const nfc = s.normalize('NFC');
  return (multiline ? nfc.replace(/\r\n?/g, '\n') : nfc).trim();
}

/**
 * Replaces what user text may not hold (for values that did not come through a schema:
 * SIP headers, values read back from elsewhere) so they can still be stored and logged:
 * controls and noncharacters are dropped, lone surrogates become U+FFFD.
 */
export function sanitizeText(s: string): string {
  if (textProblem(s, true) === null) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\ufffd';
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\ufffd';
      continue;
    }
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f)) continue;
    if ((c >= 0xfdd0 && c <= 0xfdef) || c === 0xfffe || c === 0xffff) continue;
    out += s[i]!;
  }
  return out;
}

export interface UserTextOptions {
  /** Minimum length after normalising (default 1: empty text is refused). */
  min?: number;
  max: number;
  /** Allows tab and line breaks (notes); single-line text refuses them. */
  multiline?: boolean;
  /** Free text a person writes (notes, names, reasons, field values): card numbers are masked. */
  redactCards?: boolean;
}

/** The zod schema for user text; see the rules at the top of this file. */
export function userText(opts: UserTextOptions) {
  const multiline = opts.multiline ?? false;
  let schema = z
    .string()
    .max(opts.max * 4, `at most ${opts.max} characters`)
    .check((ctx) => {
      const problem = textProblem(ctx.value, multiline);
      if (problem) ctx.issues.push({ code: 'custom', message: PROBLEM_MESSAGE[problem], input: ctx.value, continue: false });
    })
    .overwrite((s) => normalizeText(s, multiline));
  if (opts.redactCards) schema = schema.overwrite(redactCardNumbers);
  return schema.min(opts.min ?? 1, opts.min === 0 ? undefined : 'must not be empty').max(opts.max, `at most ${opts.max} characters`);
}
