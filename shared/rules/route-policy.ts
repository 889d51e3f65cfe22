// Routing policy of a campaign: may this call be offered to an operator at all? Decided once per
// inbound call, before any operator is chosen (server/sip/routing.ts), so a closed campaign or a
// blocked caller never rings anyone. Pure: the campaign's settings, the caller (E.164 by the
// trunk's rule, shared/rules/numbering.ts, or null when withheld / not a number) and the instant.
//
// Order: a blocked caller is refused whatever the hours (a nuisance caller calling at night gets
// the block answer, not the closed message); then the hours, when the campaign enforces them.
import { isOpen, type BusinessHours } from './business-hours';

export const BLOCK_POLICIES = ['reject', 'message'] as const;
export type BlockPolicy = (typeof BLOCK_POLICIES)[number];

export interface CampaignRoutePolicy {
  hours: BusinessHours;
  /** false: hours are shown (screen pop) but routing ignores them (campaigns made before 0010). */
  enforceHours: boolean;
  /** E.164 numbers (stored through PhoneInput). */
  blockedNumbers: readonly string[];
  blockPolicy: BlockPolicy;
}

export type Admission =
  | { outcome: 'offer' }
  | { outcome: 'closed' }
  /** reject: Kamailio answers 603 Decline; message: reason `blocked` (an announcement, then hang-up). */
  | { outcome: 'blocked'; policy: BlockPolicy };

/** E.164 as stored: "+" then 7-15 digits, first not 0. */
const E164 = /^\+[1-9]\d{6,14}$/;

export function isBlocked(caller: string | null, blockedNumbers: readonly string[]): boolean {
  if (caller === null || !E164.test(caller)) return false;
  return blockedNumbers.includes(caller);
}

export function admit(policy: CampaignRoutePolicy, caller: string | null, instant: Date): Admission {
  if (isBlocked(caller, policy.blockedNumbers)) return { outcome: 'blocked', policy: policy.blockPolicy };
  if (policy.enforceHours && !isOpen(policy.hours, instant)) return { outcome: 'closed' };
  return { outcome: 'offer' };
}
