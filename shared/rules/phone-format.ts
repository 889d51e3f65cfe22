// Phone numbers as people read them (display only: what goes to the gateway and to SIP stays
// E.164, shared/rules/phone.ts). A Japanese number (+81) in the national form with hyphens, as
// Japanese people write it: 090-1234-5678, 050-1234-5678, 0120-123-456, 0800-123-4567,
// 0570-123-456, 03-1234-5678, 011-123-4567, 0422-51-3456, 04992-1-2345. Where a geographic
// number's area code ends (2 to 5 digits) depends on the number block, by the MIC's numbering
// plan; libphonenumber-js (already Koe's number library, metadata "max") carries that table, so
// it is not copied here. Any other country's number in the international form
// (+1 212 555 0123). A text that is not a plain E.164 string (a SIP user "op2", "", full-width
// digits, 16 digits) comes back unchanged; nothing here throws.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type PhoneStyle = 'national' | 'e164';

/** E.164 as ITU-T E.164 allows it: "+", a country code not starting with 0, at most 15 digits (ASCII only). */
const E164_RE = /^\+[1-9]\d{1,14}$/;

/** True for a plain E.164 string ("+819012345678"). */
export function isE164(text: unknown): text is string {
  return typeof text === 'string' && E164_RE.test(text);
}

/**
 * `e164` for display. style 'e164': the text as it is. style 'national': a Japanese number in
 * its national form with hyphens, another country's in the international form; a number whose
 * grouping is not known (an unassigned Japanese range, a wrong length) stays E.164 rather than
 * being grouped wrongly.
 */
export function formatPhone(e164: string, { style }: { style: PhoneStyle } = { style: 'national' }): string {
  if (style === 'e164' || !isE164(e164)) return e164;
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed || `+${parsed.countryCallingCode}${parsed.nationalNumber}` !== e164) return e164;
  if (parsed.countryCallingCode === '81') {
    const national = parsed.formatNational();
    // a known Japanese format always groups with hyphens and starts with the trunk prefix 0
    return /^0\d+(-\d+)+$/.test(national) ? national : e164;
  }
  const international = parsed.formatInternational();
  // the grouping is known when the rest is split; else "+CC rest" (the country code is always known here)
  return /^\+\d+ [\d -]+$/.test(international) ? international : e164;
}
