// The policy lane of the admin console (issue 17): the audit chain's verification status, and
// the structured refusal of a policy change that would lock its author out. Spread into ROUTES
// (api.ts); the same rules as there apply.
import { z } from 'zod';
import { Iso } from './primitives';
import type { RouteSpec } from './route-spec';

/** Where verification found the chain broken (server/audit/audit.ts verifyAuditChain). */
export const AuditBreakKind = z.enum(['missing', 'unlinked', 'altered', 'head']);
export type AuditBreakKind = z.infer<typeof AuditBreakKind>;

/**
 * The chain (one chain for the whole gateway: sequence numbers are global) as verified so far:
 * entries 1..verifiedSeq link and hash correctly (checked at verifiedAt); the rolling re-check
 * from entry 1 (which catches an edit behind the frontier) is at `recheckSeq` and last went
 * through the whole verified chain at `recheckCompletedAt`. `broken`: the first entry found
 * wrong; it stays reported until an operator repairs the chain (docs/telephony.md).
 */
export const AuditStatusResponse = z.strictObject({
  headSeq: z.number().int(),
  verifiedSeq: z.number().int(),
  verifiedAt: Iso.nullable(),
  recheckSeq: z.number().int(),
  recheckCompletedAt: Iso.nullable(),
  broken: z.strictObject({ seq: z.number().int(), kind: AuditBreakKind, detectedAt: Iso }).nullable(),
});
export type AuditStatusResponse = z.infer<typeof AuditStatusResponse>;

/**
 * The `lockout` of a `policy_lockout` refusal: the caller's own address, and which list being
 * saved would refuse it (the org's, and/or their own role's). The console explains it and can
 * add the address.
 */
export const PolicyLockout = z.object({
  address: z.string(),
  org: z.boolean(),
  role: z.string().nullable(),
});
export type PolicyLockout = z.infer<typeof PolicyLockout>;

export const POLICY_ROUTES = {
  auditStatus: {
    method: 'GET', path: '/admin/audit/status',
    summary: 'The audit chain\'s verification status (verifies a bounded slice from the stored checkpoint on each call)',
    auth: 'audit:read', response: AuditStatusResponse,
  },
} as const satisfies Record<string, RouteSpec>;
