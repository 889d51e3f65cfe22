import { useTranslation } from 'react-i18next';
import { formatDuration } from '../../app/clock';
import type { PhoneCall } from './phone-store';

/**
 * How long the customer has been on hold (mm:ss, from the hold's start, gone when resumed) and,
 * once a call has been held, its total. role="timer" is not a live region: a screen reader reads
 * it when the operator goes to it, never every second. `now`: the call bar's clock.
 */
export function HoldTimer({ call, now }: { call: PhoneCall; now: number }) {
  const { t } = useTranslation();
  const current = call.heldSince === null ? 0 : Math.max(0, now - call.heldSince);
  const total = call.heldMs + current;
  return (
    <>
      {call.heldSince !== null && (
        <span className="timer hold-timer" role="timer" data-testid="hold-timer">
          <span className="sr-only">{t('calls.heldFor')} </span>
          {formatDuration(current)}
        </span>
      )}
      {total > 0 && call.heldSince === null && (
        <span className="timer hold-total" data-testid="hold-total">
          {t('calls.heldTotal', { time: formatDuration(total) })}
        </span>
      )}
    </>
  );
}
