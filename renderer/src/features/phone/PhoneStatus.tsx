import { useTranslation } from 'react-i18next';
import { usePhoneStore } from './phone-store';

const TONES = { offline: 'idle', connecting: 'warn', registered: 'ok', failed: 'bad' } as const;

/** The status bar's phone indicator: SIP registration, always visible. */
export function PhoneStatus() {
  const { t } = useTranslation();
  const registration = usePhoneStore((s) => s.registration);
  return (
    <div className="status-item" data-testid="status-phone" data-tone={TONES[registration]} data-registration={registration}>
      <span className={`dot dot-${TONES[registration]}`} aria-hidden="true" />
      <span className="status-label">{t('status.phone')}</span>
      <span className="status-value">{t(`status.phoneState.${registration}`)}</span>
    </div>
  );
}
