// A phone number as the operator reads it (issue 18): a Japanese number in the national form
// (090-1234-5678, 03-1234-5678), another country's in the international form, by the one rule in
// shared/rules/phone-format.ts. The stored E.164 stays one step away: the number's title, and a
// small "E.164" toggle button (keyboard operable, aria-pressed). Display only: the gateway and
// SIP get the E.164 number as before. A text that is no E.164 number (a colleague's SIP user)
// shows as it is, with no toggle.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatPhone } from '../../../shared/rules/phone-format';

export function PhoneNumber({ value, testid, className }: { value: string; testid?: string; className?: string }) {
  const { t } = useTranslation();
  const [e164, setE164] = useState(false);
  const national = formatPhone(value, { style: 'national' });
  const text = (
    <span className={className ? `phone-number ${className}` : 'phone-number'} data-testid={testid} title={national === value ? undefined : value}>
      {e164 ? value : national}
    </span>
  );
  if (national === value) return text;
  return (
    <>
      {text}
      <button type="button" className="phone-style" data-testid="phone-style" aria-pressed={e164} aria-label={t('phone.format.showE164')} onClick={() => setE164(!e164)}>
        {t('phone.format.e164')}
      </button>
    </>
  );
}
