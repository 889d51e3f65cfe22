import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { DeviceRenameRequest } from '../../../../../shared/gateway/api';
import type { Response } from '../../../../../shared/gateway-client';
import { formatDateTime } from '../../../i18n/format';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { usePages } from './pages';
import { PagerButtons } from './PagerButtons';
import { AdminErrorBox, ConfirmRequestDialog, Done, type ConfirmRequest } from './ui';

type Device = Response<'listDevices'>['devices'][number];
type Status = 'active' | 'revoked' | 'reset';
const PAGE = 50;

/**
 * Every enrolled PC of the org (newest enrolment first, paged), each with its user, first and
 * last seen time and address: rename, revoke, reset the user's binding.
 */
export function DevicesSection({ call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [status, setStatus] = useState<Status | ''>('');
  const fetchPage = useCallback(
    async (which: Status | '', cursor: string | undefined) => {
      const res = await call('listDevices', { query: { limit: PAGE, ...(which ? { status: which } : {}), ...(cursor ? { cursor } : {}) } });
      return { items: res.devices, nextCursor: res.nextCursor };
    },
    [call],
  );
  const { items: devices, next, loading, failure, setFailure, page, first, forward, back, reload } = usePages<Device, Status | ''>(fetchPage, 'listing devices', '');
  const [done, setDone] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  useEffect(() => void first(''), [first]);

  const when = (at: string | null) => (at ? formatDateTime(at, i18n.language) : t('admin.devices.never'));
  const where = (ip: string | null) => ip ?? t('admin.devices.unknown');
  const action = async (what: string, run: () => Promise<string>) => {
    setDone(null);
    setFailure(null);
    try {
      setDone(await run());
      await reload();
    } catch (err) {
      setFailure(adminFailure(err, what));
    }
  };
  const askRevoke = (d: Device) => setConfirm({
    title: t('admin.devices.revoke'),
    lines: [t('admin.devices.confirmRevoke', { name: d.name, user: d.username })],
    action: t('admin.devices.revoke'),
    run: () => action('revoking a device', async () => {
      await call('revokeDevice', { params: { id: d.id } });
      return t('admin.devices.revoked');
    }),
  });
  const askReset = (d: Device) => setConfirm({
    title: t('admin.devices.resetUser'),
    lines: [t('admin.devices.confirmReset', { user: d.username })],
    action: t('admin.devices.resetUser'),
    run: () => action('resetting device binding', async () => {
      const r = await call('resetDevices', { params: { id: d.userId } });
      return t('admin.devices.reset', { count: r.revoked });
    }),
  });

  return (
    <section aria-labelledby={`${id}-h`} data-testid="admin-devices">
      <h2 id={`${id}-h`}>{t('admin.devices.heading')}</h2>
      <div className="row">
        <label htmlFor={`${id}-st`}>{t('admin.devices.filterStatus')}</label>
        <select
          id={`${id}-st`}
          value={status}
          data-testid="devices-status"
          onChange={(e) => {
            const which = e.target.value as Status | '';
            setStatus(which);
            void first(which);
          }}
        >
          <option value="">{t('admin.devices.filterAll')}</option>
          {(['active', 'revoked', 'reset'] as const).map((s) => <option key={s} value={s}>{t(`admin.devices.state.${s}`)}</option>)}
        </select>
        <button type="button" onClick={() => void reload()} disabled={loading} data-testid="devices-reload">{t('admin.devices.reload')}</button>
      </div>
      <AdminErrorBox failure={failure} testId="devices-error" />
      <Done text={done} testId="devices-done" />
      {devices && devices.length === 0 && <p className="note">{t('admin.common.none')}</p>}
      {devices && devices.length > 0 && (
        <table data-testid="devices-table">
          <caption className="visually-hidden">{t('admin.devices.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.devices.user')}</th>
              <th scope="col">{t('admin.devices.name')}</th>
              <th scope="col">{t('admin.devices.status')}</th>
              <th scope="col">{t('admin.devices.firstSeen')}</th>
              <th scope="col">{t('admin.devices.lastSeen')}</th>
              <th scope="col">{t('admin.devices.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.id} data-testid="devices-row" data-device-id={d.id} data-username={d.username}>
                <td>{d.username}</td>
                <th scope="row">
                  {renaming === d.id ? (
                    <RenameForm device={d} call={call} onDone={(text) => {
                      setRenaming(null);
                      setDone(text);
                      void reload();
                    }} onCancel={() => setRenaming(null)} />
                  ) : d.name}
                </th>
                <td>{t(`admin.devices.state.${d.status}`)}</td>
                <td>{when(d.createdAt)}<br /><span className="note">{t('admin.devices.address')}: {where(d.firstSeenIp)}</span></td>
                <td>{when(d.lastSeenAt)}<br /><span className="note">{t('admin.devices.address')}: {where(d.lastSeenIp)}</span></td>
                <td className="actions">
                  {renaming !== d.id && (
                    <button type="button" onClick={() => setRenaming(d.id)} data-testid={`device-rename-${d.id}`}>{t('admin.devices.rename')}</button>
                  )}
                  {d.status === 'active' && (
                    <button type="button" onClick={() => askRevoke(d)} aria-label={t('admin.devices.revokeLabel', { name: d.name })} data-testid={`device-revoke-${d.id}`}>{t('admin.devices.revoke')}</button>
                  )}
                  {d.status === 'active' && (
                    <button type="button" onClick={() => askReset(d)} aria-label={t('admin.devices.resetUserLabel', { user: d.username })} data-testid={`device-reset-user-${d.id}`}>{t('admin.devices.resetUser')}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PagerButtons pages={{ page, next, loading, back, forward }} testid="devices" />
      <ConfirmRequestDialog request={confirm} onClose={() => setConfirm(null)} />
    </section>
  );
}

/** Renaming one PC in place: validated with the gateway's schema; a refusal keeps the name typed. */
function RenameForm({ device, call, onDone, onCancel }: { device: Device; call: AdminCall; onDone: (text: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const id = useId();
  const [name, setName] = useState(device.name);
  const [invalid, setInvalid] = useState(false);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [saving, setSaving] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const parsed = DeviceRenameRequest.safeParse({ name });
    setInvalid(!parsed.success);
    if (!parsed.success) return;
    setSaving(true);
    try {
      await call('renameDevice', { params: { id: device.id }, body: parsed.data });
      onDone(t('admin.devices.renamed'));
    } catch (err) {
      setFailure(adminFailure(err, 'renaming a device'));
    } finally {
      setSaving(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate data-testid="device-rename-form">
      <label htmlFor={`${id}-n`}>{t('admin.devices.renameLabel', { name: device.name })}</label>
      <input id={`${id}-n`} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={invalid} aria-describedby={invalid ? `${id}-p` : undefined} autoFocus data-testid="device-rename-input" />
      {invalid && <span id={`${id}-p`} className="error" role="alert">{t('admin.devices.invalidName')}</span>}
      <button type="submit" disabled={saving} data-testid="device-rename-save">{t('admin.devices.renameSave')}</button>
      <button type="button" onClick={onCancel} data-testid="device-rename-cancel">{t('admin.common.cancel')}</button>
      <AdminErrorBox failure={failure} testId="device-rename-error" />
    </form>
  );
}
