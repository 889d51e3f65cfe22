import { useCallback, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Response } from '../../../../../shared/gateway-client';
import { formatDateTime } from '../../../i18n/format';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { usePages } from './pages';
import { PagerButtons } from './PagerButtons';
import { AdminErrorBox, ConfirmRequestDialog, Done, type ConfirmRequest } from './ui';

type Session = Response<'listSessions'>['sessions'][number];
const PAGE = 50;

/**
 * Who is signed in where (GET /admin/sessions: live sessions of the org, newest first, paged):
 * revoke one session or all of a user's. The gateway closes the revoked sessions' sockets, so
 * the operator's window signs out (server/session-events.ts).
 */
export function SessionsSection({ call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const fetchPage = useCallback(
    async (_: null, cursor: string | undefined) => {
      const res = await call('listSessions', { query: { limit: PAGE, ...(cursor ? { cursor } : {}) } });
      return { items: res.sessions, nextCursor: res.nextCursor };
    },
    [call],
  );
  const { items: sessions, next, loading, failure, setFailure, page, first, forward, back, reload } = usePages<Session, null>(fetchPage, 'listing sessions', null);
  const [done, setDone] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  useEffect(() => void first(null), [first]);

  const who = (s: Session) => (s.displayName ? `${s.displayName} (${s.username})` : s.username);
  const device = (s: Session) => s.deviceName ?? t('admin.sessions.noDevice');
  const revoke = async (what: string, run: () => Promise<{ revoked: number }>) => {
    setDone(null);
    setFailure(null);
    try {
      const r = await run();
      setDone(t('admin.sessions.revoked', { count: r.revoked }));
      await reload();
    } catch (err) {
      setFailure(adminFailure(err, what));
    }
  };
  const askOne = (s: Session) => setConfirm({
    title: t('admin.sessions.revoke'),
    lines: [
      t('admin.sessions.confirmOne', { name: who(s), device: device(s), address: s.sourceIp ?? t('admin.sessions.unknown') }),
      ...(s.current ? [t('admin.sessions.confirmOwn')] : []),
    ],
    action: t('admin.sessions.revoke'),
    run: () => revoke('revoking a session', () => call('revokeSession', { params: { id: s.id } })),
  });
  const askUser = (s: Session) => setConfirm({
    title: t('admin.sessions.revokeUser'),
    lines: [t('admin.sessions.confirmUser', { name: who(s) })],
    action: t('admin.sessions.revokeUser'),
    run: () => revoke('revoking a user\'s sessions', () => call('revokeSessions', { params: { id: s.userId } })),
  });

  return (
    <section aria-labelledby={`${id}-h`} data-testid="admin-sessions">
      <h2 id={`${id}-h`}>{t('admin.sessions.heading')}</h2>
      <button type="button" onClick={() => void reload()} disabled={loading} data-testid="sessions-reload">{t('admin.sessions.reload')}</button>
      <AdminErrorBox failure={failure} testId="sessions-error" />
      <Done text={done} testId="sessions-done" />
      {sessions && sessions.length === 0 && <p className="note">{t('admin.common.none')}</p>}
      {sessions && sessions.length > 0 && (
        <table data-testid="sessions-table">
          <caption>{t('admin.sessions.heading')} · {t('admin.sessions.count', { count: sessions.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.sessions.user')}</th>
              <th scope="col">{t('admin.sessions.device')}</th>
              <th scope="col">{t('admin.sessions.address')}</th>
              <th scope="col">{t('admin.sessions.created')}</th>
              <th scope="col">{t('admin.sessions.lastSeen')}</th>
              <th scope="col">{t('admin.sessions.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} data-testid="sessions-row" data-session-id={s.id} data-username={s.username}>
                <th scope="row">
                  {who(s)}
                  {s.current && <span className="badge">{t('admin.sessions.thisSession')}</span>}
                </th>
                <td>{device(s)}</td>
                <td>{s.sourceIp ?? t('admin.sessions.unknown')}</td>
                <td>{formatDateTime(s.createdAt, i18n.language)}</td>
                <td>{formatDateTime(s.lastSeenAt, i18n.language)}</td>
                <td className="actions">
                  <button type="button" onClick={() => askOne(s)} aria-label={t('admin.sessions.revokeLabel', { name: who(s), device: device(s) })} data-testid={`session-revoke-${s.id}`}>
                    {t('admin.sessions.revoke')}
                  </button>
                  <button type="button" onClick={() => askUser(s)} aria-label={t('admin.sessions.revokeUserLabel', { name: who(s) })} data-testid="session-revoke-user">
                    {t('admin.sessions.revokeUser')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PagerButtons pages={{ page, next, loading, back, forward }} testid="sessions" />
      <ConfirmRequestDialog request={confirm} onClose={() => setConfirm(null)} />
    </section>
  );
}
