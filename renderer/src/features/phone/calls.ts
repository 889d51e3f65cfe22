// What the telephony object knows of each call beyond the phone store (the facts it reports at
// a call's end), the phone line it drives, and the small rules shared by its parts (calls.ts,
// incoming.ts, call-control.ts, telephony.ts). No module state: every instance is owned by one
// TelephonyService, which the component tree owns (Telephony.tsx).
import type { AgentIntentInput, IntentRefusal } from '../../../../shared/ipc/contract';
import { endCauseOfSipStatus, type EndCause, type OperatorView } from '../../../../shared/rules/operator-model';
import { bestEffort } from '../../log';
import { useAgentStore } from './agent-store';
import type { PhoneCall } from './phone-store';
import type { CallInfo, CallPhase, PhoneErrorCode, SipPhone } from './sip-phone';

/** The phone this telephony object drives (null while signed out) and its SIP domain. */
export interface PhoneLine {
  phone: SipPhone | null;
  domain: string;
}

/**
 * What the phone asks of the views that show the caller (the customer card, the call record).
 * The shell composes it from the customer feature: the phone imports no other feature.
 */
export interface CallerViews {
  /**
   * Looks the caller up (the screen pop). Never rejects: a failed look-up shows an unknown
   * caller. Resolves to the function that shows the result.
   */
  lookUp(call: CallInfo): Promise<() => void>;
  /** The card shows "loading" for this call (the pop is slower than the ringing panel may wait). */
  showLoading(sipCallId: string): void;
  /** The gateway's call record: answer and end times (queued and retried by the customer feature). */
  recordCall(sipCallId: string, times: { answeredAt?: string; endedAt?: string }): void;
}

/** What this client saw of a call, for the facts it reports at its end. */
export interface CallFacts {
  /** The operator pressed Decline. */
  declined?: boolean;
  /** Refused by this client (486): the operator already has a call. */
  busy?: boolean;
  /** The gateway ended it (operatorHangUp): nothing more to report. */
  endedByGateway?: boolean;
  /** A transfer of it is under way: its end is the transfer's completion. */
  transferring?: boolean;
  /** The primary call this client put on hold to consult a colleague (unheld if the consult fails). */
  heldForConsult?: boolean;
  /** An outbound call's final SIP status when it was not answered. */
  status?: number;
}

/** The per-call state of one telephony object; all of it is the user's (cleared when the session ends). */
export class CallBook {
  private readonly facts = new Map<string, CallFacts>();
  /** Calls whose pop (or dial) is in flight: phases that arrive meanwhile. */
  readonly early = new Map<string, CallPhase>();
  /** Calls replaced by an attended transfer to us: their end is no wrap-up, no call record. */
  readonly replaced = new Set<string>();

  factsOf(id: string): CallFacts {
    let f = this.facts.get(id);
    if (!f) this.facts.set(id, (f = {}));
    return f;
  }

  peek(id: string): CallFacts | undefined {
    return this.facts.get(id);
  }

  forget(id: string): void {
    this.facts.delete(id);
  }

  clear(): void {
    this.facts.clear();
    this.early.clear();
    this.replaced.clear();
  }
}

/** A fact of the phone for the gateway (queued by main while the link is down); a failed hand-over is logged. */
export function report(intent: AgentIntentInput): void {
  void bestEffort(`reporting the phone's ${intent.kind} to the gateway`, () => useAgentStore.getState().send(intent));
}

export function newCall(info: CallInfo, phase: CallPhase, consultFor: string | null = null): PhoneCall {
  return { ...info, phase, held: false, heldSince: null, heldMs: 0, muted: false, answeredAt: null, endedAt: null, dtmf: '', consultFor };
}

/** How the call ended, as the model's cause, from what this phone saw. */
export function endCause(call: PhoneCall, f: CallFacts): Extract<EndCause, 'completed' | 'declined' | 'busy' | 'failed' | 'no_answer'> {
  if (call.answeredAt) return 'completed';
  if (call.direction === 'inbound') return f.declined ? 'declined' : f.busy ? 'busy' : 'completed';
  return endCauseOfSipStatus(f.status ?? null);
}

/** A refusal of an intent the phone sent (a dial): the code the phone panel shows. */
export function refusalError(refusal: IntentRefusal): PhoneErrorCode {
  if (refusal === 'unreachable' || refusal === 'no_answer' || refusal === 'not_connected') return 'gateway_unreachable';
  if (refusal === 'no_microphone') return 'no_microphone';
  if (refusal === 'in_wrap_up') return 'dial_in_wrap_up';
  if (refusal === 'busy_with_call') return 'dial_during_call';
  if (refusal === 'unknown_campaign') return 'dial_campaign';
  return 'refused';
}

/** The gateway offered this call to this operator (its view holds it, inbound, not yet answered). */
export function offered(view: OperatorView | null, sipCallId: string): boolean {
  return Boolean(view?.calls.some((c) => c.callId === sipCallId && c.direction === 'inbound' && (c.state === 'offered' || c.state === 'ringing')));
}

/**
 * An INVITE that did not come through the gateway's DID routing (no X-Koe-Campaign / X-Koe-DID
 * from Kamailio): a colleague's consultation call, or a customer the trunk sends us after a
 * colleague's blind transfer. Those are not the gateway's offers; they ring if we have no call.
 */
export const internalCall = (info: CallInfo) => !info.campaignId && !info.dialledNumber;

export function domainOf(aor: string): string {
  return aor.replace(/^sips?:/, '').split('@')[1] ?? '';
}
