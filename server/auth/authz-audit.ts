// Audit of refused route permissions (`authz.forbidden`, server/principal.ts
// requirePermission): any signed-in user can trigger one with a cheap request, over and over.
//
// Coalesced per user and route, one window = one minute: the first refusal writes an entry,
// repeats inside the window are counted and reported by the next entry for the same key
// (detail.coalesced.suppressedForKey, server/auth/audit-coalesce.ts). So a script hammering
// routes cannot grow the log faster than one entry per route per minute per user, while
// every route tried is still on record. There is no gateway-wide cap per action (unlike
// ctx.securityAudit for unauthenticated events): one would let one org's flood hide another
// org's refusals. Only signed-in users reach here, so keys are bounded by users x routes.
// (Refusals a handler throws, authz.refused and the like, are written one per refusal, like
// the actions they refuse: server/http.ts.)
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { CoalescedAudit } from './audit-coalesce';

export const AUTHZ_AUDIT_WINDOW_MS = 60_000;

/**
 * One coalescer per org (kept on the gateway context as `authzAudit`): its per-action count
 * (detail.coalesced.suppressedSinceLastEntry) then counts only that org's refusals.
 */
export class AuthzAudit {
  private readonly orgs = new Map<string, CoalescedAudit>();
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  forOrg(orgId: string): CoalescedAudit {
    let a = this.orgs.get(orgId);
    if (!a) {
      a = new CoalescedAudit(this.db, this.clock, { windowMs: AUTHZ_AUDIT_WINDOW_MS, maxPerWindow: Number.POSITIVE_INFINITY, maxKeys: 50_000 });
      this.orgs.set(orgId, a);
    }
    return a;
  }
}
