import { useLayoutEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useAgentStore } from '../phone/agent-store';
import { useCustomerStore } from './store';
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
  if (pop.status !== 'ready' || pop.pop.customers.length === 0) {
    const blocked = pop.status === 'ready' && pop.pop.blocked;
    return (
      <section className="card customer sensitive" data-testid="customer-card" data-status="unknown" aria-labelledby="cust-h">
        <h2 id="cust-h">{t('customer.unknown')}</h2>
        <p className="note">{focus.remote ? <PhoneNumber value={focus.remote} testid="customer-remote" /> : t('phone.anonymous')}</p>
        {blocked && <p className="error" data-testid="customer-blocked">{t('customer.blocked')}</p>}
        {pop.status === 'ready' && pop.pop.campaign && <p data-testid="customer-campaign">{pop.pop.campaign.name}</p>}
      </section>
    );
  }
  const { customers, campaign, recentCalls, openNotes, blocked } = pop.pop;
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
      {customers.map((c) => (
        <div key={c.id} className="customer-entry" data-testid="customer-entry" data-customer-id={c.id}>
          <h2 id="cust-h" data-testid="customer-name">
            {c.nameKanji}
          </h2>
          <p className="kana">{c.nameKana}</p>
          <dl>
            <dt>{t('customer.phones')}</dt>
            <dd data-testid="customer-phones">
              {c.phones.map((p, i) => (
                <span key={p}>
                  {i > 0 && ', '}
                  <PhoneNumber value={p} testid="customer-phone" />
                </span>
              ))}
            </dd>
            {c.email && (
              <>
                <dt>{t('customer.email')}</dt>
                <dd>{c.email}</dd>
              </>
            )}
            {Object.entries(c.fields).map(([k, v]) => (
              <div key={k} className="field">
                <dt>{k}</dt>
                <dd>{String(v)}</dd>
              </div>
            ))}
          </dl>
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
              <li key={n.id}>{n.body}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
