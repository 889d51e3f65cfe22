// The call-quality badge in the call controls (issue 18 item 7): 良好 / 普通 / 不良 with the MOS
// estimate; opened, the figures behind it (jitter, loss, round trip). Levels and thresholds:
// shared/rules/call-quality.ts, docs/telephony.md. Not a live region: a screen reader is not
// interrupted every 2 s; the operator opens it when they want to know.
import { useTranslation } from 'react-i18next';
import { qualityLevel } from '../../../../shared/rules/call-quality';
import { useQualityStore } from './quality';

export function CallQuality({ callId }: { callId: string }) {
  const { t, i18n } = useTranslation();
  const figures = useQualityStore((s) => s.byCall[callId]);
  if (!figures) return null;
  const level = qualityLevel(figures);
  const n = (digits: number) => new Intl.NumberFormat(i18n.language, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const mos = n(1).format(figures.mos);
  const details = t('audio.quality.details', {
    mos: n(2).format(figures.mos),
    jitter: n(0).format(figures.jitterMs),
    loss: n(1).format(figures.lossPct),
    rtt: figures.rttMs === null ? t('audio.quality.rttUnknown') : n(0).format(figures.rttMs),
  });
  return (
    <details className="call-quality" data-level={level} data-testid="call-quality">
      <summary title={details} aria-label={`${t('audio.quality.label')}: ${t(`audio.quality.${level}`)} MOS ${mos}`}>
        <span className="dot" aria-hidden="true" />
        {t(`audio.quality.${level}`)} {mos}
      </summary>
      <span data-testid="call-quality-details">{details}</span>
    </details>
  );
}
