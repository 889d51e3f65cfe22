// A call's quality in words, the same for the operator's badge (features/phone/CallQuality.tsx)
// and the lead's board (features/supervision/LeadBoard.tsx): the level, the MOS to one decimal
// and the figures behind it, formatted for the UI language. Levels: shared/rules/call-quality.ts.
import type { TFunction } from 'i18next';
import { qualityLevel, type QualityLevel } from '../../../shared/rules/call-quality';

export function qualityText(t: TFunction, language: string, f: { mos: number; jitterMs: number; lossPct: number; rttMs: number | null }): { level: QualityLevel; label: string; mos: string; details: string } {
  const n = (digits: number) => new Intl.NumberFormat(language, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const level = qualityLevel(f);
  return {
    level,
    label: t(`audio.quality.${level}`),
    mos: n(1).format(f.mos),
    details: t('audio.quality.details', {
      mos: n(2).format(f.mos),
      jitter: n(0).format(f.jitterMs),
      loss: n(1).format(f.lossPct),
      rtt: f.rttMs === null ? t('audio.quality.rttUnknown') : n(0).format(f.rttMs),
    }),
  };
}
