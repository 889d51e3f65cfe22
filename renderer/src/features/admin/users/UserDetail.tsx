import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { PasswordResetRequest, UserPatchRequest, type UserView } from '../../../../../shared/gateway/api';
import { adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { AdminErrorBox, ConfirmRequestDialog, Done, Field, type ConfirmRequest } from './ui';
import { roleLabel } from '../role-label';

type Membership = 'none' | 'lead' | 'operator';
type Team = { id: string; name: string; leadIds: string[]; operatorIds: string[] };

/**
 * One user: details (display name, role), teams, and the account actions. Each action asks the
 * gateway (which refuses what the actor may not do: the last admin, themselves, someone above
 * them) and shows its refusal; what was typed stays when a save fails.
 */
export function UserDetail({ user, roles, can, call, onChanged, onClose }: {
  user: UserView;
  roles: { key: string; name: string }[];
  can: SectionProps['can'];
  call: AdminCall;
  onChanged: (u: UserView | null, removed?: { id: string; notice: string }) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [displayName, setDisplayName] = useState(user.displayName);
  const [role, setRole] = useState(user.role);
  const [editProblem, setEditProblem] = useState(false);
  const [editFailure, setEditFailure] = useState<AdminFailure | null>(null);
  const [editDone, setEditDone] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [password, setPassword] = useState('');
  const [actionFailure, setActionFailure] = useState<AdminFailure | null>(null);
  const [actionDone, setActionDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [teams, setTeams] = useState<Team[] | null>(null);
  const [membership, setMembership] = useState<Record<string, Membership>>({});
  const [teamsFailure, setTeamsFailure] = useState<AdminFailure | null>(null);
  const [teamsDone, setTeamsDone] = useState<string | null>(null);
  const manage = can('users:manage');
  const name = user.displayName ? `${user.displayName} (${user.username})` : user.username;

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    if (!can('teams:manage')) return;
    call('listTeams').then(
      (r) => {
        setTeams(r.teams);
        setMembership(Object.fromEntries(r.teams.map((x) => [x.id, x.leadIds.includes(user.id) ? 'lead' : x.operatorIds.includes(user.id) ? 'operator' : 'none'])));
      },
      (err) => setTeamsFailure(adminFailure(err, 'listing teams')),
    );
  }, [call, can, user.id]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setEditDone(null);
    setEditFailure(null);
    const body: Record<string, unknown> = {};
    if (displayName !== user.displayName) body.displayName = displayName;
    if (role !== user.role) body.role = role;
    const parsed = UserPatchRequest.safeParse(body);
    setEditProblem(!parsed.success);
    if (!parsed.success || Object.keys(body).length === 0) return;
    setSaving(true);
    try {
      const next = await call('patchUser', { params: { id: user.id }, body: parsed.data });
      setEditDone(t('admin.common.saved'));
      onChanged(next);
    } catch (err) {
      setEditFailure(adminFailure(err, 'changing a user'));
    } finally {
      setSaving(false);
    }
  };

  /** One account action; `after` turns its answer into the line shown (and may reload the user). */
  const act = async (what: string, run: () => Promise<string | null>) => {
    setBusy(true);
    setActionDone(null);
    setActionFailure(null);
    try {
      setActionDone(await run());
    } catch (err) {
      setActionFailure(adminFailure(err, what));
    } finally {
      setBusy(false);
    }
  };
  const patch = (body: { disabled: boolean }) => act('disabling or enabling a user', async () => {
    onChanged(await call('patchUser', { params: { id: user.id }, body }));
    return t('admin.users.detail.done');
  });
  const ask = (title: string, lines: string[], action: string, run: () => Promise<void>) => setConfirm({ title, lines, action, run });

  const resetPassword = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = PasswordResetRequest.safeParse({ password });
    if (!parsed.success) {
      setActionFailure({ code: 'validation_failed', violations: [] });
      return;
    }
    await act('resetting a password', async () => {
      await call('resetPassword', { params: { id: user.id }, body: parsed.data });
      setPassword('');
      onChanged({ ...user, mustChangePassword: true });
      return t('admin.users.detail.done');
    });
  };

  const saveTeams = async (e: FormEvent) => {
    e.preventDefault();
    setTeamsDone(null);
    setTeamsFailure(null);
    const body = { teams: Object.entries(membership).filter(([, m]) => m !== 'none').map(([teamId, m]) => ({ teamId, as: m as 'lead' | 'operator' })) };
    try {
      const res = await call('setUserTeams', { params: { id: user.id }, body });
      setTeamsDone(t('admin.common.saved'));
      onChanged({ ...user, teamIds: res.teams.map((x) => x.teamId).sort() });
    } catch (err) {
      setTeamsFailure(adminFailure(err, 'changing a user\'s teams'));
    }
  };

  return (
    <section aria-labelledby={`${id}-h`} className="account-section" data-testid="user-detail" data-user-id={user.id}>
      <h3 id={`${id}-h`} tabIndex={-1} ref={heading}>{t('admin.users.detail.heading', { name })}</h3>
      <button type="button" onClick={onClose} data-testid="user-detail-close">{t('admin.users.detail.close')}</button>

      <form onSubmit={(e) => void save(e)} aria-labelledby={`${id}-eh`} noValidate>
        <h4 id={`${id}-eh`}>{t('admin.users.detail.edit')}</h4>
        <Field id={`${id}-dn`} label={t('admin.users.displayName')} problem={editProblem ? t('admin.users.field.displayName') : null}>
          {(d) => <input id={`${id}-dn`} value={displayName} onChange={(e) => setDisplayName(e.target.value)} disabled={!manage} aria-describedby={d} data-testid="user-edit-display-name" />}
        </Field>
        <Field id={`${id}-ro`} label={t('admin.users.role')}>
          {(d) => (
            <select id={`${id}-ro`} value={role} onChange={(e) => setRole(e.target.value)} disabled={!manage} aria-describedby={d} data-testid="user-edit-role">
              {(roles.some((r) => r.key === role) ? roles : [{ key: role, name: role }, ...roles]).map((r) => <option key={r.key} value={r.key}>{roleLabel(t, r)}</option>)}
            </select>
          )}
        </Field>
        {manage && <button type="submit" disabled={saving} data-testid="user-edit-save">{saving ? t('admin.common.saving') : t('admin.common.save')}</button>}
        <AdminErrorBox failure={editFailure} testId="user-edit-error" />
        <Done text={editDone} testId="user-edit-done" />
      </form>

      {can('teams:manage') && (
        <form onSubmit={(e) => void saveTeams(e)} aria-labelledby={`${id}-th`}>
          <h4 id={`${id}-th`}>{t('admin.users.detail.teams')}</h4>
          {teams && teams.length === 0 && <p className="note">{t('admin.users.detail.noTeams')}</p>}
          {teams?.map((team) => (
            <Field key={team.id} id={`${id}-team-${team.id}`} label={team.name}>
              {() => (
                <select
                  id={`${id}-team-${team.id}`}
                  value={membership[team.id] ?? 'none'}
                  onChange={(e) => setMembership((m) => ({ ...m, [team.id]: e.target.value as Membership }))}
                  data-testid={`user-team-${team.id}`}
                >
                  <option value="none">{t('admin.users.detail.teamNone')}</option>
                  <option value="operator">{t('admin.users.detail.teamOperator')}</option>
                  <option value="lead">{t('admin.users.detail.teamLead')}</option>
                </select>
              )}
            </Field>
          ))}
          {teams && teams.length > 0 && <button type="submit" data-testid="user-teams-save">{t('admin.users.detail.saveTeams')}</button>}
          <AdminErrorBox failure={teamsFailure} testId="user-teams-error" />
          <Done text={teamsDone} testId="user-teams-done" />
        </form>
      )}

      <div role="group" aria-labelledby={`${id}-sh`}>
        <h4 id={`${id}-sh`}>{t('admin.users.detail.security')}</h4>
        <div className="actions">
          {manage && !user.disabled && (
            <button type="button" disabled={busy} data-testid="user-disable"
              onClick={() => ask(t('admin.users.detail.disable'), [t('admin.users.confirm.disable', { name })], t('admin.users.detail.disable'), () => patch({ disabled: true }))}>
              {t('admin.users.detail.disable')}
            </button>
          )}
          {manage && user.disabled && (
            <button type="button" disabled={busy} onClick={() => void patch({ disabled: false })} data-testid="user-enable">{t('admin.users.detail.enable')}</button>
          )}
          {manage && (
            <button type="button" disabled={busy} data-testid="user-unlock"
              onClick={() => void act('unlocking a user', async () => {
                await call('unlockUser', { params: { id: user.id } });
                onChanged({ ...user, locked: false });
                return t('admin.users.detail.done');
              })}>
              {t('admin.users.detail.unlock')}
            </button>
          )}
          {manage && (
            <button type="button" disabled={busy} data-testid="user-reset-totp"
              onClick={() => ask(t('admin.users.detail.resetTotp'), [t('admin.users.confirm.resetTotp', { name })], t('admin.users.detail.resetTotp'), () => act('resetting TOTP', async () => {
                await call('resetTotp', { params: { id: user.id } });
                onChanged({ ...user, totpEnabled: false });
                return t('admin.users.detail.done');
              }))}>
              {t('admin.users.detail.resetTotp')}
            </button>
          )}
          {can('devices:manage') && (
            <button type="button" disabled={busy} data-testid="user-reset-devices"
              onClick={() => ask(t('admin.users.detail.resetDevices'), [t('admin.users.confirm.resetDevices', { name })], t('admin.users.detail.resetDevices'), () => act('resetting device binding', async () => {
                const r = await call('resetDevices', { params: { id: user.id } });
                return t('admin.users.detail.devicesReset', { count: r.revoked });
              }))}>
              {t('admin.users.detail.resetDevices')}
            </button>
          )}
          {can('sessions:manage') && (
            <button type="button" disabled={busy} data-testid="user-revoke-sessions"
              onClick={() => ask(t('admin.users.detail.revokeSessions'), [t('admin.users.confirm.revokeSessions', { name })], t('admin.users.detail.revokeSessions'), () => act('revoking sessions', async () => {
                const r = await call('revokeSessions', { params: { id: user.id } });
                return t('admin.users.detail.revoked', { count: r.revoked });
              }))}>
              {t('admin.users.detail.revokeSessions')}
            </button>
          )}
        </div>
        {manage && (
          <form onSubmit={(e) => void resetPassword(e)} aria-labelledby={`${id}-ph`} noValidate>
            <h5 id={`${id}-ph`}>{t('admin.users.detail.resetPassword')}</h5>
            <Field id={`${id}-pw`} label={t('admin.users.detail.resetPasswordLabel')} hint={t('admin.users.detail.resetPasswordHint')}>
              {(d) => <input id={`${id}-pw`} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby={d} data-testid="user-reset-password" />}
            </Field>
            <button type="submit" disabled={busy} data-testid="user-reset-password-submit">{t('admin.users.detail.resetPassword')}</button>
          </form>
        )}
        {manage && (
          <button type="button" disabled={busy} className="danger" data-testid="user-delete"
            onClick={() => ask(
              t('admin.users.confirm.deleteTitle', { name }),
              [t('admin.users.confirm.deleteIrreversible'), t('admin.users.confirm.deleteCredentials'), t('admin.users.confirm.deleteHistory'), t('admin.users.confirm.deleteLinks')],
              t('admin.users.detail.delete'),
              () => act('deleting a user', async () => {
                const r = await call('deleteUser', { params: { id: user.id } });
                onChanged(null, { id: user.id, notice: t('admin.users.confirm.deleted', { sessions: r.sessionsRevoked, devices: r.devicesReset, teams: r.teamsLeft, assignments: r.assignmentsRemoved }) });
                return null;
              }),
            )}>
            {t('admin.users.detail.delete')}
          </button>
        )}
        <AdminErrorBox failure={actionFailure} testId="user-action-error" />
        <Done text={actionDone} testId="user-action-done" />
      </div>
      <ConfirmRequestDialog request={confirm} onClose={() => setConfirm(null)} />
    </section>
  );
}
