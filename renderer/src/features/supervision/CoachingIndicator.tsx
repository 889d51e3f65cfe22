import { useTranslation } from 'react-i18next';
import { useSupervisionStore } from './store';

/** The operator's discreet sign that a team lead is coaching (whisper) or has joined (barge). Nothing for monitor. */
export function CoachingIndicator() {
  const { t } = useTranslation();
  const coaching = useSupervisionStore((s) => s.coaching);
  if (!coaching) return null;
  return (
    <p className="badge coaching" role="status" data-testid="coaching-indicator" data-mode={coaching.mode}>
      {t(`supervision.coaching.${coaching.mode}`)}
    </p>
  );
}
