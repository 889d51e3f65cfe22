// Setting a password (self-service change or admin reset): org policy, then no reuse of
// the current or the last N passwords (compared with argon2 against their stored hashes).
import { randomUUID } from 'node:crypto';
import { passwordViolations } from '../../shared/rules/password-policy';
import type { OrgPolicy } from '../../shared/gateway/policy';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';

export function assertPolicy(password: string, policy: OrgPolicy, username: string): void {
  const violations = passwordViolations(password, policy.password, { username });
  if (violations.length > 0) {
    throw new GatewayError('password_policy', `password does not meet the policy: ${violations.join(', ')}`, { violations });
  }
}

/** Checks policy and history; returns the new hash. Call before opening the write transaction. */
export async function preparePassword(ctx: GatewayContext, user: { id: string; username: string; password_hash: string }, password: string, policy: OrgPolicy) {
  assertPolicy(password, policy, user.username);
  const n = policy.password.historyCount;
  if (n > 0) {
    const history = await ctx.db
      .selectFrom('password_history')
      .select('password_hash')
      .where('user_id', '=', user.id)
      .orderBy('created_at', 'desc')
      .limit(Math.max(0, n - 1))
      .execute();
    for (const old of [user.password_hash, ...history.map((h) => h.password_hash)]) {
      if (await ctx.hasher.verify(old, password, 'priority')) {
        throw new GatewayError('password_policy', `password was used recently: choose one not among the last ${n}`, { violations: ['reused'] });
      }
    }
  }
  return ctx.hasher.hash(password, 'priority'); // authenticated callers only: the priority hashing lane
}

/**
 * Stores a new password. `temporary`: an admin set it (the user must change it: their sessions
 * are limited until then, server/auth/principal-type.ts sessionLimit); a password the user chose
 * clears the flag.
 */
export async function storePassword(tx: Executor, ctx: GatewayContext, user: { id: string; password_hash: string }, newHash: string, opts: { temporary: boolean }) {
  const now = ctx.clock.now();
  await tx.insertInto('password_history').values({ id: randomUUID(), user_id: user.id, password_hash: user.password_hash, created_at: now }).execute();
  await tx.updateTable('users').set({ password_hash: newHash, password_changed_at: now, must_change_password: opts.temporary }).where('id', '=', user.id).execute();
}
