import type { CallInfo, CallPhase, PhoneErrorCode, RegistrationState } from './sip-phone';
import { userStore } from '../../app/user-data';

/** A call in the softphone (SIP.js side, this PC only); not the gateway's call record (shared/gateway/crm.ts CallView). */
export interface PhoneCall extends CallInfo {
  phase: CallPhase;
  held: boolean;
  /** When the current hold began (Date.now()); null while not held. */
  heldSince: number | null;
  /** Time on hold before the current hold, on this call (ms). */
  heldMs: number;
  muted: boolean;
  answeredAt: number | null;
  endedAt: number | null;
  /** Digits sent as DTMF on this call, for the operator to see. */
  dtmf: string;
  /** The call's media path is lost and being restored (ICE restart): the operator hears nothing meanwhile. */
  mediaLost?: boolean;
  /** Set on a consultation call placed for an attended transfer: the call it would transfer. */
  consultFor: string | null;
}

/** A campaign of the operator's that an outbound call can be for, and the number its calls present. */
export interface OutboundCampaign {
  id: string;
  name: string;
  /** E.164, or null: the campaign presents no caller ID. */
  callerId: string | null;
}

/** What the operator last dialled in this session (redial): the number (E.164 or a SIP user) and its campaign. */
export interface LastDialled {
  number: string;
  campaignId: string | null;
}

/** The softphone's state: registration and calls. SIP.js itself lives in the phone service. */
export interface PhoneState {
  registration: RegistrationState;
  /** A code (the SIP status of a refused REGISTER, 'transport', ...), never an error's text. */
  registrationDetail: string | null;
  calls: PhoneCall[];
  /** The last failure, as a code the UI translates (phone.errors.*). */
  error: PhoneErrorCode | null;
  /** An audio input on this PC (null: not checked yet). */
  microphone: boolean | null;
  /** The operator's campaigns (the gateway's scope); null: not loaded yet. */
  outboundCampaigns: OutboundCampaign[] | null;
  /** The campaign the operator chose for their outbound calls (several campaigns: they choose). */
  dialCampaignId: string | null;
  /** Kept in memory only, for Redial; the customer's number, so it goes with the session. */
  lastDialled: LastDialled | null;
  /**
   * A three-way call mixed in this softphone (the customer's call and its consultation, both
   * active): the two call ids, the customer's first. Null: none. Ends when either call ends.
   */
  conference: { primaryId: string; consultId: string } | null;
}

export const initialPhoneState: PhoneState = {
  registration: 'offline', registrationDetail: null, calls: [], error: null, microphone: null, outboundCampaigns: null, dialCampaignId: null, lastDialled: null, conference: null,
};

/** All of it is the user's (calls and the last dialled number carry the customer's number): cleared when the session ends. */
export const usePhoneStore = userStore<PhoneState>('phone', initialPhoneState, () => ({ ...initialPhoneState }));

export function updateCall(id: string, patch: Partial<PhoneCall>): void {
  usePhoneStore.setState((s) => ({ calls: s.calls.map((c) => (c.id === id ? { ...c, ...patch } : c)) }));
}

/** The hold fields after the phone reported `held` at `now`: a repeated report keeps the hold's start. */
export function holdPatch(call: PhoneCall, held: boolean, now: number): Pick<PhoneCall, 'held' | 'heldSince' | 'heldMs'> {
  if (held) return { held, heldSince: call.heldSince ?? now, heldMs: call.heldMs };
  return { held, heldSince: null, heldMs: call.heldMs + (call.heldSince === null ? 0 : Math.max(0, now - call.heldSince)) };
}

export const liveCalls = (calls: PhoneCall[]) => calls.filter((c) => c.phase !== 'ended');

/** Is this call one of the three-way call's two legs? */
export const inConference = (conference: PhoneState['conference'], id: string) => conference !== null && (conference.primaryId === id || conference.consultId === id);
