// The wrap-up draft (the disposition being chosen) follows the gateway's view: the panel is open
// iff view.wrapUp names a call; when the gateway closes it (its timer), the panel closes. Ending
// it is an intent to the gateway (finishWrapUp); the disposition and wrap-up time go on the
// call record (queued and retried, crm-service.ts).
import type { IntentOutcome } from '../../../../shared/ipc/contract';
import type { OperatorView } from '../../../../shared/rules/operator-model';
import { useAgentStore, type Availability } from '../phone/agent-store';
import type { CustomerRecords } from './crm-service';
import { useCustomerStore } from './store';

/** Applies a change of the gateway's view to the draft (and says once when the gateway's timer ended a wrap-up shown here). */
export function syncWrapUp(prev: OperatorView | null, view: OperatorView | null): void {
  const callId = view?.wrapUp?.callId ?? null;
  const draft = useCustomerStore.getState().wrapUp;
  if (callId && draft?.sipCallId !== callId) {
    useCustomerStore.setState({ wrapUp: { sipCallId: callId, startedAt: Date.now(), disposition: null, status: 'open' } });
    // a new wrap-up: the previous one's confirmation is done with
    if (useAgentStore.getState().saved) useAgentStore.setState({ saved: null });
  } else if (!callId && draft && draft.status === 'open') {
    useCustomerStore.setState({ wrapUp: null });
  }
  // The gateway's timer ended a wrap-up this client showed: say so (once, with the gateway's notice if it came).
  const closed = prev?.wrapUp?.callId;
  if (closed && closed !== callId && view?.calls.some((c) => c.callId === closed && c.wrapUp === 'timed_out')) {
    const agent = useAgentStore.getState();
    if (!agent.notices.some((n) => n.code === 'wrap_up_timed_out' && n.callId === closed)) {
      useAgentStore.setState({ notices: [...agent.notices, { code: 'wrap_up_timed_out' as const, callId: closed, n: Date.now() }].slice(-5) });
    }
  }
}

/** Follows the gateway's view while signed in; returns the stop function. */
export function followWrapUp(): () => void {
  let last: OperatorView | null = useAgentStore.getState().view;
  syncWrapUp(null, last);
  return useAgentStore.subscribe((s) => {
    if (s.view === last) return;
    const prev = last;
    last = s.view;
    syncWrapUp(prev, s.view);
  });
}

/**
 * Ends the wrap-up the gateway has open (accepted: the agent store keeps what was saved, and
 * when, for the confirmation): the gateway decides (finishWrapUp, with where the
 * operator goes next); the disposition and wrap-up time are saved on the call record (handed to
 * main's outbox first, whatever the gateway answers). While the gateway has not answered the
 * draft is `saving` (the panel says so and the button waits); the panel closes when the
 * gateway's view says the wrap-up is over, not before.
 */
export async function finishWrapUp(records: CustomerRecords, next?: Availability): Promise<IntentOutcome | null> {
  const w = useCustomerStore.getState().wrapUp;
  if (!w || w.status === 'saving') return null;
  const wrapUpSeconds = Math.max(0, Math.round((Date.now() - w.startedAt) / 1000));
  useCustomerStore.setState({ wrapUp: { ...w, status: 'saving' } });
  // the disposition goes to main's durable outbox now, not after the gateway's answer (up to
  // 10 s when the link looks open but is not): a renderer that crashes meanwhile loses nothing
  records.patchCall(w.sipCallId, { ...(w.disposition ? { disposition: w.disposition } : {}), wrapUpSeconds });
  const outcome = await useAgentStore.getState().finishWrapUp(w.sipCallId, next);
  // the operator is told what was saved (the agent panel: the notes panel goes with the call)
  if (outcome.outcome === 'accepted') useAgentStore.setState({ saved: { callId: w.sipCallId, disposition: w.disposition, at: Date.now() } });
  const cur = useCustomerStore.getState().wrapUp;
  if (cur?.sipCallId === w.sipCallId) {
    const open = useAgentStore.getState().view?.wrapUp?.callId === w.sipCallId;
    // still open at the gateway (refused, or unreachable): the operator can try again
    useCustomerStore.setState({ wrapUp: open ? { ...cur, status: 'open' } : null });
  }
  return outcome;
}
