import { useCallback, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { RouteResponse } from '../../../../shared/gateway/api';
import { accountApi, failureOf, type AccountApi, type AccountFailure } from './account-api';
import { formatDateTime } from '../../i18n/format';
import { AccountError } from './AccountError';

type Device = RouteResponse<'myDevices'>['devices'][number];

/** The caller's own PCs (GET /me/devices, scoped to the caller by the gateway): enrolled and last used, when and from where. */
export function MyDevices({ api = accountApi }: { api?: Pick<AccountApi, 'myDevices'> }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [failure, setFailure] = useState<AccountFailure | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    setFailure(null);
    try {
      setDevices((await api.myDevices()).devices);
    } catch (err) {
      setFailure(failureOf(err, 'loading my devices'));
    } finally {
      setLoading(false);
    }
  }, [api]);
  useEffect(() => void load(), [load]);

  const when = (at: string | null) => (at ? formatDateTime(at, i18n.language) : t('account.devices.never'));
  const where = (ip: string | null) => ip ?? t('account.devices.unknown');

  return (
    <section className="account-section" aria-labelledby={`${id}-h`} data-testid="my-devices">
      <h2 id={`${id}-h`}>{t('account.devices.heading')}</h2>
      {devices && devices.length === 0 && <p className="note">{t('account.devices.none')}</p>}
      {devices && devices.length > 0 && (
        <table>
          <caption className="visually-hidden">{t('account.devices.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('account.devices.name')}</th>
              <th scope="col">{t('account.devices.status')}</th>
              <th scope="col">{t('account.devices.firstSeen')}</th>
              <th scope="col">{t('account.devices.lastSeen')}</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.id} data-testid="my-device" data-current={d.current ? 'true' : 'false'}>
                <th scope="row">
                  {d.name}
                  {d.current && <span className="badge">{t('account.devices.thisPc')}</span>}
                </th>
                <td>{t(`account.devices.state.${d.status}`)}</td>
                <td data-testid="my-device-first">{when(d.firstSeenAt)}<br /><span className="note">{t('account.devices.address')}: {where(d.firstSeenIp)}</span></td>
                <td data-testid="my-device-last">{when(d.lastSeenAt)}<br /><span className="note">{t('account.devices.address')}: {where(d.lastSeenIp)}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={() => void load()} disabled={loading} data-testid="my-devices-reload">
        {loading ? t('account.devices.loading') : t('account.devices.reload')}
      </button>
      <AccountError failure={failure} testId="my-devices-error" />
    </section>
  );
}
