import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDuration, useNow } from '../../app/clock';
import { agentPolicyOf, reasonLabel, useAgentStore, type Availability } from './agent-store';
import { usePhoneStore } from './phone-store';
import { shortcutProps } from '../../app/shortcut-props';
import { WrapUpCountdown } from './WrapUpCountdown';
import { RaiseHand } from './RaiseHand';
import { formatTime } from '../../i18n/format';

/**
 * Where the operator stands, as the gateway says (view.agent, its reason or reason code), the
 * intents on their way (pending until the gateway answers), refusals and the gateway's notices,
 * all in the operator's language. With the gateway unreachable it says so instead of showing the
 * last state it knew. The buttons send intents; this panel never sets a state itself.
 * The state buttons are one group of toggles: the gateway's current state is the pressed one
 * (aria-pressed, and marked, not only coloured). The not-ready reasons are the org's
 * (policy agents.notReadyReasons, in the reader's language); in wrap-up the time left counts
 * down, with "extend" while the org allows it.
 */
export function AgentStatePanel() {
  const { t, i18n } = useTranslation();
  const view = useAgentStore((s) => s.view);
  const link = useAgentStore((s) => s.link);
  const pending = useAgentStore((s) => s.pending);
  const refusal = useAgentStore((s) => s.refusal);
  const notices = useAgentStore((s) => s.notices);
  const store = useAgentStore.getState;
  const localMicrophone = usePhoneStore((s) => s.microphone);
  const policy = useAgentStore(agentPolicyOf);
  const policyFailed = useAgentStore((s) => s.policyFailed);
  const saved = useAgentStore((s) => s.saved);
  const [chosen, setChosen] = useState<string | null>(null);
  const now = useNow();
  // the org's reasons and wrap-up policy: read when the gateway link is up (again after a reconnect)
  useEffect(() => {
    if (link === 'connected') void useAgentStore.getState().loadPolicy();
  }, [link]);

  const reachable = link === 'connected' && view !== null;
  const noMicrophone = localMicrophone === false || view?.microphone === false;
  const busy = view ? ['ringing', 'on_call', 'wrap_up'].includes(view.agent) : false;
  const availability = pending.find((p) => p.kind === 'setAvailability' || p.kind === 'finishWrapUp' || p.kind === 'extendWrapUp');
  const reasonText = view?.reasonCode
    ? t(`agent.reasonCode.${view.reasonCode}`)
    : view?.reason
      ? reasonLabel(t, i18n.language, policy, view.reason)
      : null;
  const codes = policy.notReadyReasons.map((r) => r.code);
  // the reason offered: the operator's pick while the org still lists it, else the current one, else the first
  const reason = chosen && codes.includes(chosen) ? chosen : view?.reason && codes.includes(view.reason) ? view.reason : codes[0]!;
  const current: Availability | null = reachable && (view.agent === 'ready' || view.agent === 'not_ready' || view.agent === 'break') ? view.agent : null;
  const choose = (state: Availability) => {
    // pressing the state already held does nothing (not ready with another reason changes the reason)
    if (state === current && (state !== 'not_ready' || view?.reason === reason)) return;
    void store().setAvailability(state, state === 'not_ready' ? reason : undefined);
  };
  const toggle = (state: Availability) => ({ 'aria-pressed': current === state, className: current === state ? 'agent-toggle selected' : 'agent-toggle' });
  const mark = (state: Availability) => (current === state ? <span aria-hidden="true">✓ </span> : null);
  const tone = !reachable ? 'bad' : view.agent === 'ready' ? 'ok' : view.agent === 'wrap_up' || view.agent === 'ringing' ? 'warn' : 'idle';

  return (
    <section className="card agent" data-testid="agent-panel" aria-labelledby="agent-h" tabIndex={-1} data-focus-home="4">
      {/* the heading's line also holds the raised hand (its own height: the panel's content does not move) */}
      <div className="agent-head">
        <h2 id="agent-h">{t('agent.heading')}</h2>
        <RaiseHand />
      </div>
      {reachable ? (
        <p className="agent-state" data-testid="agent-state" data-state={view.agent} data-reason={view.reasonCode ?? view.reason ?? ''} data-pending={availability ? 'true' : 'false'} data-confirmed={availability ? 'false' : 'true'}>
          <span className={`dot dot-${tone}`} aria-hidden="true" />
          {t(`agent.state.${view.agent}`)}
          {reasonText && ` (${reasonText})`}
          <span className="timer" data-testid="agent-timer">{formatDuration(now - view.since)}</span>
          {availability && (
            <span className="badge" data-testid="agent-pending">
              {availability.kind === 'extendWrapUp'
                ? t('agent.pendingExtend')
                : availability.kind === 'finishWrapUp' && !availability.state
                  ? t('agent.pendingWrapUp')
                  : t('agent.pendingTo', { state: t(`agent.state.${availability.state ?? 'ready'}`) })}
            </span>
          )}
        </p>
      ) : (
        <p className="agent-state error" role="status" data-testid="agent-state" data-state={link === 'connected' || link === 'connecting' ? 'connecting' : 'unreachable'}>
          <span className={`dot dot-${link === 'unreachable' ? 'bad' : 'idle'}`} aria-hidden="true" />
          {link === 'unreachable' ? t('agent.link.unreachable') : t('agent.link.connecting')}
        </p>
      )}
      {/* one line kept for the wrap-up (time left, extend) and what the last one saved: the panel's size never changes */}
      <div className="agent-wrapup-line">
        {reachable && <WrapUpCountdown extend short testId="agent-wrapup-countdown" />}
        <p aria-live="polite" className="note wrapup-saved" data-testid="wrapup-saved" data-call={saved?.callId ?? ''}>
          {saved && !busy
            ? t(saved.disposition ? 'notes.wrapUpSaved' : 'notes.wrapUpSavedNone', { time: formatTime(saved.at, i18n.language), disposition: saved.disposition })
            : ''}
        </p>
      </div>
      {noMicrophone && (
        <p className="note error" data-testid="agent-no-microphone">
          {t('agent.noMicrophone')}
        </p>
      )}
      {view?.locked && <p className="note" data-testid="agent-locked">{t('agent.lockedHint')}</p>}
      <div className="row agent-states" role="group" aria-label={t('agent.stateGroup')} data-testid="agent-states">
        <button
          type="button"
          data-testid="agent-ready"
          {...shortcutProps('ready')}
          {...toggle('ready')}
          disabled={(reachable && busy) || noMicrophone}
          aria-describedby={noMicrophone ? 'agent-nomic' : undefined}
          onClick={() => choose('ready')}
        >
          {mark('ready')}
          {t('agent.setReady')}
        </button>
        <span id="agent-nomic" hidden>
          {t('agent.noMicrophone')}
        </span>
        <select aria-label={t('agent.reasonLabel')} data-testid="agent-reason" value={reason} disabled={reachable && busy} onChange={(e) => setChosen(e.target.value)}>
          {policy.notReadyReasons.map((r) => (
            <option key={r.code} value={r.code}>
              {i18n.language === 'en' ? r.en : r.ja}
            </option>
          ))}
        </select>
        <button type="button" data-testid="agent-not-ready" {...shortcutProps('notReady')} {...toggle('not_ready')} disabled={reachable && busy} onClick={() => choose('not_ready')}>
          {mark('not_ready')}
          {t('agent.setNotReady')}
        </button>
        <button type="button" data-testid="agent-break" {...toggle('break')} disabled={reachable && busy} onClick={() => choose('break')}>
          {mark('break')}
          {t('agent.setBreak')}
        </button>
      </div>
      {policyFailed && (
        <p className="note" data-testid="agent-policy-failed">
          {t('agent.policyUnavailable')}
        </p>
      )}
      {refusal && (
        <p role="alert" className="error" data-testid="agent-refusal" data-refusal={refusal.refusal}>
          {t(`agent.refused.${refusal.refusal}`)}{' '}
          <button type="button" className="link-button" onClick={() => store().dismissRefusal()}>
            {t('agent.dismiss')}
          </button>
        </p>
      )}
      {notices.map((n) => (
        <p key={n.n} role="alert" className="note" data-testid="agent-notice" data-code={n.code}>
          {t(`agent.notice.${n.code}`)}{' '}
          <button type="button" className="link-button" onClick={() => store().dismissNotice(n.n)}>
            {t('agent.dismiss')}
          </button>
        </p>
      ))}
    </section>
  );
}
