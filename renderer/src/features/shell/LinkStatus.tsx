import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { LinkStatus } from '../../../../shared/ipc/contract';
import { koe } from '../../koe';
import { logFailure } from '../../log';

const TONES = { connecting: 'warn', connected: 'ok', reconnecting: 'bad', back: 'ok' } as const;

/**
 * The status bar's gateway link indicator (main's GatewayLink, `link:status`): what is
 * happening while the gateway restarts or the network drops ("reconnecting…", attempt n)
 * and when it is back. Hidden while signed out (no link).
 */
export function LinkStatusIndicator() {
  const { t } = useTranslation();
  const [status, setStatus] = useState<LinkStatus | null>(null);
  useEffect(() => {
    let live = true;
    let heard = false;
    let off = () => undefined as unknown;
    try {
      off = koe().on('link:status', (s) => {
        heard = true;
        if (live) setStatus(s);
      });
      void koe()
        .gateway.link({})
        .then(
          (r) => {
            if (!r.ok) logFailure('reading the gateway link status', new Error(r.error.code));
            // an event already heard is newer than this answer
            else if (live && !heard) setStatus(r.value);
          },
          (err: unknown) => logFailure('reading the gateway link status', err),
        );
    } catch (err) {
      logFailure('following the gateway link status', err);
    }
    return () => {
      live = false;
      off();
    };
  }, []);
  if (!status || status.phase === 'offline') return null;
  const tone = TONES[status.phase];
  return (
    <div className="status-item" data-testid="status-link" data-tone={tone} data-phase={status.phase}>
      <span className={`dot dot-${tone}`} aria-hidden="true" />
      <span className="status-label">{t('status.link')}</span>
      <span className="status-value">{t(`status.linkState.${status.phase}`, { attempt: status.attempt })}</span>
    </div>
  );
}
