import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { GatewayCallError } from '../../../../shared/gateway-client';
import type { BoardOperator } from '../../../../shared/gateway/supervision';
import { accessToken, gatewayClient } from '../../gateway';
import { formatTime } from '../../i18n/format';
import { logFailure } from '../../log';

/** An operator's raised hand on their board row: since when, and which lead acknowledged it. */
export function BoardHandBadge({ operator }: { operator: BoardOperator }) {
  const { t, i18n } = useTranslation();
  const hand = operator.hand;
  if (!hand) return null;
  return (
    <span className="badge badge-hand" data-testid="board-hand" data-acknowledged={hand.acknowledgedAt ? 'true' : 'false'}>
      <span aria-hidden="true">✋ </span>
      {t('cockpit.hand.raised', { time: formatTime(hand.raisedAt, i18n.language) })}
      {hand.acknowledgedAt && <> · {t('cockpit.hand.acknowledged', { name: hand.acknowledgedBy ?? '—' })}</>}
    </span>
  );
}

/**
 * The lead answers a raised hand (each button's name starts with its visible text, then whose hand:
 * axe's label-in-name): POST /supervision/operators/:id/hand, "I'm coming"
 * (acknowledge: it stays up, marked, and the operator is told) while nobody has, and "lower".
 * The gateway decides (the board's own rule for who may; 409 when the hand is already down) and
 * audits; the row changes when the board's update arrives, never before.
 */
export function LeadHandActions({ operator }: { operator: BoardOperator }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!operator.hand) return null;

  async function answer(action: 'acknowledge' | 'lower') {
    setBusy(true);
    setError(null);
    try {
      await gatewayClient.call('leadHand', { accessToken: await accessToken(), params: { id: operator.userId }, body: { action } });
    } catch (err) {
      logFailure(`answering an operator's raised hand (${action})`, err);
      const code = err instanceof GatewayCallError ? err.code : 'unexpected';
      setError(t(`cockpit.hand.error.${code}`, { defaultValue: t('cockpit.hand.error.unexpected') }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="lead-hand" data-testid={`hand-actions-${operator.username}`}>
      {!operator.hand.acknowledgedAt && (
        <button type="button" disabled={busy} data-testid={`hand-acknowledge-${operator.username}`} aria-label={t('cockpit.hand.acknowledgeLabel', { name: operator.displayName })} onClick={() => void answer('acknowledge')}>
          {t('cockpit.hand.acknowledge')}
        </button>
      )}
      <button type="button" className="secondary" disabled={busy} data-testid={`hand-lower-${operator.username}`} aria-label={t('cockpit.hand.lowerLabel', { name: operator.displayName })} onClick={() => void answer('lower')}>
        {t('cockpit.hand.lower')}
      </button>
      {error && <span className="error" data-testid="hand-error">{error}</span>}
    </span>
  );
}

/**
 * Says a newly raised hand once, politely (the board has no other live announcement: its rows
 * change silently; the shell's one role="status" is the status bar). A hand raised again later
 * (a new time) is said again.
 */
export function HandAnnouncer({ operators }: { operators: readonly BoardOperator[] }) {
  const { t, i18n } = useTranslation();
  const said = useRef(new Set<string>());
  const [text, setText] = useState('');
  useEffect(() => {
    const fresh = operators.filter((o) => o.hand && !o.hand.acknowledgedAt && !said.current.has(`${o.userId} ${o.hand.raisedAt}`));
    if (fresh.length === 0) return;
    for (const o of fresh) said.current.add(`${o.userId} ${o.hand!.raisedAt}`);
    setText(fresh.map((o) => t('cockpit.hand.announce', { name: o.displayName, time: formatTime(o.hand!.raisedAt, i18n.language) })).join(' '));
  }, [operators, t, i18n.language]);
  return (
    <p className="visually-hidden" aria-live="polite" data-testid="board-hand-announcement">
      {text}
    </p>
  );
}
