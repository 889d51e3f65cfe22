// The queues and today's figures on the lead's board (issue 15): pushed by the gateway
// (boardStats, server/supervision/board-stats.ts) into the board state main keeps. Numbers and
// durations in the display language's formats (ja: 1,234 / 85% / 1分05秒; en: 1,234 / 85% / 1 min 5 s).
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useNow } from '../../app/clock';
import { spokenDuration } from '../../app/spoken-duration';
import { formatNumber, formatPercent, formatTime } from '../../i18n/format';
import type { QueueStats } from '../../../../shared/gateway/queue-stats';
import { AGENT_STATES } from '../../../../shared/rules/operator-model';


export function QueueStatsPanel({ stats, names }: { stats: QueueStats; names: Map<string, string> }) {
  const { t, i18n } = useTranslation();
  const now = useNow();
  // the wait as the gateway measured it, counted on with this PC's clock since these figures came
  // (the two clocks need not agree)
  const receivedAt = useMemo(() => Date.now(), [stats]);
  const none = t('supervision.stats.none');
  return (
    <div className="queue-stats" data-testid="queue-stats">
      <h3>{t('supervision.stats.queues')}</h3>
      <table>
        <thead>
          <tr>
            <th>{t('supervision.stats.campaign')}</th>
            <th>{t('supervision.stats.waiting')}</th>
            <th>{t('supervision.stats.longestWait')}</th>
            <th>{t('supervision.stats.offered')}</th>
            <th>{t('supervision.stats.answered')}</th>
            <th>{t('supervision.stats.abandoned')}</th>
            <th>{t('supervision.stats.serviceLevel')}</th>
            <th>{t('supervision.stats.aht')}</th>
          </tr>
        </thead>
        <tbody>
          {stats.campaigns.map((c) => (
            <tr key={c.campaignId} data-testid="queue-row" data-campaign={c.name}>
              <td>{c.name}</td>
              <td data-testid="q-waiting">{formatNumber(c.waiting, i18n.language)}</td>
              <td data-testid="q-longest">{c.oldestWaitingSince === null ? none : spokenDuration(t, (stats.at - c.oldestWaitingSince + Math.max(0, now - receivedAt)) / 1000)}</td>
              <td data-testid="q-offered">{formatNumber(c.offered, i18n.language)}</td>
              <td data-testid="q-answered">{formatNumber(c.answered, i18n.language)}</td>
              <td data-testid="q-abandoned">{formatNumber(c.abandoned, i18n.language)}</td>
              <td data-testid="q-sl" title={t('supervision.stats.serviceLevelTarget', { seconds: c.targetSeconds })}>
                {c.serviceLevel === null ? none : formatPercent(c.serviceLevel, i18n.language)}
              </td>
              <td data-testid="q-aht">{c.averageHandleSeconds === null ? none : spokenDuration(t, c.averageHandleSeconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t('supervision.stats.operators')}</h3>
      <table>
        <thead>
          <tr>
            <th>{t('supervision.operator')}</th>
            <th>{t('supervision.stats.calls')}</th>
            <th>{t('supervision.stats.missed')}</th>
            <th>{t('supervision.stats.handle')}</th>
            <th>{t('supervision.stats.states')}</th>
          </tr>
        </thead>
        <tbody>
          {stats.operators.map((o) => (
            <tr key={o.userId} data-testid="op-stats-row" data-user={o.userId}>
              <td>{names.get(o.userId) ?? none}</td>
              <td data-testid="o-calls">{formatNumber(o.calls, i18n.language)}</td>
              <td data-testid="o-missed">{formatNumber(o.missed, i18n.language)}</td>
              <td data-testid="o-handle">{spokenDuration(t, o.handleSeconds)}</td>
              <td data-testid="o-states">
                {AGENT_STATES.filter((s) => (o.stateSeconds[s] ?? 0) > 0)
                  .map((s) => `${t(`agent.state.${s}`)} ${spokenDuration(t, o.stateSeconds[s]!)}`)
                  .join(' · ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="note">{t('supervision.stats.updated', { time: formatTime(stats.at, i18n.language) })}</p>
    </div>
  );
}
