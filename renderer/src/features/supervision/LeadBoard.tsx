import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { agentPolicyOf, reasonLabel, useAgentStore } from '../phone/agent-store';
import { formatDuration, useNow } from '../../app/clock';
import type { BoardCallQuality, SupervisionMode } from '../../../../shared/gateway/supervision';
import { qualityText } from '../../app/quality-text';
import { useLeadSupervision } from './SupervisionClient';
import { useSupervisionStore } from './store';
import { QueueStatsPanel } from './QueueStatsPanel';
import { RecentRecordings } from '../recordings/RecordingLists';
import { arrangeBoard, boardFlags, STATE_FILTERS, type BoardSort, type SortKey, type StateFilter } from './board-view';
import { loadBoardPolicy, thresholdsOf } from './board-policy';
import { SetNotReady } from './SetNotReady';
import { BoardHandBadge, HandAnnouncer, LeadHandActions } from './LeadHand';

const MODES: SupervisionMode[] = ['monitor', 'whisper', 'barge'];

/** The team lead's live board (pushed by the gateway), arranged by the lead, and the supervision controls. */
export function LeadBoard() {
  const { t, i18n } = useTranslation();
  const supervision = useLeadSupervision();
  // the org's not-ready reasons, to name an operator's reason in the lead's language
  const policy = useAgentStore(agentPolicyOf);
  useEffect(() => {
    if (!useAgentStore.getState().policy) void useAgentStore.getState().loadPolicy();
    if (!useSupervisionStore.getState().thresholds) void loadBoardPolicy();
  }, []);
  const board = useSupervisionStore((s) => s.board);
  const lead = useSupervisionStore((s) => s.lead);
  const thresholds = useSupervisionStore(thresholdsOf);
  const thresholdsFailed = useSupervisionStore((s) => s.thresholdsFailed);
  const now = useNow();
  const active = lead && lead.status !== 'ended' && lead.status !== 'refused';
  const [text, setText] = useState('');
  const [stateFilter, setStateFilter] = useState<StateFilter>('all');
  const [sort, setSort] = useState<BoardSort>({ key: 'name', direction: 'ascending' });
  const rows = arrangeBoard(board.operators, { text, state: stateFilter, sort, now, language: i18n.language });
  const supervised = active ? board.operators.find((o) => o.userId === lead.operatorId) : undefined;

  const sortHeader = (key: SortKey, label: string) => {
    const sorted = sort.key === key;
    return (
      <th aria-sort={sorted ? sort.direction : 'none'}>
        <button
          type="button"
          className="sort-button"
          data-testid={`sort-${key}`}
          aria-label={t('cockpit.sortBy', { column: label })}
          onClick={() => setSort({ key, direction: sorted && sort.direction === 'ascending' ? 'descending' : 'ascending' })}
        >
          {label}
          <span aria-hidden="true">{sorted ? (sort.direction === 'ascending' ? ' ▲' : ' ▼') : ' ↕'}</span>
        </button>
      </th>
    );
  };

  return (
    <section className="card board" data-testid="lead-board" aria-labelledby="board-h">
      <h2 id="board-h">{t('supervision.board')}</h2>
      <HandAnnouncer operators={board.operators} />
      {board.operators.length === 0 && <p className="note">{t('supervision.empty')}</p>}
      {thresholdsFailed && <p className="note" data-testid="board-thresholds-failed">{t('cockpit.thresholdsFailed')}</p>}
      <div className="board-filters">
        <label>
          {t('cockpit.filterName')}
          <input type="search" data-testid="board-filter-text" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <label>
          {t('cockpit.filterState')}
          <select data-testid="board-filter-state" value={stateFilter} onChange={(e) => setStateFilter(e.target.value as StateFilter)}>
            {STATE_FILTERS.map((s) => (
              <option key={s} value={s}>{t(`cockpit.states.${s}`)}</option>
            ))}
          </select>
        </label>
        <span className="note" data-testid="board-shown">{t('cockpit.shown', { shown: rows.length, total: board.operators.length })}</span>
      </div>
      <table>
        <thead>
          <tr>
            {sortHeader('name', t('supervision.operator'))}
            {sortHeader('state', t('supervision.state'))}
            {sortHeader('timeInState', t('cockpit.timeInState'))}
            <th>{t('supervision.registration')}</th>
            {sortHeader('callTime', t('cockpit.callTime'))}
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((o) => {
            const flags = boardFlags(o, thresholds, now);
            const isSupervised = supervised?.userId === o.userId;
            return (
              <tr
                key={o.userId}
                data-testid="board-row"
                data-username={o.username}
                data-state={o.state}
                data-registration={o.registration ?? 'unknown'}
                data-flags={flags.join(' ')}
                data-hand={o.hand ? (o.hand.acknowledgedAt ? 'acknowledged' : 'raised') : undefined}
                className={[flags.length > 0 ? 'board-flagged' : '', o.hand && !o.hand.acknowledgedAt ? 'board-hand' : '', isSupervised ? 'board-supervised' : ''].join(' ').trim() || undefined}
                aria-current={isSupervised ? 'true' : undefined}
              >
                <td>
                  {o.displayName}
                  {isSupervised && lead && <span className="badge board-supervising" data-testid="board-supervising">{t(`cockpit.supervising.${lead.mode}`)}</span>}
                  <BoardHandBadge operator={o} />
                </td>
                <td>
                  {t(`agent.state.${o.state}`)}
                  {o.state === 'not_ready' && o.reason && <span data-testid="board-reason"> ({reasonLabel(t, i18n.language, policy, o.reason)})</span>}
                  {flags.filter((f) => f !== 'hand').map((f) => (
                    <span key={f} className="badge badge-warn" data-testid={`board-flag-${f}`}>{t(`cockpit.flag.${f}`)}</span>
                  ))}
                </td>
                <td className="timer">{o.since && formatDuration(now - Date.parse(o.since))}</td>
                <td>{t(`supervision.reg.${o.registration ?? 'unknown'}`)}</td>
                <td data-testid="board-call">
                  {o.call && (
                    <>
                      {o.call.campaignName ?? '—'} · {t(`supervision.direction.${o.call.direction}`)} · <span className="timer">{formatDuration(now - Date.parse(o.call.since))}</span>
                      {o.call.customerName && <> · <span data-testid="board-customer">{o.call.customerName}</span></>}
                      {o.call.quality && <BoardQuality quality={o.call.quality} />}
                    </>
                  )}
                </td>
                <td>
                  {o.call?.status === 'answered' && !active && (
                    <button type="button" data-testid={`monitor-${o.username}`} onClick={() => void supervision.startMonitor(o.call!.callId, o.userId)}>
                      {t('supervision.listen')}
                    </button>
                  )}
                  <LeadHandActions operator={o} />
                  <SetNotReady operator={o} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {board.operators.length > 0 && rows.length === 0 && <p className="note" data-testid="board-no-match">{t('cockpit.noMatch')}</p>}
      <RecentRecordings names={new Map(board.operators.map((o) => [o.userId, o.displayName]))} />
      {board.stats && <QueueStatsPanel stats={board.stats} names={new Map(board.operators.map((o) => [o.userId, o.displayName]))} />}
      {lead && (
        <div className="supervision" data-testid="supervision-panel" data-status={lead.status} data-mode={lead.mode} data-operator-connected={lead.operatorConnected ? 'true' : 'false'}>
          {active && (
            <p className="supervision-title" data-testid="supervision-title">
              {t('cockpit.panelTitle', { mode: t(`cockpit.supervising.${lead.mode}`), name: supervised?.displayName ?? '—' })}
            </p>
          )}
          <p role="status">
            {t(`supervision.status.${lead.status}`)} · {t(`supervision.mode.${lead.mode}`)}
            {lead.error && <span className="error" data-testid="supervision-error"> {t(`supervision.error.${lead.error}`, { defaultValue: lead.error })}</span>}
          </p>
          {active && (
            <div role="group" aria-label={t('supervision.modes')}>
              {MODES.map((m) => (
                <button key={m} type="button" className="mode-toggle" data-testid={`mode-${m}`} aria-pressed={lead.mode === m} disabled={lead.status === 'switching'} onClick={() => void supervision.switchMode(m)}>
                  {lead.mode === m && <span aria-hidden="true">✓ </span>}
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

/**
 * The operator's call quality as their phone last measured it (issue 18 item 7): the level and
 * the MOS, the figures in the title; the same levels and thresholds as the operator's badge.
 */
function BoardQuality({ quality }: { quality: BoardCallQuality }) {
  const { t, i18n } = useTranslation();
  const { level, label, mos, details } = qualityText(t, i18n.language, quality);
  return (
    <span className={`badge quality-${level}`} data-testid="board-quality" data-level={level} title={details}>
      {label} {mos}
      <span className="sr-only">{details}</span>
    </span>
  );
}
