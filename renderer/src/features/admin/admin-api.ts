// The console's calls to the gateway: the same client and short-lived access token as every
// other renderer call (renderer/src/gateway.ts; the tokens live in main). The gateway is the
// authority on every action: the console only asks, and shows its refusal in the user's
// language. Forms keep what was typed when a call fails (a lost connection loses nothing).
import type { RouteName } from '../../../../shared/gateway/api';
import type { PolicyLockout } from '../../../../shared/gateway/admin-policy';
import { GatewayCallError, type CallInput, type Response } from '../../../../shared/gateway-client';
import { accessToken, gatewayClient } from '../../gateway';
import { logFailure } from '../../log';

/** Refusal codes the console has a message for (admin.errors.*); anything else is `unexpected`. */
export const KNOWN_FAILURES: ReadonlySet<string> = new Set([
  'forbidden', 'not_found', 'conflict', 'validation_failed', 'password_policy', 'rate_limited', 'unreachable',
  'policy_lockout', 'last_admin', 'in_use', 'session',
]);

export interface AdminFailure {
  code: string;
  /** Which password rules failed (password_policy), or which fields (validation_failed). */
  violations: string[];
  /** policy_lockout: the caller's address and the list being saved that would refuse it. */
  lockout?: PolicyLockout;
}

/** A refusal or fault as the console shows it; faults (not answers) are logged by name, never with data. */
export function adminFailure(err: unknown, what: string): AdminFailure {
  if (err instanceof GatewayCallError) {
    if (err.code.startsWith('session_') || err.code === 'token_invalid') return { code: 'session', violations: [] };
    if (KNOWN_FAILURES.has(err.code)) return { code: err.code, violations: err.details.violations ?? [], ...(err.details.lockout ? { lockout: err.details.lockout } : {}) };
  }
  logFailure(what, err);
  return { code: 'unexpected', violations: [] };
}

/** One gateway call with the session's access token. */
export async function adminCall<N extends RouteName>(name: N, input: Omit<CallInput<N>, 'accessToken'> = {}): Promise<Response<N>> {
  const token = await accessToken();
  return gatewayClient.call(name, { ...input, accessToken: token });
}
export type AdminCall = typeof adminCall;
