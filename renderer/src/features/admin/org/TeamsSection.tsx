// Teams (issue 17): list, create, rename, leads and operators (picked by searching users),
// delete with what happens to history stated. users:read opens it; changes need teams:manage,
// and the gateway decides every one (server/admin/roles-teams.ts, server/admin/org.ts).
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { TeamCreateRequest, TeamMembersRequest } from '../../../../../shared/gateway/api';
import { TeamRenameRequest } from '../../../../../shared/gateway/admin-org';
import type { RouteResponse } from '../../../../../shared/gateway/api';
import { adminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { adminCall, checkBody, ConfirmDialog, FailureMessage, UserPicker, useUserNames, type AdminCall, type AdminFailure, type UserName, type UserNames } from './shared';

type Team = RouteResponse<'listTeams'>['teams'][number];

export function TeamsSection({ can, call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t } = useTranslation();
  const id = useId();
  const manage = can('teams:manage');
  const [teams, setTeams] = useState<Team[] | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [createFailure, setCreateFailure] = useState<AdminFailure | null>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const memberIds = (teams ?? []).flatMap((x) => [...x.leadIds, ...x.operatorIds]);
  const [names, addNames] = useUserNames(call, open ? memberIds : []);

  const load = useCallback(async () => {
    try {
      setTeams((await call('listTeams')).teams);
      setFailure(null);
    } catch (err) {
      setFailure(adminFailure(err, 'loading teams'));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setDone('');
    const body = checkBody(TeamCreateRequest, { name });
    if (!body.ok) return setCreateFailure(body.failure);
    setBusy(true);
    try {
      const team = await call('createTeam', { body: body.value });
      setTeams((l) => [...(l ?? []), team].sort((a, b) => a.name.localeCompare(b.name)));
      setCreateFailure(null);
      setDone(t('admin.teams.create.done', { name: team.name }));
      setName('');
    } catch (err) {
      setCreateFailure(adminFailure(err, 'creating a team'));
    } finally {
      setBusy(false);
    }
  };

  const replace = (team: Team | null, was: string) => {
    setTeams((l) => (l ?? []).flatMap((x) => (x.id !== was ? [x] : team ? [team] : [])));
    if (!team) setOpen(null);
  };
  const current = teams?.find((x) => x.id === open) ?? null;

  return (
    <section aria-labelledby={`${id}-h`} className="account" data-testid="teams-section">
      <h2 id={`${id}-h`}>{t('admin.teams.heading')}</h2>
      {!manage && <p className="note">{t('admin.teams.readOnly')}</p>}
      <FailureMessage failure={failure} testid="teams-error" />
      {teams === null && !failure && <p className="note">{t('admin.common.loading')}</p>}
      {teams && teams.length === 0 && <p className="note">{t('admin.teams.none')}</p>}
      {teams && teams.length > 0 && (
        <table data-testid="teams-list">
          <caption className="visually-hidden">{t('admin.teams.list')}</caption>
          <thead>
            <tr><th scope="col">{t('admin.teams.name')}</th><th scope="col">{t('admin.teams.operators')}</th><th scope="col"><span className="visually-hidden">{t('admin.teams.edit', { name: '' })}</span></th></tr>
          </thead>
          <tbody>
            {teams.map((x) => (
              <tr key={x.id} data-testid={`team-row-${x.name}`}>
                <th scope="row">{x.name}</th>
                <td>{t('admin.teams.counts', { leads: x.leadIds.length, operators: x.operatorIds.length })}</td>
                <td><button type="button" data-testid={`team-open-${x.name}`} aria-expanded={open === x.id} onClick={() => setOpen(open === x.id ? null : x.id)}>{t('admin.teams.edit', { name: x.name })}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && <TeamEditor key={current.id} team={current} call={call} manage={manage} names={names} addNames={addNames} onChanged={replace} onClose={() => setOpen(null)} />}
      {manage && (
        <form className="account-section" onSubmit={create} aria-labelledby={`${id}-c`} noValidate>
          <h3 id={`${id}-c`}>{t('admin.teams.create.heading')}</h3>
          <label htmlFor={`${id}-name`}>{t('admin.teams.name')}</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} data-testid="team-create-name" maxLength={100}
            aria-invalid={createFailure?.code === 'validation_failed' ? true : undefined} />
          <div className="actions"><button type="submit" disabled={busy} data-testid="team-create-submit">{t('admin.teams.create.submit')}</button></div>
          <FailureMessage failure={createFailure} testid="team-create-error" />
          {done && <p role="status" data-testid="team-create-done">{done}</p>}
        </form>
      )}
    </section>
  );
}

function TeamEditor({ team, call, manage, names, addNames, onChanged, onClose }: {
  team: Team; call: AdminCall; manage: boolean; names: UserNames; addNames: (u: UserName[]) => void; onChanged: (team: Team | null, was: string) => void; onClose: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [name, setName] = useState(team.name);
  const [leadIds, setLeadIds] = useState<string[]>(team.leadIds);
  const [operatorIds, setOperatorIds] = useState<string[]>(team.operatorIds);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [status, setStatus] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(true);
    setStatus('');
    try {
      await f();
      setFailure(null);
    } catch (err) {
      setFailure(adminFailure(err, what));
    } finally {
      setBusy(false);
    }
  };
  const rename = (e: FormEvent) => {
    e.preventDefault();
    const body = checkBody(TeamRenameRequest, { name });
    if (!body.ok) return setFailure(body.failure);
    void run('renaming a team', async () => {
      const next = await call('renameTeam', { params: { id: team.id }, body: body.value });
      onChanged(next, team.id);
      setStatus(t('admin.teams.editor.renamed'));
    });
  };
  const saveMembers = () => {
    const body = checkBody(TeamMembersRequest, { leadIds, operatorIds });
    if (!body.ok) return setFailure(body.failure);
    void run('saving team members', async () => {
      const next = await call('setTeamMembers', { params: { id: team.id }, body: body.value });
      onChanged(next, team.id);
      setStatus(t('admin.teams.editor.membersSaved'));
    });
  };
  const remove = () =>
    void run('deleting a team', async () => {
      try {
        await call('deleteTeam', { params: { id: team.id } });
      } finally {
        setConfirming(false);
      }
      onChanged(null, team.id);
    });

  return (
    <section className="account-section" aria-labelledby={`${id}-h`} data-testid="team-editor">
      <h3 id={`${id}-h`} tabIndex={-1}>{t('admin.teams.editor.heading', { name: team.name })}</h3>
      {manage && (
        <form className="row" onSubmit={rename} noValidate>
          <label htmlFor={`${id}-name`}>{t('admin.teams.name')}</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} data-testid="team-rename-name" maxLength={100} />
          <button type="submit" disabled={busy} data-testid="team-rename-submit">{t('admin.teams.editor.rename')}</button>
        </form>
      )}
      <UserPicker call={call} what={t('admin.teams.leads')} selected={leadIds} onChange={setLeadIds} names={names} onNames={addNames} testid="team-leads" readOnly={!manage} />
      <UserPicker call={call} what={t('admin.teams.operators')} selected={operatorIds} onChange={setOperatorIds} names={names} onNames={addNames} testid="team-operators" readOnly={!manage} />
      <FailureMessage failure={failure} testid="team-editor-error" />
      {status && <p role="status" data-testid="team-editor-status">{status}</p>}
      <div className="actions">
        {manage && <button type="button" disabled={busy} onClick={saveMembers} data-testid="team-members-save">{t('admin.teams.editor.saveMembers')}</button>}
        {manage && <button type="button" disabled={busy} onClick={() => setConfirming(true)} data-testid="team-delete">{t('admin.teams.delete.button')}</button>}
        <button type="button" onClick={onClose} data-testid="team-close">{t('admin.teams.editor.close')}</button>
      </div>
      <ConfirmDialog open={confirming} title={t('admin.teams.delete.title', { name: team.name })} body={t('admin.teams.delete.body')}
        onConfirm={remove} onCancel={() => setConfirming(false)} busy={busy} testid="team-delete-confirm" />
    </section>
  );
}
