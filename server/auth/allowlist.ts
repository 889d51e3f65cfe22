// The IP allowlist at sign-in, where the username names no org yet. Two steps, so the answer
// never depends on whether a name exists, nor in which org:
//
//  1. Before anything else: is the address allowed by the org-level list of SOME org? If
//     none allows it, every name gets ip_not_allowed (one answer for all names).
//  2. After the password: is it allowed for THIS user (their org's list and their role's)?
//     Only someone who gave the right password learns ip_not_allowed. A wrong password from
//     an address the user's org refuses answers invalid_credentials, exactly as for an
//     unknown name — and is counted on a separate lock key (refusedLockKey), with the
//     lockout an unknown name gets (the default policy):
//       - not on the user's own key: an address the org refuses must not be able to lock its
//         users out (before, it was refused before the password, so it could not);
//       - but counted and locked all the same: unknown names lock after N failures, so a
//         name that never locked from such an address would be told apart from an unknown
//         one. The separate key locks exactly like an unknown name, from refused addresses
//         only, and the user's own lock is neither consulted nor moved by them.
import type { OrgPolicy } from '../../shared/gateway/policy';
import type { Executor } from '../db/schema';
import { allOrgPolicies } from '../policy';
import { allowedBy } from './net';

/** Step 1: some org's org-level list allows `ip` (no org yet: allowed). */
export async function allowedBySomeOrg(db: Executor, ip: string): Promise<boolean> {
  const policies = await allOrgPolicies(db);
  return policies.length === 0 || policies.some((p) => allowedBy(ip, p.ipAllowlist.org));
}

/** Step 2 (and refresh): the user's org list and role list both allow `ip`. */
export function allowedForUser(policy: OrgPolicy, role: string, ip: string): boolean {
  return allowedBy(ip, policy.ipAllowlist.org) && allowedBy(ip, policy.ipAllowlist.roles[role] ?? []);
}

/**
 * The lock key for failures from addresses the user's org refuses. ':' cannot occur in a
 * username (letters, digits, dot, underscore, hyphen), so it never meets a real name's key.
 */
export function refusedLockKey(username: string): string {
  return `ip-refused:${username}`;
}
