import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAgentStore } from '../../stores/agent';
import { useCustomerStore } from '../../stores/customer';

const REASONS = ['meeting', 'training', 'callback', 'other'] as const;

function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Ready / not ready (with a reason) / break / wrap-up: shown and set here, kept by main. */
export function AgentStatePanel() {
  const { t } = useTranslation();
  const agent = useAgentStore((s) => s.agent);
  const setState = useAgentStore((s) => s.set);
  const wrapUp = useCustomerStore((s) => s.wrapUp);
  const [reason, setReason] = useState<(typeof REASONS)[number]>('meeting');
  const now = useNow();
  const since = agent.state === 'wrap_up' && wrapUp ? wrapUp.startedAt : agent.since;

  return (
    <section className="card agent" data-testid="agent-panel" aria-labelledby="agent-h">
      <h2 id="agent-h">{t('agent.heading')}</h2>
      <p className="agent-state" data-testid="agent-state" data-state={agent.state} data-confirmed={agent.confirmed ? 'true' : 'false'}>
        <span className={`dot dot-${agent.state === 'ready' ? 'ok' : agent.state === 'wrap_up' ? 'warn' : 'idle'}`} aria-hidden="true" />
        {t(`agent.state.${agent.state}`)}
        {agent.reason && ` (${t(`agent.reason.${agent.reason}`, { defaultValue: agent.reason })})`}
        {since !== null && <span className="timer" data-testid="agent-timer">{formatDuration(now - since)}</span>}
        {!agent.confirmed && <span className="badge">{t('agent.sending')}</span>}
      </p>
      <div className="row">
        <button type="button" data-testid="agent-ready" disabled={agent.state === 'ready' || agent.state === 'wrap_up'} onClick={() => void setState('ready')}>
          {t('agent.setReady')}
        </button>
        <select aria-label={t('agent.reasonLabel')} value={reason} onChange={(e) => setReason(e.target.value as (typeof REASONS)[number])}>
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {t(`agent.reason.${r}`)}
            </option>
          ))}
        </select>
        <button type="button" data-testid="agent-not-ready" onClick={() => void setState('not_ready', reason)}>
          {t('agent.setNotReady')}
        </button>
        <button type="button" data-testid="agent-break" onClick={() => void setState('break')}>
          {t('agent.setBreak')}
        </button>
      </div>
    </section>
  );
}
