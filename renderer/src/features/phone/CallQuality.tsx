// The call-quality badge in the call controls (issue 18 item 7): 良好 / 普通 / 不良 with the MOS
// estimate; opened, the figures behind it (jitter, loss, round trip). Levels and thresholds:
// shared/rules/call-quality.ts, docs/telephony.md. Not a live region: a screen reader is not
// interrupted every 2 s; the operator opens it when they want to know.
import { useTranslation } from 'react-i18next';
import { qualityText } from '../../app/quality-text';
import { useQualityStore } from './quality';

export function CallQuality({ callId }: { callId: string }) {
  const { t, i18n } = useTranslation();
  const figures = useQualityStore((s) => s.byCall[callId]);
  if (!figures) return null;
  const { level, label, mos, details } = qualityText(t, i18n.language, figures);
  return (
    <details className="call-quality" data-level={level} data-testid="call-quality">
      {/* the name holds the visible text as written ("良好 4.3"): WCAG 2.5.3, label in name (axe label-content-name-mismatch) */}
      <summary title={details} aria-label={`${t('audio.quality.label')}: ${label} ${mos} (MOS)`}>
        <span className="dot" aria-hidden="true" />
        {label} {mos}
      </summary>
      <span data-testid="call-quality-details">{details}</span>
    </details>
  );
}
