// The trunk numbering rule (shared/rules/numbering.ts) on generated inputs: every form a trunk
// writes a number in, for several countries' rules, must give the same E.164; callers in every
// URI form carriers use; hostile text never throws and never yields a non-E.164 number.
// Everything is seeded: a failure names its case and repeats.
import { describe, expect, it } from 'vitest';
import { callerOf, JAPAN_TRUNK, trunkNumberToE164, uriUser, type TrunkNumbering } from '../../../shared/rules/numbering';

function seeded(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}
type Rnd = () => number;
const pick = <T,>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const digits = (rnd: Rnd, n: number) => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join('');

const RULES: Record<string, TrunkNumbering> = {
  JP: JAPAN_TRUNK,
  UK: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' },
  US: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
  AU: { countryCode: '61', nationalPrefix: '0', internationalPrefix: '0011' },
  NONE: { countryCode: '372', nationalPrefix: '', internationalPrefix: '00' }, // Estonia: no national prefix
};

/** A national significant number for `rule` that no prefix makes ambiguous. */
function nsn(rnd: Rnd, rule: TrunkNumbering): string {
  for (;;) {
    const len = 6 + Math.floor(rnd() * (15 - rule.countryCode.length - 6 + 1));
    const n = String(1 + Math.floor(rnd() * 9)) + digits(rnd, len - 1);
    // (a national prefix + n that reads as the international prefix, e.g. Japan 0+10..., is no
    // number of that country)
    const clashes = [rule.countryCode, rule.nationalPrefix, rule.internationalPrefix].some((p) => p && n.startsWith(p)) || (!!rule.internationalPrefix && `${rule.nationalPrefix}${n}`.startsWith(rule.internationalPrefix));
    if (!clashes) return n;
  }
}

/** Visual separators (RFC 3966) sprinkled between the characters. */
function separated(rnd: Rnd, text: string): string {
  if (rnd() < 0.4) return text;
  let out = '';
  for (const ch of text) {
    out += ch;
    if (rnd() < 0.25) out += pick(rnd, ['-', '.', ' ', '(', ')']);
  }
  return out.trimEnd();
}

describe('trunkNumberToE164: every form of a number gives its E.164 (generated)', () => {
  for (const [country, rule] of Object.entries(RULES)) {
    it(`${country}: +cc, cc, national prefix, international prefix, bare national; with separators (600 numbers)`, () => {
      const rnd = seeded(country.charCodeAt(0) * 7919 + country.length);
      for (let i = 0; i < 600; i++) {
        const n = nsn(rnd, rule);
        const e164 = `+${rule.countryCode}${n}`;
        const forms = [`+${rule.countryCode}${n}`, `${rule.countryCode}${n}`, `${rule.nationalPrefix}${n}`, `${rule.internationalPrefix}${rule.countryCode}${n}`];
        for (const form of forms) {
          const written = separated(rnd, form);
          expect(trunkNumberToE164(written, rule), `${country} case ${i}: ${JSON.stringify(written)}`).toBe(e164);
        }
        // idempotent: an E.164 stays itself
        expect(trunkNumberToE164(e164, rule)).toBe(e164);
      }
    });
  }

  it('a number starting with the country code is international (documented ambiguity)', () => {
    expect(trunkNumberToE164('81312345678', JAPAN_TRUNK)).toBe('+81312345678');
    expect(trunkNumberToE164('0312345678', JAPAN_TRUNK)).toBe('+81312345678');
    expect(trunkNumberToE164('312345678', JAPAN_TRUNK)).toBe('+81312345678');
    expect(trunkNumberToE164('+81-3-1234-5678', JAPAN_TRUNK)).toBe('+81312345678');
    expect(trunkNumberToE164('010 1 212 555 0199', JAPAN_TRUNK)).toBe('+12125550199');
    expect(trunkNumberToE164('0120-123-456', JAPAN_TRUNK)).toBe('+81120123456');
  });

  it('not a number: null (letters, other digit scripts, *, #, too long or short, + in the middle, empty)', () => {
    for (const bad of ['', '+', 'anonymous', '03-1234-567a', '０３１２３４５６７８', '*31#', '#', '03+12345678', '++81312345678', '+0312345678', '1'.repeat(65), '12345', '+81', '0', '0'.repeat(20), '+8131234567890123', 'tel:+81312345678', ' ']) {
      expect(trunkNumberToE164(bad, JAPAN_TRUNK), JSON.stringify(bad)).toBeNull();
    }
  });

  it('random printable and control text never throws and is null or E.164 (5000 strings)', () => {
    const rnd = seeded(424242);
    const alphabet = '+0123456789-.() ;=@:%abcAZ\t\u0000\u3000０１２';
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rnd() * 40);
      const s = Array.from({ length: len }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
      for (const rule of Object.values(RULES)) {
        const out = trunkNumberToE164(s, rule);
        if (out !== null) expect(out, JSON.stringify(s)).toMatch(/^\+[1-9]\d{6,14}$/);
      }
    }
  });
});

describe('callerOf: callers as carriers send them (generated)', () => {
  const host = () => pick(rnd0, ['203.0.113.10', 'ims.example.ne.jp', '[2001:db8::1]:5060', 'carrier']);
  const rnd0 = seeded(77);

  it('a number in any URI form (sip/sips/tel, user params, ;user=phone, display names, percent-encoding) in From or PAI (1000 cases)', () => {
    const rnd = seeded(9001);
    for (let i = 0; i < 1000; i++) {
      const n = nsn(rnd, JAPAN_TRUNK);
      const e164 = `+81${n}`;
      const user = pick(rnd, [`+81${n}`, `81${n}`, `0${n}`, `%2B81${n}`, separated(rnd, `+81${n}`)]);
      const params = pick(rnd, ['', ';cpc=ordinary', ';cpc=payphone;oli=27', ';isub=1234', ';phone-context=+81']);
      const uri = pick(rnd, [
        `sip:${user}${params}@${host()};user=phone`,
        `sips:${user}${params}@${host()}`,
        `tel:${user.replace(/%2B/, '+')}${params}`,
        `sip:${user}@${host()}`,
      ]);
      const written = pick(rnd, [uri, `<${uri}>`, `"山田 太郎" <${uri}>`, `Display <${uri}>;tag=abc`]);
      const where = pick(rnd, ['from', 'pai', 'both'] as const);
      const input = where === 'from' ? { from: written } : where === 'pai' ? { from: 'sip:anonymous@anonymous.invalid', pai: written } : { from: written, pai: written };
      expect(callerOf(input, JAPAN_TRUNK), `case ${i}: ${JSON.stringify(input)}`).toEqual({ e164, presentation: 'number' });
    }
  });

  it('withheld: anonymous users, no user part with anonymous host, Privacy id/header/user in any case; the number is never returned', () => {
    const number = 'sip:+819012345678@carrier';
    for (const from of ['sip:anonymous@anonymous.invalid', '"Anonymous" <sip:anonymous@anonymous.invalid>', 'sip:Anonymous@carrier', 'sip:anonymous.invalid', '<sip:restricted@carrier>', 'sip:private@carrier']) {
      expect(callerOf({ from }, JAPAN_TRUNK), from).toEqual({ e164: null, presentation: 'withheld' });
    }
    for (const privacy of ['id', 'ID', 'header', 'user', 'id;critical', 'header; id', 'none;id', 'session;user']) {
      expect(callerOf({ from: number, pai: number, privacy }, JAPAN_TRUNK), privacy).toEqual({ e164: null, presentation: 'withheld' });
    }
    // "none" / "session" withhold nothing
    for (const privacy of ['none', 'session', '']) expect(callerOf({ from: number, privacy }, JAPAN_TRUNK).e164).toBe('+819012345678');
  });

  it('unavailable: empty, no user part, non-numeric, too long, unknown schemes', () => {
    for (const from of ['', 'sip:carrier', 'sip:unavailable@carrier', 'sip:customer.service@carrier', `sip:${'9'.repeat(70)}@carrier`, 'mailto:a@b', 'http://x', 'garbage', `sip:${'x'.repeat(300)}@h`]) {
      expect(callerOf({ from }, JAPAN_TRUNK), from).toEqual({ e164: null, presentation: 'unavailable' });
    }
  });

  it('a bare user part as the phone shows it ("+81...;cpc=ordinary")', () => {
    expect(callerOf({ from: '+819012345678;cpc=ordinary' }, JAPAN_TRUNK).e164).toBe('+819012345678');
    expect(callerOf({ from: '09012345678' }, JAPAN_TRUNK).e164).toBe('+819012345678');
    expect(uriUser('<sip:user:secret@host>')).toBe('user');
    expect(callerOf({ from: '"a<b>c" <sip:09012345678@carrier>;tag=1' }, JAPAN_TRUNK).e164).toBe('+819012345678');
    // as SIP.js writes a parameterised user part back (';' and '=' escaped)
    expect(callerOf({ from: '<sip:+819012345678%3Bcpc%3Dordinary@carrier;user=phone>;tag=x' }, JAPAN_TRUNK).e164).toBe('+819012345678');
    expect(uriUser('sip:host')).toBe('');
    expect(uriUser('urn:x')).toBeNull();
  });

  it('random text in From, PAI and Privacy never throws; e164 is null or E.164 (3000 cases)', () => {
    const rnd = seeded(31337);
    const alphabet = 'sip:tel<>"@;=+%2B0123456789anonymous.invalid ,\u0000\uFFFF山';
    const junk = () => Array.from({ length: Math.floor(rnd() * 60) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    for (let i = 0; i < 3000; i++) {
      const out = callerOf({ from: junk(), pai: rnd() < 0.5 ? junk() : undefined, privacy: rnd() < 0.3 ? junk() : undefined }, JAPAN_TRUNK);
      if (out.e164 !== null) expect(out.e164).toMatch(/^\+[1-9]\d{6,14}$/);
      expect(['number', 'withheld', 'unavailable']).toContain(out.presentation);
    }
  });
});
