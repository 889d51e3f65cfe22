// Business hours of a campaign in its own IANA time zone: a weekly schedule plus closed
// dates (holidays). Pure, on the Intl API only, so the renderer and the gateway agree.
//
// A wall-clock time that does not exist on a DST change day (02:30 in New York on the
// spring-forward Sunday) is moved forward by the gap (03:30), and one that happens twice
// (01:30 on the fall-back Sunday) is the earlier instant, like Temporal's "compatible".

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface OpeningInterval {
  /** "HH:MM", 00:00-23:59 */
  open: string;
  /** "HH:MM", after `open`, up to "24:00" */
  close: string;
}

export interface BusinessHours {
  timeZone: string;
  weekly: Partial<Record<Weekday, OpeningInterval[]>>;
  /** "YYYY-MM-DD" in the campaign's time zone. */
  closedDates: string[];
  /** Special hours: "YYYY-MM-DD" -> that day's intervals instead of the weekday's (a closed date still wins). */
  specialDates?: Record<string, OpeningInterval[]>;
}

export interface HoursStatus {
  openNow: boolean;
  /** The next moment it opens after `now` (ISO, UTC), or null if never within a year. */
  nextOpening: string | null;
  /** When the current opening ends (ISO, UTC), or null when closed. */
  closesAt: string | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch (err) {
    // Intl's RangeError is the answer to "is this a time zone": not a failure to log here; the
    // caller refuses the value with a validation error that names it. Anything else is a fault.
    if (err instanceof RangeError) return false;
    throw err;
  }
}

interface Wall {
  y: number;
  m: number;
  d: number;
  minutes: number;
}

function wallClock(ms: number, timeZone: string): Wall & { s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, minutes: parts.hour! * 60 + parts.minute!, s: parts.second! };
}

/** Offset of the zone from UTC at an instant, in ms (local minus UTC). */
function offsetMs(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const floored = Math.floor(ms / 1000) * 1000;
  return Date.UTC(w.y, w.m - 1, w.d, 0, w.minutes, w.s) - floored;
}

/** The instant of a wall-clock time in a zone (see the DST note at the top). */
export function zonedTimeToUtc(date: string, minutes: number, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d, 0, minutes);
  const candidates = [...new Set([guess - offsetMs(guess, timeZone), guess - offsetMs(guess - offsetMs(guess, timeZone), timeZone)])];
  const exact = candidates.filter((t) => {
    const w = wallClock(t, timeZone);
    return Date.UTC(w.y, w.m - 1, w.d, 0, w.minutes) === guess;
  });
  return exact.length > 0 ? Math.min(...exact) : Math.max(...candidates);
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const dateKey = (y: number, m: number, d: number) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

function intervalsOn(hours: BusinessHours, y: number, m: number, d: number): OpeningInterval[] {
  const key = dateKey(y, m, d);
  if (hours.closedDates.includes(key)) return [];
  const special = hours.specialDates?.[key];
  if (special) return [...special].sort((a, b) => minutesOf(a.open) - minutesOf(b.open));
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]!;
  return [...(hours.weekly[weekday] ?? [])].sort((a, b) => minutesOf(a.open) - minutesOf(b.open));
}

/**
 * Is the campaign open at this instant? The one test routing (shared/rules/route-policy.ts) and
 * hoursStatus (the screen pop, GET /campaigns/:id/hours) share: today's intervals in the zone,
 * open inclusive, close exclusive, none on a closed date. Hours past midnight are two intervals
 * (22:00-24:00 and 00:00-02:00 of the next day).
 */
export function isOpen(hours: BusinessHours, instant: Date): boolean {
  return openIntervalEnd(hours, instant.getTime()) !== null;
}

function openIntervalEnd(hours: BusinessHours, nowMs: number): number | null {
  const today = wallClock(nowMs, hours.timeZone);
  let end: number | null = null;
  for (const iv of intervalsOn(hours, today.y, today.m, today.d)) {
    const start = zonedTimeToUtc(dateKey(today.y, today.m, today.d), minutesOf(iv.open), hours.timeZone);
    const close = zonedTimeToUtc(dateKey(today.y, today.m, today.d), minutesOf(iv.close), hours.timeZone);
    if (nowMs >= start && nowMs < close) end = close;
  }
  return end;
}

/** Open now?, the next opening and the end of the current opening. */
export function hoursStatus(hours: BusinessHours, now: Date): HoursStatus {
  const nowMs = now.getTime();
  const today = wallClock(nowMs, hours.timeZone);
  const end = openIntervalEnd(hours, nowMs);
  const closesAt = end === null ? null : new Date(end).toISOString();
  let nextOpening: string | null = null;
  for (let offset = 0; offset <= 370 && !nextOpening; offset++) {
    const day = new Date(Date.UTC(today.y, today.m - 1, today.d + offset));
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    for (const iv of intervalsOn(hours, y, m, d)) {
      const start = zonedTimeToUtc(dateKey(y, m, d), minutesOf(iv.open), hours.timeZone);
      if (start > nowMs) {
        nextOpening = new Date(start).toISOString();
        break;
      }
    }
  }
  return { openNow: closesAt !== null, nextOpening, closesAt };
}
