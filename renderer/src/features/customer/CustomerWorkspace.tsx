// The customer workspace (issue 18 item 1): search the customers of the operator's campaigns,
// open one, register a new one (the unknown caller of the call in focus, prefilled) and edit
// within scope. The gateway decides the scope of every call (server/crm/scope.ts); input is
// checked here with the same zod contract the gateway applies, so a mistake is shown at its
// field before anything is sent, and what the operator typed is never lost on a failure.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CustomerCreateRequest, CustomerPatchRequest, type CampaignView, type CustomerView } from '../../../../shared/gateway/crm';
import { GatewayCallError } from '../../../../shared/gateway-client';
import { PhoneNumber } from '../../app/PhoneNumber';
import { userDataGeneration } from '../../app/user-data';
import { logFailure } from '../../log';
import { campaignsInScope, createCustomer, patchCustomer, searchCustomers } from './customer-api';
import { useWorkspaceStore } from './workspace-store';

type Field = 'nameKanji' | 'nameKana' | 'phones' | 'email' | 'campaignId' | 'fields';
const FIELDS: readonly Field[] = ['nameKanji', 'nameKana', 'phones', 'email', 'campaignId', 'fields'];

/** Phone numbers as typed: separated by commas (ASCII or Japanese), semicolons or new lines. */
export function splitPhones(text: string): string[] {
  return text
    .split(/[,、，;；\n]+/)
    .map((p) => p.trim())
    .filter(Boolean);
}

function failureKey(err: unknown): 'unreachable' | 'forbidden' | 'not_found' | 'other' {
  if (err instanceof GatewayCallError && (err.code === 'unreachable' || err.code === 'forbidden' || err.code === 'not_found')) return err.code;
  return 'other';
}

/**
 * Create (no `customer`) or edit (`customer`) a customer. `prefill`: the caller's number and
 * campaign when registering the caller of a call. `onSaved` gets the gateway's view.
 */
export function CustomerForm({
  customer,
  prefill,
  onSaved,
  onCancel,
}: {
  customer?: CustomerView;
  prefill?: { phone?: string; campaignId?: string | null };
  onSaved: (c: CustomerView) => void | Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const editing = customer !== undefined;
  const [nameKanji, setNameKanji] = useState(customer?.nameKanji ?? '');
  const [nameKana, setNameKana] = useState(customer?.nameKana ?? '');
  const [phones, setPhones] = useState(customer ? customer.phones.join(', ') : (prefill?.phone ?? ''));
  const [email, setEmail] = useState(customer?.email ?? '');
  const [campaignId, setCampaignId] = useState(prefill?.campaignId ?? '');
  const [campaigns, setCampaigns] = useState<CampaignView[] | null>(null);
  const [problems, setProblems] = useState<Field[]>([]);
  const [failure, setFailure] = useState<ReturnType<typeof failureKey> | null>(null);
  const [saving, setSaving] = useState(false);
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => {
    first.current?.focus();
    if (editing) return;
    let live = true;
    campaignsInScope().then(
      (list) => {
        if (!live) return;
        setCampaigns(list);
        if (!campaignId && list.length === 1) setCampaignId(list[0]!.id);
      },
      (err) => {
        logFailure('listing the campaigns for a new customer', err);
        if (live) setCampaigns([]);
      },
    );
    return () => {
      live = false;
    };
    // the campaigns are read once, when the form opens
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (saving) return;
    setFailure(null);
    const common = { nameKanji: nameKanji.trim(), nameKana: nameKana.trim(), phones: splitPhones(phones), email: email.trim() || null };
    const parsed = editing ? CustomerPatchRequest.safeParse(common) : CustomerCreateRequest.safeParse({ ...common, campaignId });
    if (!parsed.success) {
      const wrong = new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '')));
      setProblems(FIELDS.filter((f) => wrong.has(f)));
      return;
    }
    setProblems([]);
    setSaving(true);
    const generation = userDataGeneration();
    try {
      const saved = editing ? await patchCustomer(customer.id, common) : await createCustomer({ ...common, campaignId });
      // the session ended while saving: the next user never sees this customer
      if (generation !== userDataGeneration()) return;
      await onSaved(saved);
    } catch (err) {
      logFailure(editing ? 'saving a customer' : 'registering a customer', err);
      if (generation === userDataGeneration()) setFailure(failureKey(err));
    } finally {
      setSaving(false);
    }
  };

  const field = (f: Field) => ({
    'aria-invalid': problems.includes(f) ? ('true' as const) : undefined,
    'aria-describedby': problems.includes(f) ? `${id}-${f}-problem` : undefined,
  });
  const problem = (f: Field) =>
    problems.includes(f) && (
      <p id={`${id}-${f}-problem`} className="error field-problem" data-testid={`customer-form-problem-${f}`}>
        {t(`workspace.form.invalid.${f}`)}
      </p>
    );

  return (
    <form className="customer-form sensitive" data-testid="customer-form" data-mode={editing ? 'edit' : 'create'} aria-labelledby={`${id}-h`} onSubmit={(e) => void submit(e)} noValidate>
      <h3 id={`${id}-h`}>{editing ? t('workspace.form.editHeading') : t('workspace.form.createHeading')}</h3>
      {!editing && (
        <>
          <label htmlFor={`${id}-campaign`}>{t('workspace.form.campaign')}</label>
          <select id={`${id}-campaign`} data-testid="customer-form-campaign" value={campaignId} onChange={(e) => setCampaignId(e.target.value)} {...field('campaignId')}>
            <option value="">{t('workspace.form.chooseCampaign')}</option>
            {(campaigns ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          {problem('campaignId')}
        </>
      )}
      <label htmlFor={`${id}-kanji`}>{t('workspace.form.nameKanji')}</label>
      <input ref={first} id={`${id}-kanji`} data-testid="customer-form-kanji" value={nameKanji} onChange={(e) => setNameKanji(e.target.value)} autoComplete="off" {...field('nameKanji')} />
      {problem('nameKanji')}
      <label htmlFor={`${id}-kana`}>{t('workspace.form.nameKana')}</label>
      <input id={`${id}-kana`} data-testid="customer-form-kana" value={nameKana} onChange={(e) => setNameKana(e.target.value)} autoComplete="off" {...field('nameKana')} />
      {problem('nameKana')}
      <label htmlFor={`${id}-phones`}>{t('workspace.form.phones')}</label>
      <input id={`${id}-phones`} data-testid="customer-form-phones" value={phones} onChange={(e) => setPhones(e.target.value)} inputMode="tel" autoComplete="off" {...field('phones')} />
      {problem('phones')}
      <label htmlFor={`${id}-email`}>{t('workspace.form.email')}</label>
      <input id={`${id}-email`} data-testid="customer-form-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" {...field('email')} />
      {problem('email')}
      {problem('fields')}
      {failure && (
        <p role="alert" className="error" data-testid="customer-form-failed" data-failure={failure}>
          {t(`workspace.form.failed.${failure}`)}
        </p>
      )}
      <div className="row">
        <button type="submit" data-testid="customer-form-save" disabled={saving}>
          {saving ? t('workspace.form.saving') : t('workspace.form.save')}
        </button>
        <button type="button" className="secondary" data-testid="customer-form-cancel" onClick={onCancel}>
          {t('workspace.form.cancel')}
        </button>
      </div>
    </form>
  );
}

/** A customer's details as the card shows them (name, kana, phones, email, fields). */
export function CustomerDetails({ customer }: { customer: CustomerView }) {
  const { t } = useTranslation();
  return (
    <>
      <p className="kana">{customer.nameKana}</p>
      <dl>
        <dt>{t('customer.phones')}</dt>
        <dd data-testid="customer-phones">
          {customer.phones.map((p, i) => (
            <span key={p}>
              {i > 0 && ', '}
              <PhoneNumber value={p} testid="customer-phone" />
            </span>
          ))}
        </dd>
        {customer.email && (
          <>
            <dt>{t('customer.email')}</dt>
            <dd>{customer.email}</dd>
          </>
        )}
        {Object.entries(customer.fields).map(([k, v]) => (
          <div key={k} className="field">
            <dt>{k}</dt>
            <dd>{String(v)}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

/**
 * Search (a name prefix in kanji or kana, or a phone number), the results, the customer opened
 * from them (with edit), and "New customer". Below the call's card in the centre column.
 */
export function CustomerSearch() {
  const { t } = useTranslation();
  const id = useId();
  const query = useWorkspaceStore((s) => s.query);
  const status = useWorkspaceStore((s) => s.status);
  const results = useWorkspaceStore((s) => s.results);
  const opened = useWorkspaceStore((s) => s.opened);
  const [searched, setSearched] = useState('');
  const [mode, setMode] = useState<'view' | 'edit' | 'create'>('view');
  const [saved, setSaved] = useState<string | null>(null);
  const set = useWorkspaceStore.setState;

  const search = async (e: FormEvent) => {
    e.preventDefault();
    const q = query.trim();
    if (!q) return;
    setSearched(q);
    setSaved(null);
    set({ status: 'searching', opened: null });
    const generation = userDataGeneration();
    try {
      const found = await searchCustomers(q);
      if (generation === userDataGeneration()) set({ status: 'done', results: found });
    } catch (err) {
      logFailure('searching customers', err);
      if (generation === userDataGeneration()) set({ status: 'failed', results: [] });
    }
  };

  return (
    <section className="card customer-search" data-testid="customer-search" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`} className="sr-only">
        {t('workspace.searchLabel')}
      </h2>
      <form role="search" className="search-row" aria-label={t('workspace.searchLabel')} onSubmit={(e) => void search(e)}>
        <input
          type="search"
          data-testid="customer-search-input"
          aria-label={t('workspace.searchLabel')}
          placeholder={t('workspace.searchPlaceholder')}
          value={query}
          maxLength={100}
          onChange={(e) => set({ query: e.target.value })}
        />
        <button type="submit" data-testid="customer-search-submit" disabled={!query.trim() || status === 'searching'}>
          {t('workspace.search')}
        </button>
        <button
          type="button"
          className="secondary"
          data-testid="customer-new"
          onClick={() => {
            setSaved(null);
            setMode('create');
          }}
        >
          {t('workspace.newCustomer')}
        </button>
      </form>
      <p className="note" aria-live="polite" data-testid="customer-search-status">
        {status === 'searching' ? t('workspace.searching') : status === 'done' ? (results.length === 0 ? t('workspace.noResults', { q: searched }) : t('workspace.results', { count: results.length })) : saved}
      </p>
      {status === 'failed' && (
        <p role="alert" className="error" data-testid="customer-search-failed">
          {t('workspace.searchFailed')}
        </p>
      )}
      {mode === 'create' && (
        <CustomerForm
          onCancel={() => setMode('view')}
          onSaved={(c) => {
            setMode('view');
            setSaved(t('workspace.form.created', { name: c.nameKanji }));
            set({ opened: c, status: 'idle', results: [] });
          }}
        />
      )}
      {results.length > 0 && !opened && (
        <ul className="customer-results sensitive" data-testid="customer-results">
          {results.map((c) => (
            <li key={c.id}>
              <button type="button" className="link-button" data-testid="customer-result" aria-label={t('workspace.open', { name: c.nameKanji })} onClick={() => set({ opened: c })}>
                {c.nameKanji}
              </button>{' '}
              <span className="note">{c.nameKana}</span> {c.phones[0] && <PhoneNumber value={c.phones[0]} />}
            </li>
          ))}
        </ul>
      )}
      {opened && (
        <div className="customer-opened sensitive" data-testid="customer-opened" data-customer-id={opened.id}>
          {mode === 'edit' ? (
            <CustomerForm
              customer={opened}
              onCancel={() => setMode('view')}
              onSaved={(c) => {
                setMode('view');
                setSaved(t('workspace.form.updated', { name: c.nameKanji }));
                set((s) => ({ status: 'idle', opened: c, results: s.results.map((r) => (r.id === c.id ? c : r)) }));
              }}
            />
          ) : (
            <>
              <h3 data-testid="customer-opened-name">{opened.nameKanji}</h3>
              <CustomerDetails customer={opened} />
              <div className="row">
                <button type="button" data-testid="customer-edit" onClick={() => setMode('edit')}>
                  {t('workspace.edit')}
                </button>
                <button type="button" className="secondary" data-testid="customer-opened-close" onClick={() => set({ opened: null })}>
                  {t('workspace.close')}
                </button>
              </div>
            </>
          )}
        </div>
      )}
    </section>
  );
}
