// Times of the recordings player: "m:ss" (or "h:mm:ss") on screen, words for screen readers
// ("1分05秒" / "1 min 5 s", from the same keys as the board's statistics).
import type { TFunction } from 'i18next';
import { spokenDuration } from '../../app/spoken-duration';

export function clockText(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Words for screen readers, whole seconds (floored: a position, not a rounded total). */
export function spokenText(t: TFunction, ms: number): string {
  return spokenDuration(t, Math.max(0, Math.floor(ms / 1000)));
}
