// What the teams, roles and campaigns sections share: the refusal as the user reads it, a
// confirmation dialog that moves focus in and gives it back, and a user search (thousands of
// users: a search through the gateway's paged user list, never a select of all of them).
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { z } from 'zod';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import { formatNumber } from '../../../i18n/format';

export type { AdminCall, AdminFailure };
export { adminCall };

export interface UserName {
  id: string;
  username: string;
  displayName: string;
  disabled: boolean;
}
export type UserNames = Readonly<Record<string, UserName>>;

/** The zod schema's verdict on a body the form built (the same schema the gateway parses with). */
export function checkBody<S extends z.ZodType>(schema: S, body: unknown): { ok: true; value: z.output<S> } | { ok: false; failure: AdminFailure } {
  const r = schema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, failure: { code: 'validation_failed', violations: [...new Set(r.error.issues.map((i) => String(i.path[0] ?? '')))].filter(Boolean) } };
}

/** Lines of a textarea, trimmed, empty ones left out. */
export const lines = (text: string): string[] => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);

const IN_USE_KINDS = ['users', 'calls', 'customers', 'notes', 'recordings', 'queued', 'overflow'] as const;

/**
 * A refusal or fault in the user's language: the console's message for its code; `in_use` names
 * what holds the thing (the gateway's violations "users=3"); a forbidden role change explains
 * the authority's rule (`forbiddenKey`).
 */
export function FailureMessage({ failure, testid, forbiddenKey, inUseHint }: { failure: AdminFailure | null; testid: string; forbiddenKey?: string; inUseHint?: string }) {
  const { t, i18n } = useTranslation();
  if (!failure) return null;
  let body: ReactNode;
  if (failure.code === 'in_use') {
    const held = failure.violations.flatMap((v) => {
      const [kind, n] = v.split('=');
      return IN_USE_KINDS.includes(kind as never) ? [t(`admin.org.inUse.${kind}`, { n: formatNumber(Number(n), i18n.language) })] : [];
    });
    body = (
      <>
        {t('admin.org.inUse.lead')}
        <ul>{held.map((h) => <li key={h}>{h}</li>)}</ul>
        {inUseHint && <span>{inUseHint}</span>}
      </>
    );
  } else if (failure.code === 'forbidden' && forbiddenKey) {
    body = t(forbiddenKey);
  } else {
    body = t(`admin.errors.${failure.code}`);
  }
  return (
    <div role="alert" className="error" data-testid={testid} data-code={failure.code}>
      {body}
    </div>
  );
}

export { ConfirmDialog } from '../ConfirmDialog';

/** Fetches the names of ids not yet known (POST /admin/users/names) into `names`. */
export function useUserNames(call: AdminCall, ids: readonly string[]): [UserNames, (more: UserName[]) => void] {
  const [names, setNames] = useState<Record<string, UserName>>({});
  const add = (more: UserName[]) => setNames((n) => ({ ...n, ...Object.fromEntries(more.map((u) => [u.id, u])) }));
  const missing = ids.filter((i) => !names[i]);
  const key = [...new Set(missing)].sort().join(',');
  useEffect(() => {
    if (!key) return;
    let live = true;
    call('userNames', { body: { ids: key.split(',') } })
      .then((r) => live && add(r.users))
      .catch((err: unknown) => void adminFailure(err, 'loading user names'));
    return () => void (live = false);
  }, [key, call]);
  return [names, add];
}

/** "表示名 (username)", or the id while its name is not known. */
export const nameOf = (names: UserNames, id: string) => (names[id] ? `${names[id]!.displayName} (${names[id]!.username})` : id);

/**
 * Users picked by searching (GET /admin/users?q=): the picked ones listed with a remove button,
 * the matches of a search with an add button. `testid`-search, -search-submit, -add-<username>,
 * -remove-<username>, -picked.
 */
export function UserPicker({ call, what, selected, onChange, names, onNames, testid, readOnly = false }: {
  call: AdminCall; what: string; selected: readonly string[]; onChange: (ids: string[]) => void; names: UserNames; onNames: (u: UserName[]) => void; testid: string; readOnly?: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [q, setQ] = useState('');
  const [results, setResults] = useState<UserName[] | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const search = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    try {
      const r = await call('listUsers', { query: { ...(q.trim() ? { q: q.trim() } : {}), limit: 20 } });
      const found = r.users.map((u) => ({ id: u.id, username: u.username, displayName: u.displayName, disabled: u.disabled }));
      onNames(found);
      setResults(found);
    } catch (err) {
      setFailure(adminFailure(err, 'searching users'));
    }
  };
  return (
    <fieldset data-testid={testid}>
      <legend>{t('admin.org.picker.selected', { what, count: selected.length })}</legend>
      {selected.length === 0 ? (
        <p className="note">{t('admin.org.picker.noneSelected')}</p>
      ) : (
        <ul data-testid={`${testid}-picked`}>
          {selected.map((u) => (
            <li key={u}>
              {nameOf(names, u)}
              {names[u]?.disabled && <span className="badge">{t('admin.org.picker.disabled')}</span>}
              {!readOnly && (
                <button type="button" className="link-button" aria-label={t('admin.org.picker.remove', { name: nameOf(names, u) })}
                  data-testid={`${testid}-remove-${names[u]?.username ?? u}`} onClick={() => onChange(selected.filter((x) => x !== u))}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <form className="row" onSubmit={search} role="search">
          <label htmlFor={`${id}-q`}>{t('admin.org.picker.search', { what })}</label>
          <input id={`${id}-q`} value={q} onChange={(e) => setQ(e.target.value)} data-testid={`${testid}-search`} maxLength={100} />
          <button type="submit" data-testid={`${testid}-search-submit`}>{t('admin.org.picker.searchButton')}</button>
        </form>
      )}
      <FailureMessage failure={failure} testid={`${testid}-error`} />
      {results && !readOnly && (
        results.length === 0 ? <p className="note">{t('admin.org.picker.noResults')}</p> : (
          <ul aria-live="polite">
            {results.map((u) => (
              <li key={u.id}>
                {u.displayName} ({u.username}){u.disabled && <span className="badge">{t('admin.org.picker.disabled')}</span>}
                <button type="button" disabled={selected.includes(u.id)} data-testid={`${testid}-add-${u.username}`}
                  aria-label={`${t('admin.org.picker.add')}: ${u.displayName} (${u.username})`} onClick={() => onChange([...selected, u.id])}>
                  {t('admin.org.picker.add')}
                </button>
              </li>
            ))}
          </ul>
        )
      )}
    </fieldset>
  );
}
