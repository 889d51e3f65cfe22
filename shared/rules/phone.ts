// Phone numbers in one form everywhere: E.164 ("+819012345678"). Input may be national
// (090-1234-5678, 0120-123-456: Japan is the default region), international (+81 3-1234-5678,
// +1 212 555 0199) or full-width (０９０－１２３４－５６７８). libphonenumber-js with full
// metadata decides; a number only needs to be *possible* (right length for its country) so
// new number ranges are not refused.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export const DEFAULT_PHONE_REGION: CountryCode = 'JP';

/** E.164 form of `input`, or null when it is not a possible phone number. */
export function toE164(input: string, region: CountryCode = DEFAULT_PHONE_REGION): string | null {
  const text = input.normalize('NFKC').trim();
  if (text.length === 0 || text.length > 40 || !/^[+0-9()\-. \u2010-\u2015\u2212\u30fc]+$/.test(text)) return null;
  const parsed = parsePhoneNumberFromString(text.replace(/[\u2010-\u2015\u2212\u30fc]/g, '-'), region);
  if (!parsed || !parsed.isPossible()) return null;
  return parsed.number;
}

/** True for text that looks like a phone number a person would type (digits, +, separators). */
export function looksLikePhoneNumber(input: string): boolean {
  const text = input.normalize('NFKC').trim();
  return /^[+0-9][0-9()\-. \u2010-\u2015\u2212\u30fc]{5,}$/.test(text) && (text.match(/\d/g)?.length ?? 0) >= 6;
}
