// The gateway contract's primitives, declared once: every schema file of shared/gateway (and
// the IPC contract, shared/ipc/contract.ts) imports them from here. This module imports
// nothing of the gateway contract, so it can sit under every one of its files without a cycle.
import { z } from 'zod';

/** A row id (users, orgs, campaigns, supervisions, legs...). */
export const Id = z.uuid();
/** An instant the gateway sends: ISO 8601 text (Date#toISOString). */
export const Iso = z.string();

/**
 * An instant a client sends: ISO 8601 with Z or an offset, in years 0001-9999 once in UTC
 * (year 0 or an offset past it is not a date PostgreSQL or PGlite stores: refused, not a 500).
 */
const inStoredRange = (s: string) => {
  const year = new Date(s).getUTCFullYear();
  return year >= 1 && year <= 9999;
};
export const Instant = z.iso.datetime({ offset: true }).refine(inStoredRange, 'a date between the years 1 and 9999');

/**
 * A SIP Call-ID: printable ASCII without spaces (RFC 3261 "word"s, with an optional @host). SIP sets no bound; Koe takes up to 1024 characters (carriers send 300+) and
 * stores them verbatim (rtpengine, supervision and the screen pop need the real value);
 * Kamailio refuses a longer one with 400 before any lookup (koe.cfg, docs/telephony.md).
 * The one bound for every Call-ID the gateway accepts: Kamailio's queries, the CRM's call
 * routes, supervision, and the operator model's intents.
 */
export const SIP_CALL_ID_MAX = 1024;
export const SipCallId = z.string().min(1).max(SIP_CALL_ID_MAX).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Why a client locked its screen (the gateway's lock event, the IPC contract's lock state). */
export const LockReason = z.enum(['idle', 'os-lock', 'suspend', 'manual']);

/** E.164: "+", a non-zero digit, 6-14 more digits. */
export const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number (+81312345678)');
