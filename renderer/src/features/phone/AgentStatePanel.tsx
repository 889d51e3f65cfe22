import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDuration, useNow } from '../../app/clock';
import { useAgentStore } from './agent-store';
import { usePhoneStore } from './phone-store';
import { shortcutProps } from '../../app/shortcut-props';

const REASONS = ['meeting', 'training', 'callback', 'other'] as const;

/**
 * Where the operator stands, as the gateway says (view.agent, its reason or reason code), the
 * intents on their way (pending until the gateway answers), refusals and the gateway's notices,
 * all in the operator's language. With the gateway unreachable it says so instead of showing the
 * last state it knew. The buttons send intents; this panel never sets a state itself.
 */
export function AgentStatePanel() {
  const { t } = useTranslation();
  const view = useAgentStore((s) => s.view);
  const link = useAgentStore((s) => s.link);
  const pending = useAgentStore((s) => s.pending);
  const refusal = useAgentStore((s) => s.refusal);
  const notices = useAgentStore((s) => s.notices);
  const store = useAgentStore.getState;
  const localMicrophone = usePhoneStore((s) => s.microphone);
  const [reason, setReason] = useState<(typeof REASONS)[number]>('meeting');
  const now = useNow();

  const reachable = link === 'connected' && view !== null;
  const noMicrophone = localMicrophone === false || view?.microphone === false;
  const busy = view ? ['ringing', 'on_call', 'wrap_up'].includes(view.agent) : false;
  const availability = pending.find((p) => p.kind === 'setAvailability' || p.kind === 'finishWrapUp');
  const reasonText = view?.reasonCode
    ? t(`agent.reasonCode.${view.reasonCode}`)
    : view?.reason
      ? t(`agent.reason.${view.reason}`, { defaultValue: view.reason })
      : null;
  const tone = !reachable ? 'bad' : view.agent === 'ready' ? 'ok' : view.agent === 'wrap_up' || view.agent === 'ringing' ? 'warn' : 'idle';

  return (
    <section className="card agent" data-testid="agent-panel" aria-labelledby="agent-h" tabIndex={-1} data-focus-home="4">
      <h2 id="agent-h">{t('agent.heading')}</h2>
      {reachable ? (
        <p className="agent-state" data-testid="agent-state" data-state={view.agent} data-reason={view.reasonCode ?? view.reason ?? ''} data-pending={availability ? 'true' : 'false'} data-confirmed={availability ? 'false' : 'true'}>
          <span className={`dot dot-${tone}`} aria-hidden="true" />
          {t(`agent.state.${view.agent}`)}
          {reasonText && ` (${reasonText})`}
          <span className="timer" data-testid="agent-timer">{formatDuration(now - view.since)}</span>
          {availability && (
            <span className="badge" data-testid="agent-pending">
              {availability.kind === 'finishWrapUp' && !availability.state
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
      {noMicrophone && (
        <p className="note error" data-testid="agent-no-microphone">
          {t('agent.noMicrophone')}
        </p>
      )}
      {view?.locked && <p className="note" data-testid="agent-locked">{t('agent.lockedHint')}</p>}
      <div className="row">
        <button
          type="button"
          data-testid="agent-ready"
          {...shortcutProps('ready')}
          disabled={(reachable && (view.agent === 'ready' || busy)) || noMicrophone}
          aria-describedby={noMicrophone ? 'agent-nomic' : undefined}
          onClick={() => void store().setAvailability('ready')}
        >
          {t('agent.setReady')}
        </button>
        <span id="agent-nomic" hidden>
          {t('agent.noMicrophone')}
        </span>
        <select aria-label={t('agent.reasonLabel')} value={reason} onChange={(e) => setReason(e.target.value as (typeof REASONS)[number])}>
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {t(`agent.reason.${r}`)}
            </option>
          ))}
        </select>
        <button type="button" data-testid="agent-not-ready" {...shortcutProps('notReady')} disabled={reachable && busy} onClick={() => void store().setAvailability('not_ready', reason)}>
          {t('agent.setNotReady')}
        </button>
        <button type="button" data-testid="agent-break" disabled={reachable && busy} onClick={() => void store().setAvailability('break')}>
          {t('agent.setBreak')}
        </button>
      </div>
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
