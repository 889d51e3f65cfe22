// Roles and permissions (issue 17): built-in and custom roles, create and rename a custom role,
// its permissions as a labelled checkbox list (each explained), delete an unused custom role.
// users:read opens it; changes need roles:manage. The gateway decides (server/auth/authority.ts:
// only permissions the caller holds, not the admin role, not one's own role): the console shows
// its refusal.
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { RoleCreateRequest, RolePatchRequest, type RouteResponse } from '../../../../../shared/gateway/api';
import { PERMISSIONS, type Permission } from '../../../../../shared/gateway/permissions';
import { adminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { adminCall, checkBody, ConfirmDialog, FailureMessage, type AdminCall, type AdminFailure } from './shared';
import { roleLabel } from '../role-label';

type Role = RouteResponse<'listRoles'>['roles'][number];
const FORBIDDEN = 'admin.roles.forbidden';
/** The i18n key of a permission (i18next reads ":" as a namespace separator). */
export const permKey = (p: string) => p.replace(':', '_');

function PermissionChecks({ value, onChange, readOnly, testid }: { value: readonly string[]; onChange: (v: string[]) => void; readOnly: boolean; testid: string }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <fieldset data-testid={testid}>
      <legend>{t('admin.roles.permissions')}</legend>
      {PERMISSIONS.map((p) => (
        <div className="check" key={p}>
          <input type="checkbox" id={`${id}-${p}`} checked={value.includes(p)} disabled={readOnly} aria-describedby={`${id}-${p}-help`}
            data-testid={`${testid}-${p}`} onChange={(e) => onChange(e.target.checked ? [...value, p] : value.filter((x) => x !== p))} />
          <label htmlFor={`${id}-${p}`}>{t(`admin.roles.perm.${permKey(p)}.label`)} <code className="note">{p}</code></label>
          <span id={`${id}-${p}-help`} className="note">{t(`admin.roles.perm.${permKey(p)}.help`)}</span>
        </div>
      ))}
    </fieldset>
  );
}

export function RolesSection({ can, call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t } = useTranslation();
  const id = useId();
  const manage = can('roles:manage');
  const [roles, setRoles] = useState<Role[] | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<string[]>([]);
  const [createFailure, setCreateFailure] = useState<AdminFailure | null>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setRoles((await call('listRoles')).roles);
      setFailure(null);
    } catch (err) {
      setFailure(adminFailure(err, 'loading roles'));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setDone('');
    const body = checkBody(RoleCreateRequest, { key, name, permissions: perms });
    if (!body.ok) return setCreateFailure(body.failure);
    setBusy(true);
    try {
      const role = await call('createRole', { body: body.value });
      setRoles((l) => [...(l ?? []), role].sort((a, b) => a.key.localeCompare(b.key)));
      setCreateFailure(null);
      setDone(t('admin.roles.create.done', { name: role.name }));
      setKey('');
      setName('');
      setPerms([]);
    } catch (err) {
      setCreateFailure(adminFailure(err, 'creating a role'));
    } finally {
      setBusy(false);
    }
  };
  const replace = (role: Role | null, was: string) => {
    setRoles((l) => (l ?? []).flatMap((x) => (x.id !== was ? [x] : role ? [role] : [])));
    if (!role) setOpen(null);
  };
  const current = roles?.find((r) => r.id === open) ?? null;
  const invalid = (field: string) => (createFailure?.code === 'validation_failed' && createFailure.violations.includes(field) ? true : undefined);

  return (
    <section aria-labelledby={`${id}-h`} className="account" data-testid="roles-section">
      <h2 id={`${id}-h`}>{t('admin.roles.heading')}</h2>
      {!manage && <p className="note">{t('admin.roles.readOnly')}</p>}
      <FailureMessage failure={failure} testid="roles-error" />
      {roles === null && !failure && <p className="note">{t('admin.common.loading')}</p>}
      {roles && (
        <table data-testid="roles-list">
          <caption className="visually-hidden">{t('admin.roles.list')}</caption>
          <thead>
            <tr><th scope="col">{t('admin.roles.name')}</th><th scope="col">{t('admin.roles.permissions')}</th><th scope="col"><span className="visually-hidden">{t('admin.roles.edit', { name: '' })}</span></th></tr>
          </thead>
          <tbody>
            {roles.map((r) => (
              <tr key={r.id} data-testid={`role-row-${r.key}`}>
                <th scope="row">{roleLabel(t, r)} <code className="note">{r.key}</code><span className="badge">{r.builtin ? t('admin.roles.builtin') : t('admin.roles.custom')}</span></th>
                <td>{t('admin.roles.permissionsCount', { count: r.permissions.length })}</td>
                <td><button type="button" aria-expanded={open === r.id} data-testid={`role-open-${r.key}`} onClick={() => setOpen(open === r.id ? null : r.id)}>{t('admin.roles.edit', { name: roleLabel(t, r) })}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && <RoleEditor key={current.id} role={current} call={call} manage={manage} onChanged={replace} onClose={() => setOpen(null)} />}
      {manage && (
        <form className="account-section" onSubmit={create} aria-labelledby={`${id}-c`} noValidate>
          <h3 id={`${id}-c`}>{t('admin.roles.create.heading')}</h3>
          <label htmlFor={`${id}-key`}>{t('admin.roles.key')}</label>
          <input id={`${id}-key`} value={key} onChange={(e) => setKey(e.target.value)} data-testid="role-create-key" maxLength={40} aria-invalid={invalid('key')} />
          <label htmlFor={`${id}-name`}>{t('admin.roles.name')}</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} data-testid="role-create-name" maxLength={100} aria-invalid={invalid('name')} />
          <PermissionChecks value={perms} onChange={setPerms} readOnly={false} testid="role-create-perm" />
          <div className="actions"><button type="submit" disabled={busy} data-testid="role-create-submit">{t('admin.roles.create.submit')}</button></div>
          <FailureMessage failure={createFailure} testid="role-create-error" forbiddenKey={FORBIDDEN} />
          {done && <p role="status" data-testid="role-create-done">{done}</p>}
        </form>
      )}
    </section>
  );
}

function RoleEditor({ role, call, manage, onChanged, onClose }: { role: Role; call: AdminCall; manage: boolean; onChanged: (r: Role | null, was: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const id = useId();
  const [name, setName] = useState(role.name);
  const [perms, setPerms] = useState<string[]>(role.permissions);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [status, setStatus] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const lockedPerms = !manage || (role.builtin && role.key === 'admin');

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const samePerms = [...perms].sort().join() === [...role.permissions].sort().join();
    const body = checkBody(RolePatchRequest, { ...(name !== role.name ? { name } : {}), ...(samePerms ? {} : { permissions: perms as Permission[] }) });
    if (!body.ok) return setFailure(body.failure);
    setBusy(true);
    try {
      onChanged(await call('patchRole', { params: { id: role.id }, body: body.value }), role.id);
      setFailure(null);
      setStatus(t('admin.roles.editor.saved'));
    } catch (err) {
      setFailure(adminFailure(err, 'changing a role'));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    try {
      await call('deleteRole', { params: { id: role.id } });
      setConfirming(false);
      onChanged(null, role.id);
    } catch (err) {
      setConfirming(false);
      setFailure(adminFailure(err, 'deleting a role'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="account-section" onSubmit={save} aria-labelledby={`${id}-h`} data-testid="role-editor" noValidate>
      <h3 id={`${id}-h`}>{t('admin.roles.editor.heading', { name: roleLabel(t, role) })}</h3>
      {role.builtin && <p className="note">{t('admin.roles.editor.builtinNote')}</p>}
      <label htmlFor={`${id}-name`}>{t('admin.roles.name')}</label>
      <input id={`${id}-name`} value={name} readOnly={!manage} onChange={(e) => setName(e.target.value)} data-testid="role-edit-name" maxLength={100} />
      <PermissionChecks value={perms} onChange={setPerms} readOnly={lockedPerms} testid="role-edit-perm" />
      <FailureMessage failure={failure} testid="role-editor-error" forbiddenKey={FORBIDDEN} />
      {status && <p role="status" data-testid="role-editor-status">{status}</p>}
      <div className="actions">
        {manage && <button type="submit" disabled={busy} data-testid="role-save">{t('admin.roles.editor.save')}</button>}
        {manage && !role.builtin && <button type="button" disabled={busy} onClick={() => setConfirming(true)} data-testid="role-delete">{t('admin.roles.delete.button')}</button>}
        <button type="button" onClick={onClose} data-testid="role-close">{t('admin.roles.editor.close')}</button>
      </div>
      <ConfirmDialog open={confirming} title={t('admin.roles.delete.title', { name: roleLabel(t, role) })} body={t('admin.roles.delete.body')}
        onConfirm={() => void remove()} onCancel={() => setConfirming(false)} busy={busy} testid="role-delete-confirm" />
    </form>
  );
}
