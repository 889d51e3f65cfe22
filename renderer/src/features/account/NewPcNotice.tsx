import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSessionStore } from '../../app/session-store';
import { formatDateTime } from '../../i18n/format';

/** One empty list: a selector answering a new [] each time would re-render forever. */
const NONE: ReadonlyArray<never> = [];

/**
 * "New PC enrolled on <date> from <address>": the PCs the gateway said, at this sign-in, were
 * enrolled for this user since they were last told (it decides and marks them told). Shown
 * until the user acknowledges it.
 */
export function NewPcNotice() {
  const { t, i18n } = useTranslation();
  const devices = useSessionStore((s) => (s.session.status === 'signed-in' ? s.session.newDevices ?? NONE : NONE));
  const [dismissed, setDismissed] = useState(false);
  if (dismissed || devices.length === 0) return null;
  return (
    <section className="card new-device" role="alert" aria-labelledby="new-device-h" data-testid="new-device-notice">
      <h2 id="new-device-h">{t('account.newDevice.heading')}</h2>
      <ul>
        {devices.map((d) => (
          <li key={d.id} data-testid="new-device">
            {t('account.newDevice.item', { date: formatDateTime(d.enrolledAt, i18n.language), address: d.sourceIp ?? t('account.newDevice.unknownAddress'), name: d.name })}
          </li>
        ))}
      </ul>
      <p className="note">{t('account.newDevice.help')}</p>
      <button type="button" onClick={() => setDismissed(true)} data-testid="new-device-dismiss">{t('account.newDevice.dismiss')}</button>
    </section>
  );
}
