// The gateway's one-helper rules (issue 13): one session-expiry rule, one JSON-column codec, one
// row-to-view grouping, one "has a second factor" test, one check of the routes Kamailio calls.
// Each is the only place its rule lives, so these tests pin the rule itself, hostile values included.
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { assertFromKamailio } from '../../../server/auth/kamailio-secret';
import { sessionExpired, sessionIdleEnd } from '../../../server/auth/sign-in-helpers';
import { activeTotpSecret } from '../../../server/auth/totp';
import { parseConfig } from '../../../server/config';
import { jsonColumn, toJsonColumn } from '../../../server/db/json-column';
import { groupBy, iso, isoOrNull } from '../../../server/db/rows';
import { GatewayError } from '../../../server/errors';

const at = (s: string) => new Date(`2026-01-01T${s}Z`);
const policy = { sessions: { idleMinutes: 30, absoluteHours: 12, accessTokenMinutes: 10 } } as never;

describe('sessionExpired: the one session-expiry rule', () => {
  const session = { absolute_expires_at: at('12:00:00.000') };

  it('ends a session at its absolute end, to the millisecond, idle or live', () => {
    expect(sessionExpired(session, at('11:59:59.999'))).toBe(false);
    expect(sessionExpired(session, at('12:00:00.000'))).toBe(true);
    expect(sessionExpired(session, at('12:00:00.000'), { lastSeenAt: at('11:59:59.000'), policy })).toBe(true);
  });

  it('ends an idle session after the org\'s idle minutes, only when the idle limit is asked for', () => {
    const idle = { lastSeenAt: at('10:00:00.000'), policy };
    expect(sessionExpired(session, at('10:29:59.999'), idle)).toBe(false);
    expect(sessionExpired(session, at('10:30:00.000'), idle)).toBe(true);
    // a live connection (an open /ws) is itself the activity: never idle
    expect(sessionExpired(session, at('10:30:00.000'))).toBe(false);
  });

  it('agrees with sessionIdleEnd (what a sign-in answers as idleExpiresAt) at every minute, capped by the absolute end', () => {
    for (let m = 0; m < 24 * 60; m += 7) {
      const lastSeenAt = new Date(at('00:00:00.000').getTime() + m * 60_000);
      const end = sessionIdleEnd(lastSeenAt, session.absolute_expires_at, policy);
      expect(end.getTime()).toBeLessThanOrEqual(session.absolute_expires_at.getTime());
      expect(sessionExpired(session, new Date(end.getTime() - 1), { lastSeenAt, policy })).toBe(false);
      expect(sessionExpired(session, end, { lastSeenAt, policy })).toBe(true);
    }
  });
});

describe('JSON columns: one encoder, one decoder', () => {
  it('round-trips what the gateway stores, whether the driver hands back text (PGlite) or values (pg)', () => {
    const values: object[] = [
      { 会員番号: 'M-100001', nested: { list: [1, 'two', null, { deep: true }] } },
      ['+81312345678', '+819012345678'],
      { mon: [['09:00', '18:00']], closed: [] },
      { text: 'a string with "quotes" and \\ backslashes and 改行\n', json: '{"looks": "like JSON"}' },
      ['["an array in a string"]', '123', 'null'],
      [],
      {},
    ];
    for (const v of values) {
      expect(jsonColumn(toJsonColumn(v))).toEqual(v); // PGlite / text column
      expect(jsonColumn(JSON.parse(toJsonColumn(v)))).toEqual(v); // pg parses json/jsonb into the value
    }
  });

  it('refuses text that is not JSON loudly, never a silent default', () => {
    expect(() => jsonColumn('{"broken": ')).toThrow(SyntaxError);
  });

  it('takes objects and arrays only: a top-level string could not be told from JSON text on the way back', () => {
    // @ts-expect-error a string is not a JSON column value here
    expect(toJsonColumn('["x"]')).toBe('"[\\"x\\"]"');
    expect(jsonColumn(JSON.parse(toJsonColumn(['["x"]'])))).toEqual(['["x"]']);
  });
});

describe('rows: timestamps and grouping', () => {
  it('formats a Date or its text the same way, and null as null', () => {
    expect(iso(at('09:00:00.123'))).toBe('2026-01-01T09:00:00.123Z');
    expect(iso('2026-01-01 09:00:00.123+00')).toBe('2026-01-01T09:00:00.123Z');
    expect(isoOrNull(null)).toBeNull();
    expect(isoOrNull(at('09:00:00.000'))).toBe('2026-01-01T09:00:00.000Z');
  });

  it('groups children under their parent in the rows\' order, whatever the interleaving', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ parent: `p${(i * 7919) % 13}`, v: i }));
    const grouped = groupBy(rows, (r) => r.parent, (r) => r.v);
    expect([...grouped.values()].flat().sort((a, b) => a - b)).toEqual(rows.map((r) => r.v));
    for (const [parent, list] of grouped) {
      expect(list).toEqual(rows.filter((r) => r.parent === parent).map((r) => r.v));
    }
    expect(groupBy([], (r: { k: string }) => r.k, (r) => r).size).toBe(0);
  });
});

describe('activeTotpSecret: the one test of "this user has a second factor"', () => {
  it('is the secret only when TOTP is enabled and a secret is stored', () => {
    expect(activeTotpSecret({ totp_enabled: true, totp_secret: 'JBSWY3DPEHPK3PXP' })).toBe('JBSWY3DPEHPK3PXP');
    expect(activeTotpSecret({ totp_enabled: false, totp_secret: 'JBSWY3DPEHPK3PXP' })).toBeNull(); // enrolment started, not confirmed
    expect(activeTotpSecret({ totp_enabled: true, totp_secret: null })).toBeNull(); // a damaged row: no code can match
    expect(activeTotpSecret({ totp_enabled: true, totp_secret: '' })).toBeNull();
  });
});

describe('assertFromKamailio: the one check of the routes Kamailio calls', () => {
  const req = (headers: Record<string, unknown>) => ({ headers }) as unknown as FastifyRequest;
  const refused = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return err instanceof GatewayError && err.code === 'unauthenticated';
    }
    return false;
  };
  const config = parseConfig({ sip: { routeSecret: 'k4m-secret-0123456789-abcdefghijkl' } });

  it('lets the configured secret through', () => {
    expect(refused(() => assertFromKamailio(config, req({ 'x-koe-route-secret': 'k4m-secret-0123456789-abcdefghijkl' })))).toBe(false);
  });

  it.each([
    ['no header', {}],
    ['empty', { 'x-koe-route-secret': '' }],
    ['a prefix', { 'x-koe-route-secret': 'k4m-secret-0123456789-abcdefghijkl-abcdefghijk' }],
    ['longer', { 'x-koe-route-secret': 'k4m-secret-0123456789-abcdefghijkl-abcdefghijklX' }],
    ['another case', { 'x-koe-route-secret': 'K4M-SECRET-0123456789-ABCDEFGHIJKL' }],
    ['repeated header (array)', { 'x-koe-route-secret': ['k4m-secret-0123456789-abcdefghijkl', 'k4m-secret-0123456789-abcdefghijkl'] }],
  ])('refuses %s', (_name, headers) => {
    expect(refused(() => assertFromKamailio(config, req(headers)))).toBe(true);
  });

  it('refuses everything when no secret is configured, even an empty header', () => {
    const none = parseConfig({});
    expect(none.sip.routeSecret ?? null).toBeNull();
    expect(refused(() => assertFromKamailio(none, req({ 'x-koe-route-secret': '' })))).toBe(true);
    expect(refused(() => assertFromKamailio(none, req({})))).toBe(true);
  });
});
