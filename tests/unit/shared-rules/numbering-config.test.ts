// The per-trunk numbering rule in the gateway config (sip.trunks) and its lookup.
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../../../server/config';
import { trunkNumbering } from '../../../server/sip/numbering';
import { trunkNumberToE164 } from '../../../shared/rules/numbering';

describe('sip.trunks', () => {
  it('defaults to Japan (81 / 0 / 010) for the "default" trunk', () => {
    const sip = GatewayConfigSchema.parse({}).sip;
    expect(sip.trunks).toEqual({ default: { countryCode: '81', nationalPrefix: '0', internationalPrefix: '010' } });
    expect(trunkNumberToE164('0312345678', trunkNumbering(sip, 'default'))).toBe('+81312345678');
  });
  it('a trunk of another country has its own rule; an unknown trunk id uses "default"', () => {
    const sip = GatewayConfigSchema.parse({
      sip: { trunks: { default: { countryCode: '81', nationalPrefix: '0', internationalPrefix: '010' }, london: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' } } },
    }).sip;
    expect(trunkNumberToE164('02079460000', trunkNumbering(sip, 'london'))).toBe('+442079460000');
    expect(trunkNumberToE164('0312345678', trunkNumbering(sip, 'nowhere'))).toBe('+81312345678');
  });
  it('refuses a config without "default", bad ids and bad prefixes, naming the key', () => {
    const bad = (trunks: unknown) => GatewayConfigSchema.safeParse({ sip: { trunks } });
    expect(bad({ london: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' } }).success).toBe(false);
    expect(bad({ default: { countryCode: '081', nationalPrefix: '0', internationalPrefix: '010' } }).success).toBe(false);
    expect(bad({ default: { countryCode: '81', nationalPrefix: '+0', internationalPrefix: '010' } }).success).toBe(false);
    expect(bad({ 'Bad Id': { countryCode: '81', nationalPrefix: '0', internationalPrefix: '010' }, default: { countryCode: '81', nationalPrefix: '0', internationalPrefix: '010' } }).success).toBe(false);
    const r = bad({ default: { countryCode: '81', nationalPrefix: '0' } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0]?.path)).toContain('trunks');
  });
});
