import { describe, expect, it } from 'vitest';
import { hoursStatus, isTimeZone, zonedTimeToUtc, type BusinessHours } from '../../../shared/rules/business-hours';

const weekdays = (open: string, close: string) => ({
  mon: [{ open, close }], tue: [{ open, close }], wed: [{ open, close }], thu: [{ open, close }], fri: [{ open, close }],
});

describe('business hours in Asia/Tokyo', () => {
  const hours: BusinessHours = {
    timeZone: 'Asia/Tokyo',
    weekly: { ...weekdays('09:00', '18:00'), sat: [{ open: '10:00', close: '12:00' }, { open: '13:00', close: '17:00' }] },
    closedDates: ['2026-11-23'], // 勤労感謝の日 (Monday)
  };
  it('is open on a weekday morning and says when it closes', () => {
    // Friday 2026-11-20 10:00 JST = 01:00Z
    expect(hoursStatus(hours, new Date('2026-11-20T01:00:00Z'))).toEqual({
      openNow: true, nextOpening: '2026-11-21T01:00:00.000Z', closesAt: '2026-11-20T09:00:00.000Z',
    });
  });
  it('is closed at lunch on Saturday and reopens at 13:00', () => {
    expect(hoursStatus(hours, new Date('2026-11-21T03:30:00Z'))).toEqual({ openNow: false, nextOpening: '2026-11-21T04:00:00.000Z', closesAt: null });
  });
  it('skips Sunday and the closed holiday: next opening is Tuesday 09:00 JST', () => {
    expect(hoursStatus(hours, new Date('2026-11-21T09:00:00Z'))).toEqual({ openNow: false, nextOpening: '2026-11-24T00:00:00.000Z', closesAt: null });
    expect(hoursStatus(hours, new Date('2026-11-23T02:00:00Z')).openNow).toBe(false);
  });
  it('closing time is exclusive and 24:00 closes at midnight', () => {
    expect(hoursStatus(hours, new Date('2026-11-20T09:00:00Z')).openNow).toBe(false);
    const late: BusinessHours = { timeZone: 'Asia/Tokyo', weekly: { fri: [{ open: '20:00', close: '24:00' }] }, closedDates: [] };
    expect(hoursStatus(late, new Date('2026-11-20T14:59:00Z'))).toMatchObject({ openNow: true, closesAt: '2026-11-20T15:00:00.000Z' });
  });
  it('never open: nextOpening is null', () => {
    expect(hoursStatus({ timeZone: 'Asia/Tokyo', weekly: {}, closedDates: [] }, new Date())).toEqual({ openNow: false, nextOpening: null, closesAt: null });
  });
});

describe('business hours across DST in America/New_York', () => {
  const hours: BusinessHours = { timeZone: 'America/New_York', weekly: { ...weekdays('09:00', '17:00') }, closedDates: [] };
  it('09:00 is 14:00Z in winter and 13:00Z in summer', () => {
    // Saturday before the spring-forward Sunday (2026-03-08): next opening Monday 09:00 EDT
    expect(hoursStatus(hours, new Date('2026-03-07T15:00:00Z')).nextOpening).toBe('2026-03-09T13:00:00.000Z');
    // a week earlier: Monday 09:00 EST
    expect(hoursStatus(hours, new Date('2026-02-28T15:00:00Z')).nextOpening).toBe('2026-03-02T14:00:00.000Z');
    // 08:30 EDT closed, 09:30 EDT open
    expect(hoursStatus(hours, new Date('2026-03-09T12:30:00Z')).openNow).toBe(false);
    expect(hoursStatus(hours, new Date('2026-03-09T13:30:00Z'))).toMatchObject({ openNow: true, closesAt: '2026-03-09T21:00:00.000Z' });
    // fall back (2026-11-01): Monday 09:00 EST = 14:00Z
    expect(hoursStatus(hours, new Date('2026-10-31T15:00:00Z')).nextOpening).toBe('2026-11-02T14:00:00.000Z');
  });
  it('a wall time inside the spring-forward gap moves forward by the gap; a repeated one is the earlier instant', () => {
    expect(new Date(zonedTimeToUtc('2026-03-08', 2 * 60 + 30, 'America/New_York')).toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(new Date(zonedTimeToUtc('2026-11-01', 60 + 30, 'America/New_York')).toISOString()).toBe('2026-11-01T05:30:00.000Z');
    const sunday: BusinessHours = { timeZone: 'America/New_York', weekly: { sun: [{ open: '02:30', close: '04:00' }] }, closedDates: [] };
    expect(hoursStatus(sunday, new Date('2026-03-08T06:00:00Z'))).toEqual({ openNow: false, nextOpening: '2026-03-08T07:30:00.000Z', closesAt: null });
  });
  it('validates time zone names', () => {
    expect(isTimeZone('Asia/Tokyo')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
