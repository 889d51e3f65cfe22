import type { CallInfo, CallPhase, RegistrationState } from '../features/phone/sip-phone';
import { userStore } from './user-data';

export interface CallView extends CallInfo {
  phase: CallPhase;
  held: boolean;
  muted: boolean;
  answeredAt: number | null;
  endedAt: number | null;
  /** Digits sent as DTMF on this call, for the operator to see. */
  dtmf: string;
  /** Set on a consultation call placed for an attended transfer: the call it would transfer. */
  consultFor: string | null;
}

/** The softphone's state: registration and calls. SIP.js itself lives in the phone service. */
export interface PhoneState {
  registration: RegistrationState;
  registrationDetail: string | null;
  calls: CallView[];
  error: string | null;
}

export const initialPhoneState: PhoneState = { registration: 'offline', registrationDetail: null, calls: [], error: null };

/** All of it is the user's (calls carry the customer's number): cleared when the session ends. */
export const usePhoneStore = userStore<PhoneState>('phone', initialPhoneState, () => ({ ...initialPhoneState }));

export function updateCall(id: string, patch: Partial<CallView>): void {
  usePhoneStore.setState((s) => ({ calls: s.calls.map((c) => (c.id === id ? { ...c, ...patch } : c)) }));
}

export const liveCalls = (calls: CallView[]) => calls.filter((c) => c.phase !== 'ended');
