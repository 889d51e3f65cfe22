import { useTranslation } from 'react-i18next';
import { formatDuration, useNow } from '../../app/clock';
import { agentPolicyOf, useAgentStore } from './agent-store';

/**
 * The time left of the wrap-up the gateway has open (view.wrapUp.until, moved by each accepted
 * extension), counting down. role="timer": read on request, never announced every second.
 * `short`: without the word "wrap-up" (beside the agent state, which says it). `extend`: also the
 * "Extend (+N s)" button (how many are left is its description), shown only while the org's policy allows one more
 * (wrapUpExtendSeconds above 0, fewer than wrapUpMaxExtensions used, time left); the gateway
 * decides, so a refusal is shown like any other.
 */
export function WrapUpCountdown({ extend = false, short = false, testId }: { extend?: boolean; short?: boolean; testId: string }) {
  const { t } = useTranslation();
  const wrapUp = useAgentStore((s) => (s.view?.agent === 'wrap_up' ? s.view.wrapUp : null));
  const policy = useAgentStore(agentPolicyOf);
  const sending = useAgentStore((s) => s.pending.some((p) => p.kind === 'extendWrapUp'));
  const now = useNow();
  if (!wrapUp) return null;
  // whole seconds left, rounded up: 0:01 shows until the deadline itself
  const left = Math.max(0, Math.ceil((wrapUp.until - now) / 1000));
  const used = wrapUp.extensions ?? 0;
  const remainingExtensions = Math.max(0, policy.wrapUpMaxExtensions - used);
  const canExtend = extend && left > 0 && policy.wrapUpExtendSeconds > 0 && remainingExtensions > 0;
  return (
    <div className="wrapup-countdown" data-testid={testId} data-left={left}>
      <span role="timer" className={left <= 10 ? 'wrapup-left soon' : 'wrapup-left'}>
        {t(short ? 'agent.wrapUpLeftShort' : 'agent.wrapUpLeft', { time: formatDuration(left * 1000) })}
      </span>
      {canExtend && (
        <>
          {' '}
          <button
            type="button"
            data-testid="wrapup-extend"
            aria-describedby={`${testId}-extend-hint`}
            aria-busy={sending}
            disabled={sending}
            onClick={() => void useAgentStore.getState().extendWrapUp(wrapUp.callId)}
          >
            {sending ? t('agent.pendingExtend') : t('agent.extend', { seconds: policy.wrapUpExtendSeconds })}
          </button>{' '}
          <span className="sr-only" id={`${testId}-extend-hint`}>
            {t('agent.extendHint', { count: remainingExtensions })}
          </span>
        </>
      )}
    </div>
  );
}
