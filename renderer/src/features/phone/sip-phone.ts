// The phone's small interface: what the rest of the renderer needs from SIP. The real
// implementation (sipjs-phone.ts) drives SIP.js 0.21 against Kamailio; component tests use a
// fake behind this same interface.
import type { RegistrationState } from '../../../../shared/gateway/supervision';
import type { SipCredentials } from '../../../../shared/ipc/contract';

import type { StatsEntry } from '../../../../shared/rules/call-quality';

export type { RegistrationState };
export type CallPhase = 'ringing' | 'dialing' | 'established' | 'ended';

export interface CallInfo {
  /** Our handle for the call (SIP.js session id). */
  id: string;
  /** The SIP Call-ID (what the gateway keys the call record on). */
  sipCallId: string;
  direction: 'inbound' | 'outbound';
  /** The other party: E.164 for the PSTN, else the SIP user. */
  remote: string;
  /** X-Koe-Campaign, when the proxy set it. */
  campaignId: string | null;
  /** X-Koe-DID: the number the customer dialled. */
  dialledNumber: string | null;
  /** performance.now() when SIP.js delivered the INVITE (for the screen-pop timing). */
  receivedAt: number;
  /**
   * Attended transfer to us: the id of our call this INVITE replaces (RFC 3891). Such a call is
   * answered at once (the phone does it) and takes over from the replaced one.
   */
  replaces?: string;
}

export interface PhoneConfig {
  credentials: SipCredentials;
  /** SIP domain (from the AOR). */
  domain: string;
  devices: { inputDeviceId: string | null; outputDeviceId: string | null };
  /** Container for the per-call <audio> elements: outside React's tree, so calls survive the lock screen. */
  audioHost: HTMLElement;
}

/**
 * What can go wrong in the phone, as codes (the UI translates them: renderer/src/i18n, phone.errors.*).
 * No error text from SIP.js or the browser reaches the operator.
 */
export const PHONE_ERRORS = [
  'invalid_number', 'no_microphone', 'microphone_denied', 'not_started', 'no_such_call', 'hold_failed',
  'transfer_refused', 'transfer_unavailable', 'transfer_failed', 'consult_unavailable', 'consult_failed', 'conference_failed',
  'dial_busy', 'dial_no_answer', 'dial_failed', 'dial_in_wrap_up', 'dial_during_call', 'dial_campaign', 'campaigns_unavailable', 'dtmf_failed', 'gateway_unreachable', 'refused', 'unexpected',
] as const;
export type PhoneErrorCode = (typeof PHONE_ERRORS)[number];

/** A failure of the phone with its code (and the SIP status that caused it, if any). */
export class PhoneFailure extends Error {
  constructor(
    readonly code: PhoneErrorCode,
    readonly status: number | null = null,
  ) {
    super(status ? `${code} (${status})` : code);
    this.name = 'PhoneFailure';
  }
}

/** SIP statuses that mean "that party cannot take a call now" (offline, unknown, no answer in time). */
export const UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([404, 408, 410, 480]);

export interface SipPhoneListener {
  registration(state: RegistrationState, detail?: string): void;
  /** A new inbound call. It rings (unanswered) until answer() or reject(). */
  incoming(call: CallInfo): void;
  /** `status`: for an outbound call that ended unanswered, the final SIP status (486 busy, 480 unavailable...). */
  phase(id: string, phase: CallPhase, status?: number): void;
  /** The remote party put us on hold / the re-INVITE for our hold was accepted. */
  held?(id: string, held: boolean): void;
  /**
   * A call's media path was lost (ICE failed, or disconnected for a second: the network changed
   * or went) or is back after an ICE restart. The call stays up meanwhile; a loss that cannot be
   * mended ends it (phase 'ended').
   */
  media?(id: string, state: 'lost' | 'back'): void;
  /** An inbound call the phone refused before it rang (420 Require, 488 offer; sip-guard.ts). */
  refusedCall?(statusCode: number, sipCallId: string): void;
}

export interface SipPhone {
  start(config: PhoneConfig, listener: SipPhoneListener): Promise<void>;
  stop(): Promise<void>;
  /**
   * Network back or resume: reconnect the transport and register again; established calls whose
   * media path was lost then get it back with an ICE restart (re-INVITE). `freshTransport`: start
   * a new connection even if the current one looks open (after a network change or a sleep).
   */
  recover(options?: { freshTransport?: boolean }): Promise<void>;
  /** Renewed credentials: used from the next authentication challenge on. */
  updateCredentials(credentials: SipCredentials): void;
  answer(id: string): Promise<void>;
  /** 486 busy here, 603 the operator declined, 480 nobody answered in time (the gateway's ring deadline). */
  reject(id: string, code: 480 | 486 | 603): Promise<void>;
  hangup(id: string): Promise<void>;
  /**
   * `target` is a SIP URI. `beforeInvite` gets the call (its SIP Call-ID is known before anything
   * is sent) and says whether to send the INVITE: the gateway is asked first. Null: not sent.
   */
  dial(target: string, beforeInvite: (call: CallInfo) => Promise<boolean>): Promise<CallInfo | null>;
  hold(id: string, on: boolean): Promise<void>;
  mute(id: string, on: boolean): void;
  /** RFC 4733 over RTP, or SIP INFO when the media path cannot. */
  dtmf(id: string, tone: string): Promise<'rtp' | 'info'>;
  blindTransfer(id: string, target: string): Promise<void>;
  /** Transfers `id`'s party to the party of `consultId` (REFER with Replaces). */
  attendedTransfer(id: string, consultId: string): Promise<void>;
  /**
   * A three-way call: the two established calls, neither on hold, are mixed here (each party
   * hears the operator and the other party; conference-mix.ts). It lasts until one of them ends:
   * the other then carries the plain microphone again. Mute applies to both. Fails with
   * 'conference_failed', leaving both calls as they were.
   */
  joinConference(id: string, otherId: string): Promise<void>;
  setDevices(devices: { inputDeviceId: string | null; outputDeviceId: string | null }): Promise<void>;
  /** The RTCRtpSender carrying our audio on a call (supervision's barge replaces its track); null if none. */
  audioSender?(id: string): RTCRtpSender | null;
  /** The call's WebRTC statistics (getStats() as plain entries, for call-quality.ts); null: no connection. */
  stats?(id: string): Promise<StatsEntry[] | null>;
}

/** SIP URI for what an operator types as a transfer or dial target: E.164 or a SIP user. */
export function sipTarget(target: string, domain: string): string {
  return `sip:${target}@${domain}`;
}
