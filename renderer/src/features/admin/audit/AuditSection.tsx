import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AuditQuery, type AuditEntryView } from '../../../../../shared/gateway/api';
import type { AuditStatusResponse } from '../../../../../shared/gateway/admin-policy';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import { formatDateTime, formatNumber } from '../../../i18n/format';
import type { SectionProps } from '../section-types';

/** Entries per page (one more is asked for, to know whether a next page exists). */
export const AUDIT_PAGE = 50;
/** Entries per export request (the route's own maximum is 5000). */
export const EXPORT_PAGE = 1000;

interface Filters {
  actorUserId: string;
  action: string;
  targetId: string;
  from: string;
  to: string;
  sourceIp: string;
}
const EMPTY: Filters = { actorUserId: '', action: '', targetId: '', from: '', to: '', sourceIp: '' };

/** A datetime-local value (Japan time, as shown) as an instant the gateway accepts. */
const tokyoInstant = (local: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(local) ? `${local}:00+09:00` : local);

/** The query for these filters, checked with the gateway's own schema; issues by field. */
export function auditQueryOf(f: Filters): { query: Record<string, string> | null; issues: Partial<Record<keyof Filters, string>> } {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(f) as [keyof Filters, string][]) {
    const text = v.trim();
    if (text) raw[k] = k === 'from' || k === 'to' ? tokyoInstant(text) : text;
  }
  const issues: Partial<Record<keyof Filters, string>> = {};
  const parsed = AuditQuery.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const key = String(i.path[0]) as keyof Filters;
      issues[key] ??= key === 'sourceIp' ? 'sourceIp' : key === 'from' || key === 'to' ? 'time' : key === 'action' ? 'action' : 'other';
    }
  }
  if (raw.action && !issues.action && !/^[A-Za-z0-9_.%-]+(\.\*)?$/.test(raw.action)) issues.action = 'action';
  if (!issues.from && !issues.to && raw.from && raw.to && new Date(raw.from) >= new Date(raw.to)) issues.to = 'range';
  return { query: Object.keys(issues).length ? null : raw, issues };
}

/** An entry's moment to the second: "2026年11月30日 10:06:12" (Japan time). */
const formatAt = (iso: string, language: string) => formatDateTime(iso, language, { seconds: true });
const num = formatNumber;

/**
 * The org's audit log (GET /admin/audit): filters by actor (picked from the user search), action
 * (exact or a ".*" prefix), target, time range (Japan time) and source address, checked with the
 * gateway's AuditQuery schema; keyset pages newest first (next = before the last entry shown,
 * previous = the page's cursor before it); the chain's verification status; and the export.
 */
export function AuditSection({ can, call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t } = useTranslation();
  return (
    <section data-testid="audit-section" aria-label={t('admin.audit.heading')}>
      <h2>{t('admin.audit.heading')}</h2>
      <ChainStatus call={call} />
      <AuditLog call={call} mayPickUsers={can('users:read')} />
      <AuditExport call={call} />
    </section>
  );
}

function AuditLog({ call, mayPickUsers }: { call: AdminCall; mayPickUsers: boolean }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Record<string, string>>({});
  /** The `before` cursor of each page shown so far (undefined: the newest). */
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const [entries, setEntries] = useState<AuditEntryView[] | null>(null);
  const [hasNext, setHasNext] = useState(false);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [pending, setPending] = useState(false);
  const [userQuery, setUserQuery] = useState('');
  const [users, setUsers] = useState<{ id: string; username: string; displayName: string }[]>([]);
  const { issues } = auditQueryOf(filters);

  const fetchPage = useCallback(async (query: Record<string, string>, before: number | undefined) => {
    setPending(true);
    setFailure(null);
    try {
      const res = await call('audit', { query: { ...query, limit: AUDIT_PAGE + 1, ...(before !== undefined ? { before } : {}) } as never });
      setEntries(res.entries.slice(0, AUDIT_PAGE));
      setHasNext(res.entries.length > AUDIT_PAGE);
      return true;
    } catch (err) {
      setFailure(adminFailure(err, 'reading the audit log'));
      return false;
    } finally {
      setPending(false);
    }
  }, [call]);
  useEffect(() => void fetchPage({}, undefined), [fetchPage]);

  const apply = async (e: FormEvent) => {
    e.preventDefault();
    const { query } = auditQueryOf(filters);
    if (!query) return;
    if (await fetchPage(query, undefined)) {
      setApplied(query);
      setCursors([undefined]);
    }
  };
  const next = async () => {
    const last = entries?.[entries.length - 1];
    if (!last) return;
    if (await fetchPage(applied, last.seq)) setCursors((c) => [...c, last.seq]);
  };
  const previous = async () => {
    if (cursors.length < 2) return;
    const before = cursors[cursors.length - 2];
    if (await fetchPage(applied, before)) setCursors((c) => c.slice(0, -1));
  };
  const findUsers = async () => {
    try {
      const res = await call('listUsers', { query: { q: userQuery.trim() || undefined, limit: 20 } as never });
      setUsers(res.users.map((u) => ({ id: u.id, username: u.username, displayName: u.displayName })));
    } catch (err) {
      setFailure(adminFailure(err, 'searching users for the audit filter'));
    }
  };

  const input = (key: keyof Filters, type = 'text', hint?: string) => {
    const fid = `${id}-${key}`;
    const issue = issues[key];
    return (
      <div className="audit-filter">
        <label htmlFor={fid}>{t(`admin.audit.${key}`)}</label>
        <input
          id={fid} type={type} data-testid={`audit-filter-${key}`} value={filters[key]} spellCheck={false}
          aria-invalid={issue ? true : undefined}
          aria-describedby={[issue ? `${fid}-issue` : null, hint ? `${fid}-hint` : null].filter(Boolean).join(' ') || undefined}
          onChange={(e) => setFilters((f) => ({ ...f, [key]: e.target.value }))}
        />
        {hint && <span id={`${fid}-hint`} className="note">{hint}</span>}
        {issue && <span id={`${fid}-issue`} className="error" data-testid={`audit-filter-${key}-issue`}>{t(`admin.audit.invalid.${issue}`)}</span>}
      </div>
    );
  };

  return (
    <>
      <form onSubmit={apply} noValidate aria-label={t('admin.audit.filters')} data-testid="audit-filters" className="audit-filters">
        {mayPickUsers && (
          <div className="audit-filter">
            <label htmlFor={`${id}-userq`}>{t('admin.audit.actorSearch')}</label>
            <input id={`${id}-userq`} data-testid="audit-actor-search" value={userQuery} onChange={(e) => setUserQuery(e.target.value)}
              onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); void findUsers(); } }} />
            <button type="button" data-testid="audit-actor-find" onClick={() => void findUsers()}>{t('admin.audit.actorFind')}</button>
            <label htmlFor={`${id}-actor`}>{t('admin.audit.actor')}</label>
            <select id={`${id}-actor`} data-testid="audit-filter-actor" value={filters.actorUserId} onChange={(e) => setFilters((f) => ({ ...f, actorUserId: e.target.value }))}>
              <option value="">{t('admin.audit.actorAny')}</option>
              {users.map((u) => <option key={u.id} value={u.id}>{`${u.displayName} (${u.username})`}</option>)}
            </select>
          </div>
        )}
        {input('action', 'text', t('admin.audit.actionHint'))}
        {input('targetId')}
        {input('from', 'datetime-local')}
        {input('to', 'datetime-local')}
        {input('sourceIp')}
        <div className="audit-actions">
          <button type="submit" data-testid="audit-apply" disabled={pending || Object.keys(issues).length > 0}>{t('admin.audit.apply')}</button>{' '}
          <button type="button" className="link-button" data-testid="audit-clear" onClick={() => { setFilters(EMPTY); setUsers([]); setUserQuery(''); }}>{t('admin.audit.clear')}</button>
        </div>
      </form>
      {failure && (
        <div role="alert" className="error" data-testid="audit-error" data-code={failure.code}>
          <p>{t(`admin.errors.${failure.code}`)}</p>
        </div>
      )}
      {entries === null ? (
        !failure && <p className="note" role="status">{t('admin.common.loading')}</p>
      ) : entries.length === 0 ? (
        <p className="note" data-testid="audit-empty">{t('admin.common.none')}</p>
      ) : (
        <table data-testid="audit-rows" aria-label={t('admin.audit.rowsLabel')} aria-busy={pending}>
          <thead>
            <tr>
              {(['seq', 'at', 'actor', 'action', 'target', 'sourceIp', 'detail'] as const).map((c) => <th key={c} scope="col">{t(`admin.audit.columns.${c}`)}</th>)}
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.seq} data-testid="audit-row" data-seq={e.seq} data-action={e.action}>
                <td data-testid="audit-cell-seq">{num(e.seq, i18n.language)}</td>
                <td data-testid="audit-cell-at"><time dateTime={e.at}>{formatAt(e.at, i18n.language)}</time></td>
                <td data-testid="audit-cell-actor">{e.actorUsername ?? t('admin.audit.system')}</td>
                <td data-testid="audit-cell-action"><code>{e.action}</code></td>
                <td data-testid="audit-cell-target">{e.targetType ? `${e.targetType}: ${e.targetId ?? ''}` : ''}</td>
                <td data-testid="audit-cell-sourceIp">{e.sourceIp ?? ''}</td>
                <td data-testid="audit-cell-detail"><code className="audit-detail">{JSON.stringify(e.detail)}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="audit-paging" aria-label={t('admin.audit.page', { page: cursors.length })}>
        <button type="button" data-testid="audit-previous" disabled={pending || cursors.length < 2} onClick={() => void previous()}>{t('admin.common.previous')}</button>{' '}
        <span data-testid="audit-page" aria-live="polite">{t('admin.audit.page', { page: num(cursors.length, i18n.language) })}</span>{' '}
        <button type="button" data-testid="audit-next" disabled={pending || !hasNext} onClick={() => void next()}>{t('admin.common.next')}</button>
      </nav>
    </>
  );
}

/** The chain's status; while the checkpoint is behind the head each call verifies the next slice, so it asks again until caught up. */
function ChainStatus({ call }: { call: AdminCall }) {
  const { t, i18n } = useTranslation();
  const [status, setStatus] = useState<AuditStatusResponse | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const live = useRef(true);

  const check = useCallback(async () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    try {
      const s = await call('auditStatus');
      if (!live.current) return;
      setStatus(s);
      setFailure(null);
      if (!s.broken && s.verifiedSeq < s.headSeq) timer.current = setTimeout(() => void check(), 300);
    } catch (err) {
      if (live.current) setFailure(adminFailure(err, 'reading the audit chain status'));
    }
  }, [call]);
  useEffect(() => {
    live.current = true;
    void check();
    return () => {
      live.current = false;
      if (timer.current) clearTimeout(timer.current);
    };
  }, [check]);

  const lang = i18n.language;
  return (
    <div className="audit-chain" data-testid="audit-chain" data-state={status ? (status.broken ? 'broken' : status.verifiedSeq < status.headSeq ? 'verifying' : 'verified') : 'unknown'}>
      <h3>{t('admin.audit.chain.heading')}</h3>
      <p role="status" data-testid="audit-chain-status" className={status?.broken ? 'error' : undefined}>
        {failure ? t(`admin.errors.${failure.code}`)
          : !status ? t('admin.common.loading')
          : status.broken ? t('admin.audit.chain.broken', { seq: num(status.broken.seq, lang), at: formatAt(status.broken.detectedAt, lang), kind: t(`admin.audit.chain.kinds.${status.broken.kind}`) })
          : status.verifiedSeq < status.headSeq ? t('admin.audit.chain.verifying', { seq: num(status.verifiedSeq, lang), head: num(status.headSeq, lang) })
          : status.verifiedAt ? t('admin.audit.chain.verified', { seq: num(status.verifiedSeq, lang), at: formatAt(status.verifiedAt, lang) })
          : t('admin.audit.chain.notYet')}
      </p>
      {status && !status.broken && (
        <p className="note" data-testid="audit-chain-recheck">
          {status.recheckCompletedAt ? t('admin.audit.chain.recheck', { at: formatAt(status.recheckCompletedAt, lang) }) : t('admin.audit.chain.recheckRunning', { seq: num(status.recheckSeq, lang) })}
        </p>
      )}
      <button type="button" data-testid="audit-chain-refresh" onClick={() => void check()}>{t('admin.audit.chain.refresh')}</button>
    </div>
  );
}

/**
 * The export (GET /admin/audit/export, oldest first from a cursor), shown as JSON Lines to copy:
 * the main process offers no save dialog, and the console adds no file path from the renderer.
 */
function AuditExport({ call }: { call: AdminCall }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [lines, setLines] = useState<string[] | null>(null);
  const [cursor, setCursor] = useState(0);
  const [done, setDone] = useState(false);
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [copied, setCopied] = useState<'ok' | 'failed' | null>(null);

  const more = async (from: number, before: string[]) => {
    setPending(true);
    setFailure(null);
    setCopied(null);
    try {
      const res = await call('auditExport', { query: { cursor: from, limit: EXPORT_PAGE } as never });
      setLines([...before, ...res.entries.map((e) => JSON.stringify(e))]);
      setCursor(res.nextCursor);
      setDone(res.entries.length < EXPORT_PAGE);
    } catch (err) {
      setFailure(adminFailure(err, 'exporting the audit log'));
    } finally {
      setPending(false);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText((lines ?? []).join('\n'));
      setCopied('ok');
    } catch (err) {
      setCopied('failed');
      adminFailure(err, 'copying the audit export');
    }
  };

  return (
    <div className="audit-export" data-testid="audit-export">
      <h3>{t('admin.audit.export.heading')}</h3>
      <p className="note">{t('admin.audit.export.explain')}</p>
      {lines === null ? (
        <button type="button" data-testid="audit-export-start" disabled={pending} onClick={() => void more(0, [])}>{t('admin.audit.export.start')}</button>
      ) : (
        <>
          <p role="status" data-testid="audit-export-progress">
            {t('admin.audit.export.upTo', { count: num(lines.length, i18n.language), seq: num(cursor, i18n.language) } as Record<string, string>)}
            {done ? ` ${t('admin.audit.export.done')}` : ''}
          </p>
          <label htmlFor={`${id}-out`}>{t('admin.audit.export.label')}</label>
          <textarea id={`${id}-out`} data-testid="audit-export-text" readOnly rows={8} value={lines.join('\n')} spellCheck={false} />
          <div>
            <button type="button" data-testid="audit-export-more" disabled={pending} onClick={() => void more(cursor, lines)}>
              {t('admin.audit.export.more', { count: EXPORT_PAGE } as Record<string, number>)}
            </button>{' '}
            <button type="button" data-testid="audit-export-copy" onClick={() => void copy()}>{t('admin.audit.export.copy')}</button>{' '}
            <button type="button" className="link-button" data-testid="audit-export-clear" onClick={() => { setLines(null); setCursor(0); setDone(false); }}>{t('admin.audit.export.clear')}</button>
          </div>
          {copied && <p role="status" className={copied === 'failed' ? 'error' : 'note'}>{t(copied === 'ok' ? 'admin.audit.export.copied' : 'admin.audit.export.copyFailed')}</p>}
        </>
      )}
      {failure && <p role="alert" className="error" data-testid="audit-export-error">{t(`admin.errors.${failure.code}`)}</p>}
    </div>
  );
}
