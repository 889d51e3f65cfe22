import { useLayoutEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAgentStore } from '../phone/agent-store';
import { setPop, useCustomerStore } from './store';
import { CustomerDetails, CustomerForm } from './CustomerWorkspace';
import { linkCall } from './customer-api';
import { logFailure } from '../../log';
import type { CustomerView, NoteView, ScreenPopResponse } from '../../../../shared/gateway/crm';
import { NoteText } from './NoteEdit';
import { storedOf } from './note-edit-api';
import { liveCalls, usePhoneStore } from '../phone/phone-store';
import { CustomerCallHistory } from '../recordings/RecordingLists';
import { PhoneNumber } from '../../app/PhoneNumber';

/**
 * The call the customer views are about: the live customer call (inbound or outbound, not a
 * consultation leg), else the one the gateway has in wrap-up (view.wrapUp), else none: a
 * wrap-up the gateway closed takes its customer off the screen.
 */
export function useFocusCall(): { sipCallId: string; id: string | null; remote: string } | null {
  const calls = usePhoneStore((s) => s.calls);
  const wrapUpCallId = useAgentStore((s) => s.view?.wrapUp?.callId ?? null);
  const live = liveCalls(calls).find((c) => !c.consultFor);
  if (live) return { sipCallId: live.sipCallId, id: live.id, remote: live.remote };
  if (wrapUpCallId) {
    const c = calls.find((x) => x.sipCallId === wrapUpCallId);
    return { sipCallId: wrapUpCallId, id: c?.id ?? null, remote: c?.remote ?? '' };
  }
  return null;
}

/** The screen pop: who is calling, painted in the same commit as the ringing panel. */
export function CustomerCard() {
  const { t } = useTranslation();
  const focus = useFocusCall();
  const pop = useCustomerStore((s) => (focus ? s.pops[focus.sipCallId] : undefined));
  const callId = focus?.id ?? null;
  const status = pop?.status ?? 'none';
  // registering the unknown caller, or editing one of the card's customers (its id)
  const [editing, setEditing] = useState<'new' | string | null>(null);
  const [saved, setSaved] = useState<{ text: string; linkFailed: boolean } | null>(null);

  useLayoutEffect(() => {
    if (!callId || status === 'none') return;
    // the frame's own time (the same for everything painted in that frame), not when this callback ran
    const id = requestAnimationFrame((frame) => performance.mark(`koe:card-painted:${callId}`, { startTime: frame }));
    return () => cancelAnimationFrame(id);
  }, [callId, status]);

  if (!focus || !pop) return null;
  if (pop.status === 'loading') {
    return (
      <section className="card customer sensitive skeleton" data-testid="customer-card" data-status="loading" aria-busy="true">
        <h2>{t('customer.loading')}</h2>
      </section>
    );
  }
  const sipCallId = focus.sipCallId;
  /** The card's pop with these customers: what the screen pop would now return. */
  const withCustomers = (customers: CustomerView[]): ScreenPopResponse => {
    const base: ScreenPopResponse = pop.status === 'ready' ? pop.pop : { status: 'unknown', blocked: false, campaign: null, customers: [], recentCalls: [], openNotes: [] };
    return { ...base, status: 'known', customers };
  };
  const confirmation = saved && (
    <p className="note" data-testid="customer-saved">
      {saved.text}
      {saved.linkFailed && (
        <span role="alert" className="error" data-testid="customer-link-failed">
          {' '}
          {t('workspace.form.linkFailed')}
        </span>
      )}
    </p>
  );
  if (pop.status !== 'ready' || pop.pop.customers.length === 0) {
    const blocked = pop.status === 'ready' && pop.pop.blocked;
    const campaignId = pop.status === 'ready' ? (pop.pop.campaign?.id ?? null) : null;
    return (
      <section className="card customer sensitive" data-testid="customer-card" data-status="unknown" aria-labelledby="cust-h">
        <h2 id="cust-h">{t('customer.unknown')}</h2>
        <p className="note">{focus.remote ? <PhoneNumber value={focus.remote} testid="customer-remote" /> : t('phone.anonymous')}</p>
        {blocked && <p className="error" data-testid="customer-blocked">{t('customer.blocked')}</p>}
        {pop.status === 'ready' && pop.pop.campaign && <p data-testid="customer-campaign">{pop.pop.campaign.name}</p>}
        {/* a blocked number is not a customer to register */}
        {!blocked &&
          (editing === 'new' ? (
            <CustomerForm
              prefill={{ phone: focus.remote, campaignId }}
              onCancel={() => setEditing(null)}
              onSaved={async (c) => {
                // the call's record follows (history, notes); the card shows the customer at once
                let linkFailed = false;
                try {
                  await linkCall(sipCallId, c.id);
                } catch (err) {
                  logFailure('linking the call to the new customer', err);
                  linkFailed = true;
                }
                setEditing(null);
                setSaved({ text: t('workspace.form.created', { name: c.nameKanji }), linkFailed });
                setPop(sipCallId, { status: 'ready', pop: withCustomers([c]) });
              }}
            />
          ) : (
            <button type="button" data-testid="customer-register" onClick={() => setEditing('new')}>
              {t('workspace.registerCaller')}
            </button>
          ))}
      </section>
    );
  }
  const { customers, campaign, recentCalls, openNotes, blocked } = pop.pop;
  /** One of the open notes was edited (its author, within the org's policy): the card shows the gateway's text. */
  const noteChanged = (view: NoteView) => {
    const now = useCustomerStore.getState().pops[sipCallId];
    if (now?.status === 'ready') setPop(sipCallId, { status: 'ready', pop: { ...now.pop, openNotes: now.pop.openNotes.map((n) => (n.id === view.id ? view : n)) } });
  };
  return (
    <section className="card customer sensitive" data-testid="customer-card" data-status="known" aria-labelledby="cust-h">
      {campaign && (
        <p className="note" data-testid="customer-campaign">
          {campaign.name}
          {!campaign.openNow && <span className="badge">{t('customer.closedNow')}</span>}
        </p>
      )}
      {blocked && <p className="error" data-testid="customer-blocked">{t('customer.blocked')}</p>}
      {customers.length > 1 && <p className="note">{t('customer.several', { count: customers.length })}</p>}
      {confirmation}
      {customers.map((c) => (
        <div key={c.id} className="customer-entry" data-testid="customer-entry" data-customer-id={c.id}>
          <h2 id="cust-h" data-testid="customer-name">
            {c.nameKanji}
          </h2>
          {editing === c.id ? (
            <CustomerForm
              customer={c}
              onCancel={() => setEditing(null)}
              onSaved={(updated) => {
                setEditing(null);
                setSaved({ text: t('workspace.form.updated', { name: updated.nameKanji }), linkFailed: false });
                setPop(sipCallId, { status: 'ready', pop: withCustomers(customers.map((x) => (x.id === updated.id ? updated : x))) });
              }}
            />
          ) : (
            <>
              <CustomerDetails customer={c} />
              <button type="button" className="secondary" data-testid="customer-card-edit" onClick={() => setEditing(c.id)}>
                {t('workspace.edit')}
              </button>
            </>
          )}
        </div>
      ))}
      {recentCalls.length > 0 && (
        <>
          <h3>{t('customer.recentCalls')}</h3>
          {/* a play button on each call with a recording (recordings:play only): features/recordings */}
          <CustomerCallHistory customerId={customers.length === 1 ? customers[0]!.id : null} calls={recentCalls} />
        </>
      )}
      {openNotes.length > 0 && (
        <>
          <h3>{t('customer.openNotes')}</h3>
          <ul data-testid="customer-notes">
            {openNotes.map((n) => (
              <li key={n.id} data-testid="customer-note">
                <NoteText note={{ ...storedOf(n), body: n.body }} onChanged={noteChanged} />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
