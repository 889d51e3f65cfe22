// Dates, times and counts as the display language writes them, in one place (issue 18):
// ja "2026年11月30日 10:05" (what Japanese business software shows), en "30 November 2026 at
// 10:05"; counts "1,234". Always Japan time: the call centre's clock, whatever this PC's zone.

/** The Intl locale of a display language. */
export function localeOf(language: string): 'ja-JP' | 'en-GB' {
  return language === 'ja' ? 'ja-JP' : 'en-GB';
}

export const DISPLAY_TIME_ZONE = 'Asia/Tokyo';

function dateFormat(language: string, kind: 'minutes' | 'seconds' | 'time'): Intl.DateTimeFormat {
  const options: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', timeZone: DISPLAY_TIME_ZONE };
  if (kind !== 'minutes') options.second = '2-digit';
  if (kind !== 'time') Object.assign(options, { year: 'numeric', month: 'long', day: 'numeric' });
  return new Intl.DateTimeFormat(localeOf(language), options);
}

/** A moment (ISO text, epoch ms or Date) as date and time: "2026年11月30日 10:05"; `seconds`: "2026年11月30日 10:05:09". */
export function formatDateTime(at: string | number | Date, language: string, { seconds = false }: { seconds?: boolean } = {}): string {
  return dateFormat(language, seconds ? 'seconds' : 'minutes').format(new Date(at));
}

/** The time of day only, with seconds: "10:05:09". */
export function formatTime(at: string | number | Date, language: string): string {
  return dateFormat(language, 'time').format(new Date(at));
}

/** A count: "1,234". */
export function formatNumber(n: number, language: string): string {
  return new Intl.NumberFormat(localeOf(language)).format(n);
}

/** A share (0..1) as a whole percentage: "85%". */
export function formatPercent(share: number, language: string): string {
  return new Intl.NumberFormat(localeOf(language), { style: 'percent', maximumFractionDigits: 0 }).format(share);
}
