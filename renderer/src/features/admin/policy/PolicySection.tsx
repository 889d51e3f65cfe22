import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { OrgPolicy } from '../../../../../shared/gateway/policy';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import {
  GROUPS, ORG_LIST, candidate, changedFields, fieldIssues, ipFields, patchOf, roleKeys, roleListPath, toForm,
  type FieldDef, type FieldIssue, type Form, type FormValue,
} from './policy-form';

const BUILTIN_ROLES = ['admin', 'operator', 'team_lead'];
const testId = (path: string) => `policy-field-${path.replace(/\./g, '-')}`;

/**
 * The org policy (GET/PATCH /admin/policy): every field an admin sets, checked as they type
 * with the gateway's own schema (policy-form.ts), unsaved changes marked, only the changed
 * fields sent. The gateway decides: a change that would lock the admin out comes back as
 * policy_lockout and is explained here (with a button that adds their address); a failed save,
 * a lost connection included, keeps everything typed.
 */
export function PolicySection({ can, call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t } = useTranslation();
  const id = useId();
  const [saved, setSaved] = useState<OrgPolicy | null>(null);
  const [orgRoles, setOrgRoles] = useState<string[]>(BUILTIN_ROLES);
  const [form, setForm] = useState<Form>({});
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [notice, setNotice] = useState(false);
  const alertRef = useRef<HTMLDivElement>(null);
  const mayListRoles = can('users:read');

  const load = useCallback(async () => {
    setFailure(null);
    try {
      const [{ policy }, roles] = await Promise.all([
        call('getPolicy'),
        mayListRoles ? call('listRoles').then((r) => r.roles.map((x) => x.key)) : Promise.resolve(BUILTIN_ROLES),
      ]);
      setOrgRoles(roles);
      setSaved(policy);
      setForm(toForm(policy, roleKeys(policy, roles)));
    } catch (err) {
      setFailure(adminFailure(err, 'loading the org policy'));
    }
  }, [call, mayListRoles]);
  useEffect(() => void load(), [load]);

  const roles = useMemo(() => (saved ? roleKeys(saved, orgRoles) : []), [saved, orgRoles]);
  const savedForm = useMemo(() => (saved ? toForm(saved, roles) : {}), [saved, roles]);
  const policy = useMemo(() => (saved ? candidate(saved, form) : null), [saved, form]);
  const allFields = useMemo(() => [...GROUPS.flatMap((g) => g.fields), ...ipFields(roles)].map((x) => x.path), [roles]);
  const issues = useMemo(() => (policy ? fieldIssues(policy, allFields) : new Map<string, FieldIssue>()), [policy, allFields]);
  const changed = useMemo(() => (saved ? changedFields(form, savedForm) : []), [form, savedForm, saved]);

  useEffect(() => {
    if (failure && saved) alertRef.current?.focus();
  }, [failure, saved]);

  if (!saved || !policy) {
    return (
      <section aria-labelledby={`${id}-h`} data-testid="policy-section">
        <h2 id={`${id}-h`}>{t('admin.policy.heading')}</h2>
        {failure ? (
          <div role="alert" className="error" data-testid="policy-error" data-code={failure.code}>
            <p>{t(`admin.errors.${failure.code}`)}</p>
            <button type="button" data-testid="policy-reload" onClick={() => void load()}>{t('admin.policy.retry')}</button>
          </div>
        ) : (
          <p className="note" role="status">{t('admin.common.loading')}</p>
        )}
      </section>
    );
  }

  const set = (path: string, value: FormValue) => {
    setNotice(false);
    setForm((f) => ({ ...f, [path]: value }));
  };
  const addAddress = (path: string, address: string) => {
    setForm((f) => {
      const text = String(f[path] ?? '');
      return { ...f, [path]: text.trim() ? `${text.replace(/\s+$/, '')}\n${address}` : address };
    });
    setFailure(null);
    document.getElementById(`${id}-${testId(path)}`)?.focus();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending || changed.length === 0 || issues.size > 0) return;
    const sent = form;
    setPending(true);
    setFailure(null);
    setNotice(false);
    try {
      const { policy: next } = await call('patchPolicy', { body: patchOf(policy, changed) });
      const nextForm = toForm(next, roleKeys(next, orgRoles));
      setSaved(next);
      // what was typed while the save was on its way stays typed
      setForm((now) => Object.fromEntries(Object.keys({ ...now, ...nextForm }).map((k) => [k, now[k] === sent[k] ? nextForm[k]! : now[k]!])));
      setNotice(true);
    } catch (err) {
      setFailure(adminFailure(err, 'saving the org policy'));
    } finally {
      setPending(false);
    }
  };

  const field = (def: FieldDef) => {
    const fid = `${id}-${testId(def.path)}`;
    const issue = issues.get(def.path);
    const isChanged = changed.includes(def.path);
    const label = def.path.startsWith('ipAllowlist.roles.')
      ? t('admin.policy.fields.ipAllowlist.role', { role: def.path.slice('ipAllowlist.roles.'.length) })
      : def.path === ORG_LIST ? t('admin.policy.fields.ipAllowlist.org') : t(`admin.policy.fields.${def.path}`);
    const described = [
      issue ? `${fid}-issue` : null, def.kind === 'lines' && def.path.startsWith('ipAllowlist') ? `${id}-ip-hint` : null, def.kind === 'reasons' ? `${fid}-hint` : null,
    ].filter(Boolean).join(' ') || undefined;
    const mark = isChanged ? <span className="badge" data-testid={`${testId(def.path)}-changed`}>{t('admin.policy.changed')}</span> : null;
    const issueText = issue ? (
      <span id={`${fid}-issue`} className="error" data-testid={`${testId(def.path)}-issue`}>{t(`admin.policy.invalid.${issue.key}`, issue.values)}</span>
    ) : null;
    const value = form[def.path];
    if (def.kind === 'bool') {
      return (
        <div key={def.path} className="policy-field">
          <label>
            <input id={fid} type="checkbox" data-testid={testId(def.path)} checked={value === true} onChange={(e) => set(def.path, e.target.checked)} />
            {' '}{label}
          </label>
          {mark}
        </div>
      );
    }
    if (def.kind === 'roles') {
      const chosen = (value as string[]) ?? [];
      return (
        <fieldset key={def.path} className="policy-field" data-testid={testId(def.path)}>
          <legend>{label} {mark}</legend>
          {roles.map((r) => (
            <label key={r} className="policy-role">
              <input
                type="checkbox"
                data-testid={`${testId(def.path)}-${r}`}
                checked={chosen.includes(r)}
                onChange={(e) => set(def.path, e.target.checked ? [...chosen, r].sort() : chosen.filter((x) => x !== r))}
              />
              {' '}{r}
            </label>
          ))}
        </fieldset>
      );
    }
    return (
      <div key={def.path} className="policy-field">
        <label htmlFor={fid}>{label}</label> {mark}
        {def.kind === 'lines' || def.kind === 'reasons' ? (
          <textarea
            id={fid} data-testid={testId(def.path)} rows={def.kind === 'reasons' ? 7 : 3} value={String(value ?? '')} spellCheck={false}
            aria-invalid={issue ? true : undefined} aria-describedby={described} onChange={(e) => set(def.path, e.target.value)}
          />
        ) : def.kind === 'lang' ? (
          <select id={fid} data-testid={testId(def.path)} value={String(value)} onChange={(e) => set(def.path, e.target.value)}>
            <option value="ja">{t('admin.policy.languages.ja')}</option>
            <option value="en">{t('admin.policy.languages.en')}</option>
          </select>
        ) : (
          <input
            id={fid} data-testid={testId(def.path)} type="text" inputMode={def.kind === 'int' ? 'numeric' : undefined}
            value={String(value ?? '')} aria-invalid={issue ? true : undefined} aria-describedby={described}
            onChange={(e) => set(def.path, e.target.value)}
          />
        )}
        {def.kind === 'reasons' && <span className="note" id={`${fid}-hint`}>{t('admin.policy.fields.agents.notReadyReasonsHint')}</span>}
        {issueText}
      </div>
    );
  };

  const lockout = failure?.code === 'policy_lockout' ? failure.lockout : undefined;
  return (
    <section aria-labelledby={`${id}-h`} data-testid="policy-section">
      <h2 id={`${id}-h`}>{t('admin.policy.heading')}</h2>
      <p className="note">{t('admin.policy.intro')}</p>
      <form onSubmit={submit} noValidate className="policy-form" aria-describedby={`${id}-state`}>
        {GROUPS.map((g) => (
          <fieldset key={g.id} className="policy-group" data-testid={`policy-group-${g.id}`}>
            <legend>{t(`admin.policy.groups.${g.id}`)}</legend>
            {g.fields.map(field)}
          </fieldset>
        ))}
        <fieldset className="policy-group" data-testid="policy-group-ip">
          <legend>{t('admin.policy.groups.ip')}</legend>
          <p className="note" id={`${id}-ip-hint`}>{t('admin.policy.fields.ipAllowlist.hint')}</p>
          {ipFields(roles).map(field)}
        </fieldset>

        {failure && (
          <div ref={alertRef} tabIndex={-1} role="alert" className="error" data-testid="policy-error" data-code={failure.code}>
            {lockout ? (
              <>
                {lockout.org && (
                  <p data-testid="policy-lockout-org">
                    {t('admin.policy.lockout.org', { address: lockout.address })}{' '}
                    <button type="button" data-testid="policy-lockout-add-org" onClick={() => addAddress(ORG_LIST, lockout.address)}>
                      {t('admin.policy.lockout.addOrg', { address: lockout.address })}
                    </button>
                  </p>
                )}
                {lockout.role && (
                  <p data-testid="policy-lockout-role">
                    {t('admin.policy.lockout.role', { address: lockout.address, role: lockout.role })}{' '}
                    <button type="button" data-testid="policy-lockout-add-role" onClick={() => addAddress(roleListPath(lockout.role!), lockout.address)}>
                      {t('admin.policy.lockout.addRole', { address: lockout.address, role: lockout.role })}
                    </button>
                  </p>
                )}
              </>
            ) : (
              <p>{t(`admin.errors.${failure.code}`)}</p>
            )}
          </div>
        )}
        <p id={`${id}-state`} role="status" className="note" data-testid="policy-state">
          {issues.size > 0 ? t('admin.policy.invalid.summary', { count: issues.size })
            : pending ? t('admin.common.saving')
            : notice && changed.length === 0 ? t('admin.common.saved')
            : changed.length > 0 ? t('admin.policy.unsaved', { count: changed.length }) : t('admin.policy.noChanges')}
        </p>
        <div className="policy-actions">
          <button type="submit" data-testid="policy-save" disabled={pending || changed.length === 0 || issues.size > 0}>
            {pending ? t('admin.common.saving') : t('admin.common.save')}
          </button>{' '}
          <button type="button" className="link-button" data-testid="policy-discard" disabled={pending || changed.length === 0} onClick={() => { setForm(savedForm); setFailure(null); }}>
            {t('admin.policy.discard')}
          </button>
        </div>
      </form>
    </section>
  );
}
