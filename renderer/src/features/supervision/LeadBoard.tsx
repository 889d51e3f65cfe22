import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { agentPolicyOf, reasonLabel, useAgentStore } from '../phone/agent-store';
import { formatDuration, useNow } from '../../app/clock';
import type { SupervisionMode } from '../../../../shared/gateway/supervision';
import { useLeadSupervision } from './SupervisionClient';
import { useSupervisionStore } from './store';
import { QueueStatsPanel } from './QueueStatsPanel';
import { RecentRecordings } from '../recordings/RecordingLists';

const MODES: SupervisionMode[] = ['monitor', 'whisper', 'barge'];

/** The team lead's live board (pushed by the gateway) and the supervision controls. */
export function LeadBoard() {
  const { t, i18n } = useTranslation();
  const supervision = useLeadSupervision();
  // the org's not-ready reasons, to name an operator's reason in the lead's language
  const policy = useAgentStore(agentPolicyOf);
  useEffect(() => {
    if (!useAgentStore.getState().policy) void useAgentStore.getState().loadPolicy();
  }, []);
  const board = useSupervisionStore((s) => s.board);
  const lead = useSupervisionStore((s) => s.lead);
  const now = useNow();
  const active = lead && lead.status !== 'ended' && lead.status !== 'refused';

  return (
    <section className="card board" data-testid="lead-board" aria-labelledby="board-h">
      <h2 id="board-h">{t('supervision.board')}</h2>
      {board.operators.length === 0 && <p className="note">{t('supervision.empty')}</p>}
      <table>
        <thead>
          <tr>
            <th>{t('supervision.operator')}</th>
            <th>{t('supervision.state')}</th>
            <th>{t('supervision.registration')}</th>
            <th>{t('supervision.call')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {board.operators.map((o) => (
            <tr key={o.userId} data-testid="board-row" data-username={o.username} data-state={o.state} data-registration={o.registration ?? 'unknown'}>
              <td>{o.displayName}</td>
              <td>
                {t(`agent.state.${o.state}`)}
                {o.state === 'not_ready' && o.reason && <span data-testid="board-reason"> ({reasonLabel(t, i18n.language, policy, o.reason)})</span>}
                {o.since && <span className="timer"> {formatDuration(now - Date.parse(o.since))}</span>}
              </td>
              <td>{t(`supervision.reg.${o.registration ?? 'unknown'}`)}</td>
              <td data-testid="board-call">
                {o.call && (
                  <>
                    {o.call.campaignName ?? '—'} · {t(`supervision.direction.${o.call.direction}`)} · {formatDuration(now - Date.parse(o.call.since))}
                    {o.call.customerName && <> · <span data-testid="board-customer">{o.call.customerName}</span></>}
                  </>
                )}
              </td>
              <td>
                {o.call?.status === 'answered' && !active && (
                  <button type="button" data-testid={`monitor-${o.username}`} onClick={() => void supervision.startMonitor(o.call!.callId, o.userId)}>
                    {t('supervision.listen')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <RecentRecordings names={new Map(board.operators.map((o) => [o.userId, o.displayName]))} />
      {board.stats && <QueueStatsPanel stats={board.stats} names={new Map(board.operators.map((o) => [o.userId, o.displayName]))} />}
      {lead && (
        <div className="supervision" data-testid="supervision-panel" data-status={lead.status} data-mode={lead.mode} data-operator-connected={lead.operatorConnected ? 'true' : 'false'}>
          <p role="status">
            {t(`supervision.status.${lead.status}`)} · {t(`supervision.mode.${lead.mode}`)}
            {lead.error && <span className="error" data-testid="supervision-error"> {t(`supervision.error.${lead.error}`, { defaultValue: lead.error })}</span>}
          </p>
          {active && (
            <div role="group" aria-label={t('supervision.modes')}>
              {MODES.map((m) => (
                <button key={m} type="button" data-testid={`mode-${m}`} aria-pressed={lead.mode === m} disabled={lead.status === 'switching'} onClick={() => void supervision.switchMode(m)}>
                  {t(`supervision.mode.${m}`)}
                </button>
              ))}
            </div>
          )}
          <button type="button" data-testid="supervision-leave" onClick={() => void supervision.leave()}>
            {active ? t('supervision.leave') : t('supervision.close')}
          </button>
        </div>
      )}
    </section>
  );
}
