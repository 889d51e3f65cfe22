// The routing policy's pure rules (shared/rules/route-policy.ts, shared/rules/business-hours.ts
// isOpen): hours in the campaign's IANA zone (Tokyo without DST, New York across both DST
// changes), hours past midnight, holidays, the block list compared as E.164, and random
// schedules and instants against an independent brute-force reading of the wall clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hoursStatus, isOpen, WEEKDAYS, type BusinessHours, type OpeningInterval } from '../../../shared/rules/business-hours';
import { trunkNumberToE164, JAPAN_TRUNK } from '../../../shared/rules/numbering';
import { toE164 } from '../../../shared/rules/phone';
import { admit, isBlocked, type CampaignRoutePolicy } from '../../../shared/rules/route-policy';
import { BusinessHoursSchema } from '../../../shared/gateway/crm';

const weekdays = (open: string, close: string) => Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ open, close }]]));
const at = (iso: string) => new Date(iso);

describe('isOpen: Asia/Tokyo (no DST)', () => {
  const hours: BusinessHours = { timeZone: 'Asia/Tokyo', weekly: weekdays('09:00', '18:00'), closedDates: ['2026-11-23'] };
  it('open from 09:00 (inclusive) to 18:00 (exclusive) JST, whatever the UTC date', () => {
    // Friday 2026-11-20: 09:00 JST = 00:00Z
    expect(isOpen(hours, at('2026-11-20T00:00:00Z'))).toBe(true);
    expect(isOpen(hours, at('2026-11-19T23:59:59Z'))).toBe(false);
    expect(isOpen(hours, at('2026-11-20T08:59:59Z'))).toBe(true);
    expect(isOpen(hours, at('2026-11-20T09:00:00Z'))).toBe(false);
    // Saturday and Sunday closed
    expect(isOpen(hours, at('2026-11-21T03:00:00Z'))).toBe(false);
  });
  it('a holiday (勤労感謝の日, a Monday) is closed all day, the days around it are not', () => {
    expect(isOpen(hours, at('2026-11-23T03:00:00Z'))).toBe(false);
    expect(isOpen(hours, at('2026-11-24T03:00:00Z'))).toBe(true);
  });
  it('hours past midnight: Friday 22:00-24:00 and Saturday 00:00-02:00 is one night shift', () => {
    const night: BusinessHours = { timeZone: 'Asia/Tokyo', weekly: { fri: [{ open: '22:00', close: '24:00' }], sat: [{ open: '00:00', close: '02:00' }] }, closedDates: [] };
    expect(isOpen(night, at('2026-11-20T12:59:59Z'))).toBe(false); // Fri 21:59:59
    expect(isOpen(night, at('2026-11-20T13:00:00Z'))).toBe(true); // Fri 22:00
    expect(isOpen(night, at('2026-11-20T14:59:59Z'))).toBe(true); // Fri 23:59:59
    expect(isOpen(night, at('2026-11-20T15:00:00Z'))).toBe(true); // Sat 00:00
    expect(isOpen(night, at('2026-11-20T16:59:59Z'))).toBe(true); // Sat 01:59:59
    expect(isOpen(night, at('2026-11-20T17:00:00Z'))).toBe(false); // Sat 02:00
    // the holiday is the date the interval belongs to: Saturday closed cuts the night at midnight
    const holiday = { ...night, closedDates: ['2026-11-21'] };
    expect(isOpen(holiday, at('2026-11-20T14:30:00Z'))).toBe(true);
    expect(isOpen(holiday, at('2026-11-20T15:30:00Z'))).toBe(false);
  });
  it('special hours for a date replace the weekday\'s (a shortened Christmas Eve), a closed date still wins; the admin route validates them', () => {
    const special: BusinessHours = { ...hours, specialDates: { '2026-12-24': [{ open: '09:00', close: '12:00' }], '2026-11-23': [{ open: '09:00', close: '18:00' }] } };
    expect(isOpen(special, at('2026-12-24T02:00:00Z'))).toBe(true); // 11:00 JST
    expect(isOpen(special, at('2026-12-24T03:00:00Z'))).toBe(false); // 12:00 JST, a weekday's 18:00 does not apply
    expect(isOpen(special, at('2026-12-25T03:00:00Z'))).toBe(true); // the next day: weekly hours again
    expect(isOpen(special, at('2026-11-23T03:00:00Z'))).toBe(false); // closed date and special hours: closed
    expect(hoursStatus(special, at('2026-12-24T03:00:00Z')).nextOpening).toBe('2026-12-25T00:00:00.000Z');
    // a Sunday made a working day
    expect(isOpen({ ...hours, specialDates: { '2026-11-22': [{ open: '10:00', close: '15:00' }] } }, at('2026-11-22T03:00:00Z'))).toBe(true);
    expect(BusinessHoursSchema.safeParse({ ...hours, specialDates: { '2026-13-01': [] } }).success).toBe(false);
    expect(BusinessHoursSchema.safeParse({ ...hours, specialDates: { '2026-12-24': [{ open: '12:00', close: '09:00' }] } }).success).toBe(false);
    expect(BusinessHoursSchema.parse({ timeZone: 'Asia/Tokyo', weekly: {} }).specialDates).toEqual({});
  });
  it('no weekly hours: never open', () => {
    expect(isOpen({ timeZone: 'Asia/Tokyo', weekly: {}, closedDates: [] }, at('2026-11-20T03:00:00Z'))).toBe(false);
  });
});

describe('isOpen: America/New_York across the DST changes', () => {
  const hours: BusinessHours = { timeZone: 'America/New_York', weekly: { ...weekdays('09:00', '17:00'), sun: [{ open: '01:00', close: '04:00' }] }, closedDates: [] };
  it('09:00 local is 14:00Z in winter, 13:00Z in summer', () => {
    expect(isOpen(hours, at('2026-03-06T13:30:00Z'))).toBe(false); // Fri 08:30 EST
    expect(isOpen(hours, at('2026-03-06T14:00:00Z'))).toBe(true); // Fri 09:00 EST
    expect(isOpen(hours, at('2026-03-09T13:00:00Z'))).toBe(true); // Mon 09:00 EDT
    expect(isOpen(hours, at('2026-03-09T12:59:00Z'))).toBe(false);
    expect(isOpen(hours, at('2026-03-09T21:00:00Z'))).toBe(false); // Mon 17:00 EDT
  });
  it('spring forward (Sunday 2026-03-08, 02:00 -> 03:00): Sunday 01:00-04:00 lasts two hours', () => {
    expect(isOpen(hours, at('2026-03-08T05:59:00Z'))).toBe(false); // 00:59 EST
    expect(isOpen(hours, at('2026-03-08T06:00:00Z'))).toBe(true); // 01:00 EST
    expect(isOpen(hours, at('2026-03-08T06:59:59Z'))).toBe(true); // 01:59:59 EST
    expect(isOpen(hours, at('2026-03-08T07:00:00Z'))).toBe(true); // 03:00 EDT
    expect(isOpen(hours, at('2026-03-08T07:59:59Z'))).toBe(true); // 03:59:59 EDT
    expect(isOpen(hours, at('2026-03-08T08:00:00Z'))).toBe(false); // 04:00 EDT
  });
  it('fall back (Sunday 2026-11-01, 02:00 -> 01:00): Sunday 01:00-04:00 lasts four hours, both 01:xx open', () => {
    expect(isOpen(hours, at('2026-11-01T04:59:00Z'))).toBe(false); // 00:59 EDT
    expect(isOpen(hours, at('2026-11-01T05:00:00Z'))).toBe(true); // 01:00 EDT
    expect(isOpen(hours, at('2026-11-01T06:30:00Z'))).toBe(true); // 01:30 EST (the second 01:30)
    expect(isOpen(hours, at('2026-11-01T08:59:59Z'))).toBe(true); // 03:59:59 EST
    expect(isOpen(hours, at('2026-11-01T09:00:00Z'))).toBe(false); // 04:00 EST
  });
});

/** Wall clock of an instant in a zone by Intl alone (independent of the rule's own arithmetic). */
function wall(ms: number, timeZone: string): { date: string; weekday: string; minutes: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, weekday: parts.weekday!.toLowerCase().slice(0, 3), minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}
const mins = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

describe('isOpen: random schedules and instants', () => {
  const hhmm = fc.integer({ min: 0, max: 23 * 60 + 59 }).map((m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
  const interval: fc.Arbitrary<OpeningInterval> = fc.tuple(hhmm, fc.option(hhmm, { nil: undefined })).map(([a, b]) => {
    const close = b === undefined ? '24:00' : b;
    return close > a ? { open: a, close } : { open: close === '24:00' ? a : close, close: close === '24:00' ? '24:00' : a };
  }).filter((i) => i.open < i.close);
  const schedule = fc.record({
    timeZone: fc.constantFrom('Asia/Tokyo', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'UTC'),
    weekly: fc.record(Object.fromEntries(WEEKDAYS.map((d) => [d, fc.array(interval, { maxLength: 3 })])) as Record<string, fc.Arbitrary<OpeningInterval[]>>, { requiredKeys: [] }),
    closedDates: fc.array(fc.integer({ min: 0, max: 730 }).map((d) => new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10)), { maxLength: 20 }),
  });
  // instants in 2026-2027, biased to the minutes around the hour (DST changes happen on the hour)
  const instant = fc.oneof(
    fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 31) }),
    fc.tuple(fc.integer({ min: 0, max: 730 * 24 }), fc.integer({ min: -120, max: 120 })).map(([h, s]) => Date.UTC(2026, 0, 1) + h * 3_600_000 + s * 1000),
  );

  it('the schedule is valid for the admin route, and isOpen equals hoursStatus().openNow', () => {
    fc.assert(
      fc.property(schedule, instant, (h, ms) => {
        const hours = BusinessHoursSchema.parse(h) as BusinessHours;
        expect(isOpen(hours, new Date(ms))).toBe(hoursStatus(hours, new Date(ms)).openNow);
      }),
      { numRuns: 1500 },
    );
  });

  it('outside the DST change hours, isOpen is "today is not closed and the wall clock is inside one of today\'s intervals"', () => {
    fc.assert(
      fc.property(schedule, instant, (h, ms) => {
        const hours = BusinessHoursSchema.parse(h) as BusinessHours;
        const w = wall(ms, hours.timeZone);
        // near a change of offset the wall clock is ambiguous or skipped: the examples above cover it
        if (wall(ms - 3 * 3_600_000, hours.timeZone).minutes !== (w.minutes - 180 + 1440) % 1440 || wall(ms + 3 * 3_600_000, hours.timeZone).minutes !== (w.minutes + 180) % 1440) return;
        const today = (hours.weekly[w.weekday as keyof BusinessHours['weekly']] ?? []) as OpeningInterval[];
        const expected = !hours.closedDates.includes(w.date) && today.some((i) => w.minutes >= mins(i.open) && w.minutes < (i.close === '24:00' ? 1440 : mins(i.close)));
        expect(isOpen(hours, new Date(ms))).toBe(expected);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('admit: the block list before the hours', () => {
  const policy = (o: Partial<CampaignRoutePolicy> = {}): CampaignRoutePolicy => ({
    hours: { timeZone: 'Asia/Tokyo', weekly: weekdays('09:00', '18:00'), closedDates: [] }, enforceHours: true,
    blockedNumbers: [toE164('090-1234-5678')!], blockPolicy: 'reject', ...o,
  });
  const OPEN = at('2026-11-20T03:00:00Z');
  const CLOSED = at('2026-11-20T12:00:00Z');
  it('a caller not listed, open: offered; closed: closed; hours not enforced: offered', () => {
    expect(admit(policy(), '+819011112222', OPEN)).toEqual({ outcome: 'offer' });
    expect(admit(policy(), '+819011112222', CLOSED)).toEqual({ outcome: 'closed' });
    expect(admit(policy({ enforceHours: false }), '+819011112222', CLOSED)).toEqual({ outcome: 'offer' });
  });
  it('a listed caller is refused with the campaign\'s policy, open or closed', () => {
    expect(admit(policy(), '+819012345678', OPEN)).toEqual({ outcome: 'blocked', policy: 'reject' });
    expect(admit(policy({ blockPolicy: 'message' }), '+819012345678', CLOSED)).toEqual({ outcome: 'blocked', policy: 'message' });
  });
  it('every form a trunk presents the listed number in is the same E.164 (the one numbering rule)', () => {
    const list = [toE164('090-1234-5678')!];
    for (const raw of ['+819012345678', '819012345678', '09012345678', '9012345678', '010819012345678', '+81-90-1234-5678']) {
      expect(isBlocked(trunkNumberToE164(raw, JAPAN_TRUNK), list), raw).toBe(true);
    }
    for (const raw of ['09012345679', '0901234567', '']) expect(isBlocked(trunkNumberToE164(raw, JAPAN_TRUNK), list), raw).toBe(false);
  });
  it('no caller (withheld, not a number) is never blocked, whatever the list holds', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), fc.constantFrom(null, '', 'anonymous', '+', '+0123', '+81 90', 'null'), (junk, caller) => {
        expect(isBlocked(caller, [...junk, 'anonymous', '', 'null', '+'])).toBe(false);
      }),
    );
  });
});
