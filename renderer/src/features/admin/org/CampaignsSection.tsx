// Campaigns (issue 17): create and edit (DIDs, hours and holidays, dispositions, block list,
// routing), queue, recording and retention settings, operator assignments (picked by searching
// users), disable/enable (not routed: its numbers answer as out of service; history kept) and
// delete (only without history: the gateway refuses with in_use). campaigns:manage opens it.
// Every form checks its body with the schema the gateway parses with, and keeps what was typed
// when a save fails.
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AssignmentsRequest, CampaignCreateRequest, CampaignPatchRequest } from '../../../../../shared/gateway/crm';
import { CampaignQueueSettings } from '../../../../../shared/gateway/queue';
import { RECORDING_MODES, RecordingSettings, RetentionSettings } from '../../../../../shared/gateway/recordings';
import type { RouteResponse } from '../../../../../shared/gateway/api';
import type { CampaignAdminView } from '../../../../../shared/gateway/admin-org';
import { WEEKDAYS } from '../../../../../shared/rules/business-hours';
import { formatDateTime, formatNumber } from '../../../i18n/format';
import { PhoneNumber } from '../../../app/PhoneNumber';
import { adminFailure } from '../admin-api';
import type { SectionProps } from '../section-types';
import { QuickConnects } from './QuickConnects';
import { adminCall, checkBody, ConfirmDialog, FailureMessage, lines, UserPicker, useUserNames, type AdminCall, type AdminFailure } from './shared';

type Campaign = RouteResponse<'listCampaigns'>['campaigns'][number];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const satisfies readonly (typeof WEEKDAYS)[number][];

/** A number field: empty is null; anything else is what Number() makes of it (the schema refuses NaN). */
const num = (s: string): number | null => (s.trim() === '' ? null : Number(s.trim()));
const str = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));

interface FormState {
  name: string; dids: string; timeZone: string; weekly: Record<string, string>; closedDates: string; dispositions: string; blocked: string;
  enforceHours: boolean; blockPolicy: 'reject' | 'message'; ringSeconds: string; serviceLevelSeconds: string; callerId: string;
}
const EMPTY: FormState = {
  name: '', dids: '', timeZone: 'Asia/Tokyo', weekly: { mon: '09:00-18:00', tue: '09:00-18:00', wed: '09:00-18:00', thu: '09:00-18:00', fri: '09:00-18:00' },
  closedDates: '', dispositions: '', blocked: '', enforceHours: true, blockPolicy: 'reject', ringSeconds: '', serviceLevelSeconds: '20', callerId: '',
};
const fromView = (c: Campaign): FormState => ({
  name: c.name, dids: c.dids.join('\n'), timeZone: c.hours.timeZone,
  weekly: Object.fromEntries(Object.entries(c.hours.weekly).map(([d, l]) => [d, l.map((i) => `${i.open}-${i.close}`).join(', ')])),
  closedDates: c.hours.closedDates.join('\n'), dispositions: c.dispositions.join('\n'), blocked: (c.blockedNumbers ?? []).join('\n'),
  enforceHours: c.routing?.enforceHours ?? true, blockPolicy: c.routing?.blockPolicy ?? 'reject', ringSeconds: str(c.routing?.ringSeconds), serviceLevelSeconds: String(c.serviceLevelSeconds),
  callerId: c.outboundCallerId ?? '',
});

/** "09:00-12:00, 13:00-18:00" -> intervals; null: a part is not "open-close". */
function intervals(text: string): { open: string; close: string }[] | null {
  const parts = text.split(/[,、]/).map((p) => p.trim()).filter(Boolean);
  const out: { open: string; close: string }[] = [];
  for (const p of parts) {
    const m = /^(\S+?)\s*[-–〜~]\s*(\S+)$/.exec(p);
    if (!m) return null;
    out.push({ open: m[1]!, close: m[2]! });
  }
  return out;
}

function CampaignForm({ initial, specialDates, prefix, submitLabel, onSubmit }: {
  initial: FormState; specialDates: Record<string, { open: string; close: string }[]>; prefix: string; submitLabel: string;
  onSubmit: (body: Record<string, unknown>) => Promise<AdminFailure | null>;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [f, setF] = useState<FormState>(initial);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [badDay, setBadDay] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setF((x) => ({ ...x, [k]: v }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBadDay(null);
    const weekly: Record<string, { open: string; close: string }[]> = {};
    for (const d of DAYS) {
      const parsed = intervals(f.weekly[d] ?? '');
      if (parsed === null) {
        setFailure({ code: 'validation_failed', violations: ['hours'] });
        return setBadDay(d);
      }
      if (parsed.length) weekly[d] = parsed;
    }
    const body = {
      name: f.name, dids: lines(f.dids), hours: { timeZone: f.timeZone.trim(), weekly, closedDates: lines(f.closedDates), specialDates },
      dispositions: lines(f.dispositions), blockedNumbers: lines(f.blocked),
      routing: { enforceHours: f.enforceHours, blockPolicy: f.blockPolicy, ringSeconds: num(f.ringSeconds) },
      serviceLevelSeconds: num(f.serviceLevelSeconds),
      // empty: the campaign's outbound calls present no caller ID
      outboundCallerId: f.callerId.trim() === '' ? null : f.callerId.trim(),
    };
    setBusy(true);
    try {
      setFailure(await onSubmit(body));
    } finally {
      setBusy(false);
    }
  };
  const invalid = (field: string) => (failure?.code === 'validation_failed' && failure.violations.includes(field) ? true : undefined);
  const field = (k: 'name' | 'timeZone' | 'ringSeconds' | 'serviceLevelSeconds' | 'callerId', label: string, testid: string, violation: string, type = 'text') => (
    <>
      <label htmlFor={`${id}-${k}`}>{label}</label>
      <input id={`${id}-${k}`} type={type} inputMode={type === 'text' ? undefined : type === 'tel' ? 'tel' : 'numeric'} value={f[k]} onChange={(e) => set(k, e.target.value)}
        data-testid={`${prefix}-${testid}`} aria-invalid={invalid(violation)} />
    </>
  );
  const area = (k: 'dids' | 'closedDates' | 'dispositions' | 'blocked', label: string, testid: string, violation: string) => (
    <>
      <label htmlFor={`${id}-${k}`}>{label}</label>
      <textarea id={`${id}-${k}`} rows={3} value={f[k]} onChange={(e) => set(k, e.target.value)} data-testid={`${prefix}-${testid}`} aria-invalid={invalid(violation)} />
    </>
  );
  return (
    <form className="account-section" onSubmit={submit} noValidate data-testid={`${prefix}-form`}>
      {field('name', t('admin.campaigns.field.name'), 'name', 'name')}
      {area('dids', t('admin.campaigns.field.dids'), 'dids', 'dids')}
      {field('callerId', t('admin.campaigns.field.outboundCallerId'), 'caller-id', 'outboundCallerId', 'tel')}
      {field('timeZone', t('admin.campaigns.field.timeZone'), 'timezone', 'hours')}
      <fieldset>
        <legend>{t('admin.campaigns.field.weekly')}</legend>
        {DAYS.map((d) => (
          <div className="row" key={d}>
            <label htmlFor={`${id}-w-${d}`}>{t(`admin.campaigns.weekday.${d}`)}</label>
            <input id={`${id}-w-${d}`} value={f.weekly[d] ?? ''} onChange={(e) => set('weekly', { ...f.weekly, [d]: e.target.value })}
              data-testid={`${prefix}-hours-${d}`} aria-invalid={badDay === d ? true : undefined} />
          </div>
        ))}
      </fieldset>
      {area('closedDates', t('admin.campaigns.field.closedDates'), 'closed-dates', 'hours')}
      {area('dispositions', t('admin.campaigns.field.dispositions'), 'dispositions', 'dispositions')}
      {area('blocked', t('admin.campaigns.field.blockedNumbers'), 'blocked', 'blockedNumbers')}
      <div className="check">
        <input type="checkbox" id={`${id}-enf`} checked={f.enforceHours} onChange={(e) => set('enforceHours', e.target.checked)} data-testid={`${prefix}-enforce-hours`} />
        <label htmlFor={`${id}-enf`}>{t('admin.campaigns.field.enforceHours')}</label>
      </div>
      <label htmlFor={`${id}-bp`}>{t('admin.campaigns.field.blockPolicy')}</label>
      <select id={`${id}-bp`} value={f.blockPolicy} onChange={(e) => set('blockPolicy', e.target.value as FormState['blockPolicy'])} data-testid={`${prefix}-block-policy`}>
        <option value="reject">{t('admin.campaigns.field.blockReject')}</option>
        <option value="message">{t('admin.campaigns.field.blockMessage')}</option>
      </select>
      {field('ringSeconds', t('admin.campaigns.field.ringSeconds'), 'ring-seconds', 'routing', 'number')}
      {field('serviceLevelSeconds', t('admin.campaigns.field.serviceLevelSeconds'), 'sl-seconds', 'serviceLevelSeconds', 'number')}
      <FailureMessage failure={failure} testid={`${prefix}-error`} />
      {badDay && <p className="error" data-testid={`${prefix}-bad-hours`}>{t('admin.campaigns.badHours', { day: t(`admin.campaigns.weekday.${badDay}`) })}</p>}
      <div className="actions"><button type="submit" disabled={busy} data-testid={`${prefix}-submit`}>{submitLabel}</button></div>
    </form>
  );
}

export function CampaignsSection({ can, call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t } = useTranslation();
  const id = useId();
  const [campaigns, setCampaigns] = useState<Campaign[] | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [done, setDone] = useState('');

  const load = useCallback(async () => {
    try {
      setCampaigns((await call('listCampaigns')).campaigns);
      setFailure(null);
    } catch (err) {
      setFailure(adminFailure(err, 'loading campaigns'));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  const put = (c: Campaign | null, was: string) => {
    setCampaigns((l) => (l ?? []).flatMap((x) => (x.id !== was ? [x] : c ? [c] : [])));
    if (!c) setOpen(null);
  };
  const create = async (raw: Record<string, unknown>): Promise<AdminFailure | null> => {
    const body = checkBody(CampaignCreateRequest, raw);
    if (!body.ok) return body.failure;
    try {
      const c = await call('createCampaign', { body: body.value });
      setCampaigns((l) => [...(l ?? []), c].sort((a, b) => a.name.localeCompare(b.name)));
      setCreating(false);
      setDone(t('admin.campaigns.create.done', { name: c.name }));
      setOpen(c.id);
      return null;
    } catch (err) {
      return adminFailure(err, 'creating a campaign');
    }
  };
  const current = campaigns?.find((c) => c.id === open) ?? null;

  if (!can('campaigns:manage')) return <p className="note">{t('admin.campaigns.readOnly')}</p>;
  return (
    <section aria-labelledby={`${id}-h`} className="account" data-testid="campaigns-section">
      <h2 id={`${id}-h`}>{t('admin.campaigns.heading')}</h2>
      <FailureMessage failure={failure} testid="campaigns-error" />
      {campaigns === null && !failure && <p className="note">{t('admin.common.loading')}</p>}
      {campaigns && campaigns.length === 0 && <p className="note">{t('admin.campaigns.none')}</p>}
      {campaigns && campaigns.length > 0 && (
        <table data-testid="campaigns-list">
          <caption className="visually-hidden">{t('admin.campaigns.list')}</caption>
          <thead><tr><th scope="col">{t('admin.campaigns.field.name')}</th><th scope="col">{t('admin.campaigns.didsHeader')}</th><th scope="col"><span className="visually-hidden">{t('admin.campaigns.edit', { name: '' })}</span></th></tr></thead>
          <tbody>
            {campaigns.map((c) => (
              <tr key={c.id} data-testid={`campaign-row-${c.name}`} data-disabled={c.disabled ? 'true' : 'false'}>
                <th scope="row">{c.name}{c.disabled && <span className="badge">{t('admin.campaigns.disabledBadge')}</span>}</th>
                <td>{c.dids.length === 0 ? t('admin.campaigns.didsCount', { count: 0 }) : c.dids.map((d, i) => <span key={d}>{i > 0 && ', '}<PhoneNumber value={d} /></span>)}</td>
                <td><button type="button" aria-expanded={open === c.id} data-testid={`campaign-open-${c.name}`} onClick={() => setOpen(open === c.id ? null : c.id)}>{t('admin.campaigns.edit', { name: c.name })}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {done && <p role="status" data-testid="campaign-create-done">{done}</p>}
      {current && <CampaignEditor key={current.id} campaign={current} others={(campaigns ?? []).filter((c) => c.id !== current.id)} call={call} onChanged={put} onClose={() => setOpen(null)} />}
      <div className="actions">
        <button type="button" aria-expanded={creating} onClick={() => setCreating((x) => !x)} data-testid="campaign-new">{t('admin.campaigns.newCampaign')}</button>
      </div>
      {/* hidden, not unmounted: what was typed survives closing and reopening */}
      <section hidden={!creating} aria-label={t('admin.campaigns.create.heading')}>
        <h3>{t('admin.campaigns.create.heading')}</h3>
        <CampaignForm initial={EMPTY} specialDates={{}} prefix="campaign-create" submitLabel={t('admin.campaigns.create.submit')} onSubmit={create} />
      </section>
      <QuickConnects call={call} />
    </section>
  );
}

function CampaignEditor({ campaign, others, call, onChanged, onClose }: {
  campaign: Campaign; others: Campaign[]; call: AdminCall; onChanged: (c: Campaign | null, was: string) => void; onClose: () => void;
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [admin, setAdmin] = useState<CampaignAdminView | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [saved, setSaved] = useState('');
  const [assigned, setAssigned] = useState<string[]>([]);
  const [q, setQ] = useState({ maxWait: '', maxSize: '', overflow: '' });
  const [rec, setRec] = useState({ mode: 'never', days: '' });
  const [ret, setRet] = useState({ calls: '', notes: '', customers: '' });
  const [confirm, setConfirm] = useState<'disable' | 'enable' | 'delete' | null>(null);
  const [busy, setBusy] = useState(false);
  const [names, addNames] = useUserNames(call, assigned);

  useEffect(() => {
    let live = true;
    call('campaignAdmin', { params: { id: campaign.id } }).then((a) => {
      if (!live) return;
      setAdmin(a);
      setAssigned(a.assignedUserIds);
      setQ({ maxWait: String(a.queue.maxWaitSeconds), maxSize: String(a.queue.maxSize), overflow: a.queue.overflowCampaignId ?? '' });
      setRec({ mode: a.recording.mode, days: str(a.recording.retentionDays) });
      setRet({ calls: str(a.retention.calls), notes: str(a.retention.notes), customers: str(a.retention.customers) });
    }, (err: unknown) => live && setFailure(adminFailure(err, 'loading a campaign')));
    return () => void (live = false);
  }, [call, campaign.id]);

  /** One save: the schema first, then the gateway; a failure keeps every field as typed. */
  const save = async (what: string, f: () => Promise<unknown>) => {
    setBusy(true);
    setSaved('');
    try {
      await f();
      setFailure(null);
      setSaved(t('admin.campaigns.editor.saved'));
    } catch (err) {
      setFailure(adminFailure(err, what));
    } finally {
      setBusy(false);
    }
  };
  const checked = <T,>(r: { ok: true; value: T } | { ok: false; failure: AdminFailure }): T | null => {
    if (r.ok) return r.value;
    setSaved('');
    setFailure(r.failure);
    return null;
  };
  const patch = async (raw: Record<string, unknown>): Promise<AdminFailure | null> => {
    const body = checkBody(CampaignPatchRequest, raw);
    if (!body.ok) return body.failure;
    try {
      onChanged(await call('patchCampaign', { params: { id: campaign.id }, body: body.value }), campaign.id);
      return null;
    } catch (err) {
      return adminFailure(err, 'changing a campaign');
    }
  };
  const onQueue = (e: FormEvent) => {
    e.preventDefault();
    const body = checked(checkBody(CampaignQueueSettings, { maxWaitSeconds: num(q.maxWait), maxSize: num(q.maxSize), overflowCampaignId: q.overflow || null }));
    if (body) void save('saving queue settings', () => call('putCampaignQueue', { params: { id: campaign.id }, body }));
  };
  const onRecording = (e: FormEvent) => {
    e.preventDefault();
    const body = checked(checkBody(RecordingSettings, { mode: rec.mode, retentionDays: num(rec.days) }));
    if (body) void save('saving recording settings', () => call('recordingSettings', { params: { id: campaign.id }, body }));
  };
  const onRetention = (e: FormEvent) => {
    e.preventDefault();
    const body = checked(checkBody(RetentionSettings, { calls: num(ret.calls), notes: num(ret.notes), customers: num(ret.customers) }));
    if (body) void save('saving retention', () => call('retentionSettings', { params: { id: campaign.id }, body }));
  };
  const onAssign = () => {
    const body = checked(checkBody(AssignmentsRequest, { userIds: assigned }));
    if (body) void save('saving assignments', () => call('setAssignments', { params: { id: campaign.id }, body }));
  };
  const onConfirm = async () => {
    const action = confirm;
    setBusy(true);
    try {
      if (action === 'delete') {
        await call('deleteCampaign', { params: { id: campaign.id } });
        setConfirm(null);
        onChanged(null, campaign.id);
        return;
      }
      const a = await call('setCampaignDisabled', { params: { id: campaign.id }, body: { disabled: action === 'disable' } });
      setAdmin(a);
      onChanged({ ...campaign, disabled: a.disabled }, campaign.id);
      setFailure(null);
      setConfirm(null);
    } catch (err) {
      setConfirm(null);
      setFailure(adminFailure(err, `campaign ${action}`));
    } finally {
      setBusy(false);
    }
  };
  const numInput = (label: string, value: string, onChange: (v: string) => void, testid: string) => (
    <div className="row">
      <label htmlFor={`${id}-${testid}`}>{label}</label>
      <input id={`${id}-${testid}`} type="number" inputMode="numeric" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testid} />
    </div>
  );

  return (
    <section className="account-section" aria-labelledby={`${id}-h`} data-testid="campaign-editor">
      <h3 id={`${id}-h`}>{t('admin.campaigns.editor.heading', { name: campaign.name })}</h3>
      <CampaignForm initial={fromView(campaign)} specialDates={campaign.hours.specialDates} prefix="campaign-edit" submitLabel={t('admin.campaigns.editor.save')} onSubmit={patch} />
      <FailureMessage failure={failure} testid="campaign-editor-error" inUseHint={t('admin.org.inUse.campaignHint')} />
      {saved && <p role="status" data-testid="campaign-editor-status">{saved}</p>}
      {admin && (
        <>
          <section aria-labelledby={`${id}-st`} data-testid="campaign-state">
            <h4 id={`${id}-st`}>{t('admin.campaigns.state.heading')}</h4>
            <p data-testid="campaign-state-text">{admin.disabled && admin.disabledAt ? t('admin.campaigns.state.disabled', { when: formatDateTime(admin.disabledAt, i18n.language) }) : t('admin.campaigns.state.enabled')}</p>
            <p className="note">{t('admin.campaigns.state.calls', { n: formatNumber(admin.callCount, i18n.language) })}</p>
            <div className="actions">
              {admin.disabled
                ? <button type="button" disabled={busy} onClick={() => setConfirm('enable')} data-testid="campaign-enable">{t('admin.campaigns.state.enable')}</button>
                : <button type="button" disabled={busy} onClick={() => setConfirm('disable')} data-testid="campaign-disable">{t('admin.campaigns.state.disable')}</button>}
              <button type="button" disabled={busy} onClick={() => setConfirm('delete')} data-testid="campaign-delete">{t('admin.campaigns.state.delete')}</button>
            </div>
          </section>
          <section aria-labelledby={`${id}-as`}>
            <h4 id={`${id}-as`}>{t('admin.campaigns.assignments.heading')}</h4>
            <UserPicker call={call} what={t('admin.campaigns.assignments.label')} selected={assigned} onChange={setAssigned} names={names} onNames={addNames} testid="campaign-assign" />
            <button type="button" disabled={busy} onClick={onAssign} data-testid="campaign-assignments-save">{t('admin.campaigns.assignments.save')}</button>
          </section>
          <form onSubmit={onQueue} aria-labelledby={`${id}-q`} noValidate>
            <h4 id={`${id}-q`}>{t('admin.campaigns.queue.heading')}</h4>
            {numInput(t('admin.campaigns.queue.maxWaitSeconds'), q.maxWait, (v) => setQ({ ...q, maxWait: v }), 'campaign-queue-max-wait')}
            {numInput(t('admin.campaigns.queue.maxSize'), q.maxSize, (v) => setQ({ ...q, maxSize: v }), 'campaign-queue-max-size')}
            <div className="row">
              <label htmlFor={`${id}-of`}>{t('admin.campaigns.queue.overflow')}</label>
              <select id={`${id}-of`} value={q.overflow} onChange={(e) => setQ({ ...q, overflow: e.target.value })} data-testid="campaign-queue-overflow">
                <option value="">{t('admin.campaigns.queue.overflowNone')}</option>
                {others.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
              </select>
            </div>
            <button type="submit" disabled={busy} data-testid="campaign-queue-save">{t('admin.campaigns.queue.save')}</button>
          </form>
          <form onSubmit={onRecording} aria-labelledby={`${id}-r`} noValidate>
            <h4 id={`${id}-r`}>{t('admin.campaigns.recording.heading')}</h4>
            <div className="row">
              <label htmlFor={`${id}-rm`}>{t('admin.campaigns.recording.mode')}</label>
              <select id={`${id}-rm`} value={rec.mode} onChange={(e) => setRec({ ...rec, mode: e.target.value })} data-testid="campaign-recording-mode">
                {RECORDING_MODES.map((m) => <option key={m} value={m}>{t(`admin.campaigns.recording.${m}`)}</option>)}
              </select>
            </div>
            {numInput(t('admin.campaigns.recording.retentionDays'), rec.days, (v) => setRec({ ...rec, days: v }), 'campaign-recording-days')}
            <button type="submit" disabled={busy} data-testid="campaign-recording-save">{t('admin.campaigns.recording.save')}</button>
          </form>
          <form onSubmit={onRetention} aria-labelledby={`${id}-rt`} noValidate>
            <h4 id={`${id}-rt`}>{t('admin.campaigns.retention.heading')}</h4>
            {numInput(t('admin.campaigns.retention.calls'), ret.calls, (v) => setRet({ ...ret, calls: v }), 'campaign-retention-calls')}
            {numInput(t('admin.campaigns.retention.notes'), ret.notes, (v) => setRet({ ...ret, notes: v }), 'campaign-retention-notes')}
            {numInput(t('admin.campaigns.retention.customers'), ret.customers, (v) => setRet({ ...ret, customers: v }), 'campaign-retention-customers')}
            <button type="submit" disabled={busy} data-testid="campaign-retention-save">{t('admin.campaigns.retention.save')}</button>
          </form>
        </>
      )}
      <div className="actions"><button type="button" onClick={onClose} data-testid="campaign-close">{t('admin.campaigns.editor.close')}</button></div>
      <ConfirmDialog
        open={confirm !== null}
        title={t(`admin.campaigns.state.${confirm ?? 'disable'}Title`, { name: campaign.name })}
        body={t(`admin.campaigns.state.${confirm ?? 'disable'}Body`)}
        onConfirm={() => void onConfirm()} onCancel={() => setConfirm(null)} busy={busy} testid="campaign-confirm"
      />
    </section>
  );
}
