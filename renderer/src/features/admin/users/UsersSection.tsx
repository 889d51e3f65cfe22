import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { UserCreateRequest, type UserView } from '../../../../../shared/gateway/api';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { AdminErrorBox, Done, Field } from './ui';
import { usePages } from './pages';
import { PagerButtons } from './PagerButtons';
import { UserDetail } from './UserDetail';
import { roleLabel } from '../role-label';

const PAGE = 50;
type Role = { key: string; name: string };

/**
 * Users: search by username (prefix) or display name (part), paged by the gateway's cursor (the
 * org may have thousands); create a user with a temporary password; open one to change it.
 */
export function UsersSection({ can, call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t } = useTranslation();
  const id = useId();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const fetchPage = useCallback(
    async (query: string, cursor: string | undefined) => {
      const res = await call('listUsers', { query: { limit: PAGE, ...(query ? { q: query } : {}), ...(cursor ? { cursor } : {}) } });
      return { items: res.users, nextCursor: res.nextCursor };
    },
    [call],
  );
  const { items: users, setItems: setUsers, next, loading, failure, setFailure, page, first, forward, back } = usePages<UserView, string>(fetchPage, 'listing users', '');
  const [roles, setRoles] = useState<Role[]>([]);
  const [open, setOpen] = useState<UserView | null>(null);
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    void first('');
    call('listRoles').then((r) => setRoles(r.roles.map((x) => ({ key: x.key, name: x.name }))), (err) => setFailure(adminFailure(err, 'listing roles')));
  }, [first, call, setFailure]);

  const search = async (e: FormEvent) => {
    e.preventDefault();
    await first(text.trim());
  };
  const [notice, setNotice] = useState<string | null>(null);
  const changed = (u: UserView | null, removed?: { id: string; notice: string }) => {
    if (u) {
      setUsers((list) => list?.map((x) => (x.id === u.id ? u : x)) ?? list);
      setOpen(u);
    } else if (removed) {
      setUsers((list) => list?.filter((x) => x.id !== removed.id) ?? list);
      setOpen(null);
      setNotice(removed.notice);
      noticeRef.current?.focus();
    }
  };
  const noticeRef = useRef<HTMLDivElement>(null);

  return (
    <section aria-labelledby={`${id}-h`} data-testid="admin-users">
      <h2 id={`${id}-h`}>{t('admin.users.heading')}</h2>
      <form role="search" onSubmit={(e) => void search(e)} className="row">
        <label htmlFor={`${id}-q`}>{t('admin.users.searchLabel')}</label>
        <input id={`${id}-q`} type="search" value={text} onChange={(e) => setText(e.target.value)} maxLength={100} aria-describedby={`${id}-qh`} data-testid="users-search" />
        <button type="submit" disabled={loading} data-testid="users-search-submit">{t('admin.common.search')}</button>
        <span id={`${id}-qh`} className="note">{t('admin.users.searchHint')}</span>
      </form>
      {can('users:manage') && !creating && (
        <button type="button" onClick={() => setCreating(true)} data-testid="users-create-open">{t('admin.users.create.open')}</button>
      )}
      {can('users:manage') && creating && (
        <CreateUser
          roles={roles}
          call={call}
          onCancel={() => setCreating(false)}
          onCreated={(u) => {
            setUsers((list) => [u, ...(list ?? []).filter((x) => x.id !== u.id)]);
            setOpen(u);
          }}
        />
      )}
      <AdminErrorBox failure={failure} testId="users-error" />
      <div tabIndex={-1} ref={noticeRef}><Done text={notice} testId="users-notice" /></div>
      {loading && <p className="note" role="status">{t('admin.common.loading')}</p>}
      {users && users.length === 0 && <p className="note">{t('admin.common.none')}</p>}
      {users && users.length > 0 && (
        <table data-testid="users-table">
          <caption>{t('admin.users.results')} · {t('admin.users.page', { n: page + 1 })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.users.username')}</th>
              <th scope="col">{t('admin.users.displayName')}</th>
              <th scope="col">{t('admin.users.role')}</th>
              <th scope="col">{t('admin.users.status')}</th>
              <th scope="col"><span className="visually-hidden">{t('admin.users.open')}</span></th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-testid={`users-row-${u.username}`} data-user-id={u.id}>
                <th scope="row">{u.username}</th>
                <td>{u.displayName}</td>
                <td>{roleLabel(t, roles.find((r) => r.key === u.role) ?? { key: u.role, name: u.role })}</td>
                <td>{userStates(u).map((s) => t(`admin.users.state.${s}`)).join('・')}</td>
                <td>
                  <button type="button" onClick={() => setOpen(u)} aria-label={t('admin.users.openUser', { name: u.username })} data-testid={`user-open-${u.username}`}>
                    {t('admin.users.open')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PagerButtons pages={{ page, next, loading, back, forward }} testid="users" />
      {open && <UserDetail key={open.id} user={open} roles={roles} can={can} call={call} onChanged={changed} onClose={() => setOpen(null)} />}
    </section>
  );
}

export function userStates(u: UserView): ('active' | 'disabled' | 'locked' | 'mustChange' | 'totp')[] {
  const out: ('active' | 'disabled' | 'locked' | 'mustChange' | 'totp')[] = [u.disabled ? 'disabled' : 'active'];
  if (u.locked) out.push('locked');
  if (u.mustChangePassword) out.push('mustChange');
  if (u.totpEnabled) out.push('totp');
  return out;
}

/** The field a zod issue is about, for the messages admin.users.field.<field>. */
const issueFields = (issues: { path: PropertyKey[] }[]) => new Set(issues.map((i) => String(i.path[0])));

function CreateUser({ roles, call, onCancel, onCreated }: { roles: Role[]; call: AdminCall; onCancel: () => void; onCreated: (u: UserView) => void }) {
  const { t } = useTranslation();
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [form, setForm] = useState({ username: '', displayName: '', role: 'operator', password: '' });
  const [problems, setProblems] = useState<Set<string>>(new Set());
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [saving, setSaving] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => heading.current?.focus(), []);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    setFailure(null);
    // the gateway's own schema (shared/gateway/api.ts): what it would refuse is said here first
    const parsed = UserCreateRequest.safeParse(form);
    if (!parsed.success) {
      setProblems(issueFields(parsed.error.issues));
      return;
    }
    setProblems(new Set());
    setSaving(true);
    try {
      const user = await call('createUser', { body: parsed.data });
      setDone(t('admin.users.create.done', { name: user.username }));
      setForm({ username: '', displayName: '', role: form.role, password: '' });
      onCreated(user);
    } catch (err) {
      // what was typed stays: nothing is cleared on a refusal or a lost connection
      setFailure(adminFailure(err, 'creating a user'));
    } finally {
      setSaving(false);
    }
  };
  const problem = (k: string) => (problems.has(k) ? t(`admin.users.field.${k}`) : null);

  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-h`} className="account-section" data-testid="user-create" noValidate>
      <h3 id={`${id}-h`} tabIndex={-1} ref={heading}>{t('admin.users.create.heading')}</h3>
      <Field id={`${id}-u`} label={t('admin.users.username')} problem={problem('username')}>
        {(d) => <input id={`${id}-u`} value={form.username} onChange={set('username')} autoComplete="off" aria-invalid={problems.has('username')} aria-describedby={d} data-testid="user-create-username" />}
      </Field>
      <Field id={`${id}-d`} label={t('admin.users.displayName')} problem={problem('displayName')}>
        {(d) => <input id={`${id}-d`} value={form.displayName} onChange={set('displayName')} aria-invalid={problems.has('displayName')} aria-describedby={d} data-testid="user-create-display-name" />}
      </Field>
      <Field id={`${id}-r`} label={t('admin.users.role')} problem={problem('role')}>
        {(d) => (
          <select id={`${id}-r`} value={form.role} onChange={set('role')} aria-describedby={d} data-testid="user-create-role">
            {(roles.some((r) => r.key === form.role) ? roles : [{ key: form.role, name: form.role }, ...roles]).map((r) => (
              <option key={r.key} value={r.key}>{roleLabel(t, r)}</option>
            ))}
          </select>
        )}
      </Field>
      <Field id={`${id}-p`} label={t('admin.users.create.password')} hint={t('admin.users.create.passwordHint')} problem={problem('password')}>
        {(d) => <input id={`${id}-p`} type="password" value={form.password} onChange={set('password')} autoComplete="new-password" aria-invalid={problems.has('password')} aria-describedby={d} data-testid="user-create-password" />}
      </Field>
      <div className="actions">
        <button type="submit" disabled={saving} data-testid="user-create-submit">{saving ? t('admin.users.create.creating') : t('admin.users.create.submit')}</button>
        <button type="button" onClick={onCancel} data-testid="user-create-cancel">{t('admin.common.cancel')}</button>
      </div>
      <AdminErrorBox failure={failure} testId="user-create-error" />
      <Done text={done} testId="user-create-done" />
    </form>
  );
}
