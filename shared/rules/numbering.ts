// Numbers as carriers send them, in ONE place: the DID a trunk delivers a call to and the
// caller it presents become E.164 ("+81312345678") by the trunk's numbering rule (its country
// code, national prefix and international prefix), or null. The routing query
// (server/sip/routing.ts) and the screen pop pass every number through here; Kamailio sends
// what the carrier sent, verbatim (deploy/kamailio/koe.cfg route[CALLER_QUERY]).
//
// Forms a trunk uses for the same number (Japan: country code 81, national prefix 0,
// international prefix 010):
//   +81312345678   81312345678   0312345678   312345678   010 81 312345678
//   +81-3-1234-5678 (RFC 3966 visual separators - . ( ) are ignored)
// A number that starts with the country code is read as international (the country code
// wins over "a national number without its prefix"), so "81..." is +81....

export interface TrunkNumbering {
  /** Country calling code of the trunk's country, digits only ("81"). */
  countryCode: string;
  /** Prefix before a national number ("0" in Japan); "" when the country has none. */
  nationalPrefix: string;
  /** Prefix before an international number ("010" in Japan, "00" in most of Europe); "" for none. */
  internationalPrefix: string;
}

export const JAPAN_TRUNK: TrunkNumbering = { countryCode: '81', nationalPrefix: '0', internationalPrefix: '010' };

const E164_RE = /^\+[1-9]\d{6,14}$/;
/** RFC 3966 visual separators (and the space some trunks put in tel: numbers). */
const VISUAL_RE = /[-.() ]/g;
const MAX_NUMBER_TEXT = 64;

/** E.164 of `raw` as the trunk presents it (DID or caller user part), or null when it is no number. */
export function trunkNumberToE164(raw: string, rule: TrunkNumbering): string | null {
  if (raw.length === 0 || raw.length > MAX_NUMBER_TEXT) return null;
  const text = raw.replace(VISUAL_RE, '');
  if (!/^\+?\d+$/.test(text)) return null;
  let digits: string;
  if (text.startsWith('+')) digits = text.slice(1);
  else if (rule.internationalPrefix && text.startsWith(rule.internationalPrefix)) digits = text.slice(rule.internationalPrefix.length);
  else if (rule.nationalPrefix && text.startsWith(rule.nationalPrefix)) digits = national(text.slice(rule.nationalPrefix.length), rule);
  else if (text.startsWith(rule.countryCode)) digits = text;
  else digits = national(text, rule);
  const e164 = `+${digits}`;
  return E164_RE.test(e164) ? e164 : null;
}

/** A national significant number (at least MIN_NATIONAL digits; short codes are no DID or caller) with the country code. */
function national(nsn: string, rule: TrunkNumbering): string {
  return nsn.length >= MIN_NATIONAL ? rule.countryCode + nsn : '';
}
const MIN_NATIONAL = 6;

/** How the caller was presented: a number, withheld (anonymous / Privacy), or no usable number. */
export type CallerPresentation = 'number' | 'withheld' | 'unavailable';
export interface Caller {
  /** E.164, only when presented as a number (never for a withheld caller). */
  e164: string | null;
  presentation: CallerPresentation;
}

/** User parts carriers use for a withheld caller (非通知), and for one the network could not tell (表示圏外). */
const WITHHELD_USERS = new Set(['anonymous', 'restricted', 'private', 'withheld']);
const UNAVAILABLE_USERS = new Set(['unknown', 'unavailable', 'none']);
/** Privacy (RFC 3323/3325) values that withhold the caller's identity. */
const WITHHOLDING_PRIVACY = new Set(['id', 'header', 'user']);

/** Percent-decoding of a URI's user part; a malformed escape leaves the text as it is. */
function percentDecode(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * The user part of a SIP/SIPS/tel URI (a name-addr's <...> is unwrapped), without user
 * parameters (";cpc=ordinary", ";isub=..", ";phone-context=.."), percent-decoded; "" when the
 * URI has none ("sip:anonymous.invalid"), null when it is not such a URI.
 */
export function uriUser(uriText: string): string | null {
  let uri = uriText.trim();
  // the last <...> (a quoted display name may hold "<")
  const angle = /<([^<>]*)>[^<>]*$/.exec(uri);
  if (angle) uri = angle[1]!.trim();
  const m = /^(sips?|tel):(.*)$/i.exec(uri);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  let rest = m[2]!;
  if (scheme !== 'tel') {
    const at = rest.lastIndexOf('@');
    if (at < 0) return '';
    rest = rest.slice(0, at);
    const colon = rest.indexOf(':'); // user:password
    if (colon >= 0) rest = rest.slice(0, colon);
  }
  // decoded first: a UA may escape the user parameters' ";" and "=" (SIP.js writes %3B, %3D)
  rest = percentDecode(rest);
  const semi = rest.indexOf(';');
  if (semi >= 0) rest = rest.slice(0, semi);
  return rest.trim();
}

/**
 * The caller of an inbound call: the P-Asserted-Identity (the network's word) before the From,
 * each by the trunk's rule; Privacy id/header/user or an anonymous user part = withheld.
 * Never throws, whatever the carrier sent.
 */
export function callerOf(input: { from?: string | undefined; pai?: string | undefined; privacy?: string | undefined }, rule: TrunkNumbering): Caller {
  const privacy = (input.privacy ?? '')
    .toLowerCase()
    .split(/[;,\s]+/)
    .filter(Boolean);
  if (privacy.some((p) => WITHHOLDING_PRIVACY.has(p))) return { e164: null, presentation: 'withheld' };
  let withheld = false;
  for (const text of [input.pai, input.from]) {
    if (!text) continue;
    // a URI, or a bare user part as a phone shows it ("+819012345678;cpc=ordinary")
    const user = uriUser(text) ?? percentDecode(text.split(';')[0]!).trim();
    const lower = user.toLowerCase();
    if (WITHHELD_USERS.has(lower) || (user === '' && /anonymous/i.test(text))) {
      withheld = true;
      continue;
    }
    if (user === '' || UNAVAILABLE_USERS.has(lower)) continue;
    const e164 = trunkNumberToE164(user, rule);
    if (e164) return { e164, presentation: 'number' };
  }
  return { e164: null, presentation: withheld ? 'withheld' : 'unavailable' };
}
