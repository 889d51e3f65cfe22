// The console's alerts section (issue 17): the org's security alerts, newest first; new ones
// arrive live (the gateway pushes them over main's /ws link only to holders of alerts:read;
// main forwards them as `alerts:new`) and are announced politely; filter the unacknowledged;
// acknowledge. The gateway decides everything: a refusal is shown in the user's language.
import { useCallback, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AlertView } from '../../../../../shared/gateway/admin-alerts';
import { koe } from '../../../koe';
import { logFailure } from '../../../log';
import { formatDateTime } from '../../../i18n/format';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { Permission } from '../../../../../shared/gateway/permissions';

/** The console's section props (sections.ts SectionProps; not imported: sections.ts imports this file). */
interface SectionProps {
  can: (permission: Permission) => boolean;
}

export interface AlertsDeps {
  call?: AdminCall;
  /** New alerts as main forwards them; returns the unsubscribe. */
  subscribe?: (listener: (a: AlertView) => void) => () => void;
}

/** Live alerts from main; without the bridge (a test rendering the console) the list still works, without live updates. */
const liveAlerts = (listener: (a: AlertView) => void): (() => void) => {
  try {
    return koe().on('alerts:new', listener);
  } catch (err) {
    logFailure('subscribing to live alerts', err);
    return () => {};
  }
};

export function AlertsSection({ call = adminCall, subscribe = liveAlerts }: SectionProps & AlertsDeps) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [alerts, setAlerts] = useState<AlertView[] | null>(null);
  const [openOnly, setOpenOnly] = useState(false);
  const [loading, setLoading] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [announcement, setAnnouncement] = useState('');

  const load = useCallback(async () => {
    setLoading(true);
    setFailure(null);
    try {
      setAlerts((await call('listAlerts', { query: openOnly ? { unacknowledged: 'true' } : {} })).alerts);
    } catch (err) {
      setFailure(adminFailure(err, 'loading alerts'));
    } finally {
      setLoading(false);
    }
  }, [call, openOnly]);
  useEffect(() => void load(), [load]);

  const kindLabel = useCallback((a: AlertView) => t(`admin.alerts.kinds.${a.kind}`), [t]);
  const userLabel = useCallback((a: AlertView) => a.username ?? t('admin.alerts.unknownUser'), [t]);

  useEffect(
    () =>
      subscribe((a) => {
        setAlerts((list) => (list === null ? list : [a, ...list.filter((x) => x.id !== a.id)]));
        setAnnouncement(t('admin.alerts.announce', { kind: kindLabel(a), user: userLabel(a) }));
      }),
    [subscribe, t, kindLabel, userLabel],
  );

  const ack = async (a: AlertView) => {
    setBusy(a.id);
    setFailure(null);
    try {
      await call('ackAlert', { params: { id: a.id } });
      const at = new Date().toISOString();
      setAlerts((list) => list?.map((x) => (x.id === a.id ? { ...x, acknowledgedAt: at } : x)) ?? list);
    } catch (err) {
      setFailure(adminFailure(err, 'acknowledging an alert'));
    } finally {
      setBusy(null);
    }
  };

  const shown = alerts?.filter((a) => !openOnly || a.acknowledgedAt === null) ?? null;
  const details = (a: AlertView) =>
    [
      a.deviceName ? t('admin.alerts.device', { name: a.deviceName }) : null,
      a.lockedUntil ? t('admin.alerts.lockedUntil', { until: formatDateTime(a.lockedUntil, i18n.language) }) : null,
      a.via ? t('admin.alerts.via', { via: a.via }) : null,
      a.occurrences > 1 ? t('admin.alerts.occurrences', { count: a.occurrences }) : null,
    ].filter(Boolean).join(' / ');

  return (
    <section className="admin-alerts" aria-labelledby={`${id}-h`} data-testid="alerts-section">
      <h2 id={`${id}-h`}>{t('admin.alerts.heading')}</h2>
      <p className="note">{t('admin.alerts.help')}</p>
      <div aria-live="polite" role="status" className="visually-hidden" data-testid="alerts-announcement">{announcement}</div>
      <div className="admin-toolbar">
        <label>
          <input type="checkbox" checked={openOnly} onChange={(e) => setOpenOnly(e.target.checked)} data-testid="alerts-open-only" />
          {t('admin.alerts.unacknowledgedOnly')}
        </label>
        <button type="button" onClick={() => void load()} disabled={loading} data-testid="alerts-reload">
          {loading ? t('admin.common.loading') : t('admin.alerts.reload')}
        </button>
      </div>
      {failure && <p role="alert" className="error" data-testid="alerts-error">{t(`admin.errors.${failure.code}`)}</p>}
      {shown && shown.length === 0 && <p className="note" data-testid="alerts-none">{t('admin.alerts.none')}</p>}
      {shown && shown.length > 0 && (
        <table data-testid="alerts-table">
          <caption className="visually-hidden">{t('admin.alerts.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.alerts.kind')}</th>
              <th scope="col">{t('admin.alerts.user')}</th>
              <th scope="col">{t('admin.alerts.address')}</th>
              <th scope="col">{t('admin.alerts.when')}</th>
              <th scope="col">{t('admin.alerts.detail')}</th>
              <th scope="col">{t('admin.alerts.status')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => (
              <tr key={a.id} data-testid="alert-row" data-kind={a.kind} data-user={a.username ?? ''} data-acknowledged={a.acknowledgedAt ? 'true' : 'false'}>
                <th scope="row" data-testid="alert-kind">{kindLabel(a)}</th>
                <td data-testid="alert-user">{userLabel(a)}</td>
                <td>{a.sourceIp ?? (a.kind === 'ip_refused' ? t('admin.alerts.manyAddresses') : t('admin.alerts.unknownAddress'))}</td>
                <td>{formatDateTime(a.createdAt, i18n.language)}</td>
                <td>{details(a)}</td>
                <td>
                  {a.acknowledgedAt ? (
                    t('admin.alerts.acknowledged')
                  ) : (
                    <button
                      type="button"
                      onClick={() => void ack(a)}
                      disabled={busy === a.id}
                      aria-label={`${t('admin.alerts.ack')}: ${kindLabel(a)} ${userLabel(a)}`}
                      data-testid="alert-ack"
                    >
                      {busy === a.id ? t('admin.alerts.acking') : t('admin.alerts.ack')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
