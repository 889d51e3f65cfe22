import { useTranslation } from 'react-i18next';
import { shortcutProps } from '../../app/shortcut-props';
import { formatTime } from '../../i18n/format';
import { useAgentStore } from './agent-store';

/**
 * The operator's raised hand (issue 18 item 9): asks a team lead for help in any state but
 * offline (on a call, in wrap-up, idle), and lowers it again. A toggle (aria-pressed, marked by
 * more than colour) showing the time it went up and, once a lead acknowledged it, that the lead
 * is coming (their name in the description). Sent as the `hand` intent; the gateway owns the
 * hand (the view renders what it says): it goes down by itself when the operator goes offline.
 * One line in the agent panel's heading, so nothing below it moves.
 */
export function RaiseHand() {
  const { t, i18n } = useTranslation();
  const view = useAgentStore((s) => s.view);
  const link = useAgentStore((s) => s.link);
  const pending = useAgentStore((s) => s.pending.some((p) => p.kind === 'hand'));
  const hand = view?.hand ?? null;
  const reachable = link === 'connected' && view !== null && view.agent !== 'offline';
  const time = (at: number) => formatTime(at, i18n.language);
  const describe = !hand
    ? t('agent.hand.describeDown')
    : hand.acknowledgedAt !== null
      ? t('agent.hand.describeAcknowledged', { time: time(hand.raisedAt), name: hand.acknowledgedBy ?? t('agent.hand.aLead'), ackTime: time(hand.acknowledgedAt) })
      : t('agent.hand.describeRaised', { time: time(hand.raisedAt) });
  return (
    <>
      <button
        type="button"
        className={hand ? 'hand-toggle selected' : 'hand-toggle'}
        data-testid="hand-toggle"
        data-raised={hand ? 'true' : 'false'}
        data-acknowledged={hand?.acknowledgedAt != null ? 'true' : 'false'}
        aria-pressed={hand !== null}
        aria-describedby="hand-describe"
        title={describe}
        disabled={!reachable || pending}
        {...shortcutProps('raiseHand')}
        onClick={() => void useAgentStore.getState().send({ kind: 'hand', raised: hand === null })}
      >
        <span aria-hidden="true">✋ </span>
        {hand ? t('agent.hand.raised', { time: time(hand.raisedAt) }) : t('agent.hand.raise')}
        {hand?.acknowledgedAt != null && <span data-testid="hand-acknowledged"> ✓ {t('agent.hand.acknowledgedShort')}</span>}
      </button>
      <span id="hand-describe" hidden>
        {describe}
      </span>
    </>
  );
}
