// A duration as the display language says it ("1分05秒" / "1 min 5 s"): the board's figures and
// the recordings player's screen-reader text, one rule.
import type { TFunction } from 'i18next';

/** A duration in seconds as the language writes it (rounded to the second). */
export function spokenDuration(t: TFunction, seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return t('supervision.stats.hms', { h, m, s });
  if (m > 0) return t('supervision.stats.ms', { m, s });
  return t('supervision.stats.s', { s });
}
