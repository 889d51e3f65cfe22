// The org's quick connects (issue 18 item 6): names and numbers operators find in their transfer
// directory. Shown in the campaigns section (campaigns:manage, which the gateway checks); added
// and removed one at a time, each audited by the gateway. The body is checked with the schema
// the gateway parses with; what was typed stays when a save fails.
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { QuickConnectCreateRequest, type QuickConnectView } from '../../../../../shared/gateway/directory';
import { PhoneNumber } from '../../../app/PhoneNumber';
import { adminFailure } from '../admin-api';
import { checkBody, FailureMessage, type AdminCall, type AdminFailure } from './shared';

export function QuickConnects({ call }: { call: AdminCall }) {
  const { t } = useTranslation();
  const id = useId();
  const [list, setList] = useState<QuickConnectView[] | null>(null);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [name, setName] = useState('');
  const [number, setNumber] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setList((await call('listQuickConnects')).quickConnects);
    } catch (err) {
      setFailure(adminFailure(err, 'loading quick connects'));
    }
  }, [call]);
  useEffect(() => void load(), [load]);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const body = checkBody(QuickConnectCreateRequest, { name: name.trim(), number: number.trim() });
    if (!body.ok) return setFailure(body.failure);
    setBusy(true);
    try {
      const q = await call('createQuickConnect', { body: body.value });
      setList((l) => [...(l ?? []), q].sort((a, b) => a.name.localeCompare(b.name)));
      setName('');
      setNumber('');
      setFailure(null);
    } catch (err) {
      setFailure(adminFailure(err, 'adding a quick connect'));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (q: QuickConnectView) => {
    setBusy(true);
    try {
      await call('deleteQuickConnect', { params: { id: q.id } });
      setList((l) => (l ?? []).filter((x) => x.id !== q.id));
      setFailure(null);
    } catch (err) {
      setFailure(adminFailure(err, 'removing a quick connect'));
    } finally {
      setBusy(false);
    }
  };
  const invalid = (field: string) => (failure?.code === 'validation_failed' && failure.violations.includes(field) ? true : undefined);

  return (
    <section aria-labelledby={`${id}-h`} data-testid="quick-connects">
      <h3 id={`${id}-h`}>{t('admin.campaigns.quickConnects.heading')}</h3>
      <p className="note">{t('admin.campaigns.quickConnects.intro')}</p>
      {list && list.length === 0 && <p className="note">{t('admin.campaigns.quickConnects.none')}</p>}
      {list && list.length > 0 && (
        <ul className="quick-connects" data-testid="quick-connect-list">
          {list.map((q) => (
            <li key={q.id} data-testid="quick-connect">
              <span>{q.name}</span> <PhoneNumber value={q.number} />{' '}
              <button type="button" disabled={busy} onClick={() => void remove(q)} data-testid={`quick-connect-remove-${q.name}`}>
                {t('admin.campaigns.quickConnects.remove', { name: q.name })}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} noValidate className="row" data-testid="quick-connect-form">
        <label htmlFor={`${id}-n`}>{t('admin.campaigns.quickConnects.name')}</label>
        <input id={`${id}-n`} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={invalid('name')} data-testid="quick-connect-name" />
        <label htmlFor={`${id}-p`}>{t('admin.campaigns.quickConnects.number')}</label>
        <input id={`${id}-p`} inputMode="tel" value={number} onChange={(e) => setNumber(e.target.value)} aria-invalid={invalid('number')} data-testid="quick-connect-number" />
        <button type="submit" disabled={busy} data-testid="quick-connect-add">{t('admin.campaigns.quickConnects.add')}</button>
      </form>
      <FailureMessage failure={failure} testid="quick-connect-error" />
    </section>
  );
}
