import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { GatewayCallError } from '../../../../shared/gateway-client';
import type { BoardOperator } from '../../../../shared/gateway/supervision';
import { accessToken, gatewayClient } from '../../gateway';
import { logFailure } from '../../log';
import { agentPolicyOf, useAgentStore } from '../phone/agent-store';

/**
 * A lead sets one of their operators not ready with one of the org's reasons (issue 18 item 9).
 * Offered while the operator is ready or on a break; the gateway refuses it on a call or in
 * wrap-up (the lead asks again once the operator is free), audits it and tells the operator.
 */
export function SetNotReady({ operator }: { operator: BoardOperator }) {
  const { t, i18n } = useTranslation();
  const reasons = useAgentStore(agentPolicyOf).notReadyReasons;
  const [reason, setReason] = useState(reasons[0]?.code ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (operator.state !== 'ready' && operator.state !== 'break') return null;
  const label = (r: (typeof reasons)[number]) => (i18n.language === 'en' ? r.en : r.ja);

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await gatewayClient.call('leadSetNotReady', { accessToken: await accessToken(), params: { id: operator.userId }, body: { reason } });
    } catch (err) {
      logFailure('setting an operator not ready', err);
      const code = err instanceof GatewayCallError ? err.code : 'unexpected';
      setError(t(`cockpit.setNotReady.error.${code}`, { defaultValue: t('cockpit.setNotReady.error.unexpected') }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="set-not-ready" data-testid={`set-not-ready-${operator.username}`}>
      <select
        aria-label={t('cockpit.setNotReady.reason', { name: operator.displayName })}
        data-testid={`set-not-ready-reason-${operator.username}`}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
      >
        {reasons.map((r) => (
          <option key={r.code} value={r.code}>{label(r)}</option>
        ))}
      </select>
      <button type="button" className="secondary" disabled={busy || !reason} data-testid={`set-not-ready-button-${operator.username}`} onClick={() => void submit()}>
        {t('cockpit.setNotReady.button')}
      </button>
      {error && <span className="error" data-testid="set-not-ready-error">{error}</span>}
    </span>
  );
}
