// Pieces of the sign-in and refresh flows that other routes reuse: lockout bookkeeping,
// challenge consumption, session creation.
import { randomBytes, randomUUID } from 'node:crypto';
import type { OrgPolicy } from '../../shared/gateway/policy';
import { appendAudit, type AuditEvent } from '../audit/audit';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { newRefreshToken } from './tokens';

export function newChallenge(): string {
  return randomBytes(32).toString('base64url');
}

export async function activeLock(db: Executor, username: string, now: Date): Promise<Date | null> {
  const row = await db.selectFrom('account_locks').select('locked_until').where('username', '=', username).executeTakeFirst();
  return row && row.locked_until > now ? row.locked_until : null;
}

/**
 * Records a failed attempt (bad password, bad TOTP) for a username, known or not, and
 * locks it when the window fills. Returns the lock end if this failure locked it.
 */
export async function recordFailure(
  ctx: GatewayContext,
  input: { username: string; sourceIp: string; lockout: OrgPolicy['lockout']; event: AuditEvent },
): Promise<Date | null> {
  const now = ctx.clock.now();
  ctx.ipFailures.record(input.sourceIp);
  return ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('login_failures').values({ username: input.username, source_ip: input.sourceIp, at: now }).execute();
    await appendAudit(tx, ctx.clock, input.event);
    const since = new Date(now.getTime() - input.lockout.windowMinutes * 60_000);
    const { count } = await tx
      .selectFrom('login_failures')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('username', '=', input.username)
      .where('at', '>', since)
      .executeTakeFirstOrThrow();
    if (Number(count) < input.lockout.maxFailures) return null;
    const lockedUntil = new Date(now.getTime() + input.lockout.lockMinutes * 60_000);
    await tx
      .insertInto('account_locks')
      .values({ username: input.username, locked_at: now, locked_until: lockedUntil })
      .onConflict((oc) => oc.column('username').doUpdateSet({ locked_at: now, locked_until: lockedUntil }))
      .execute();
    // Failures that caused this lock are spent: after it ends the count starts again.
    await tx.deleteFrom('login_failures').where('username', '=', input.username).execute();
    await appendAudit(tx, ctx.clock, {
      ...input.event,
      action: 'auth.lockout',
      detail: { failures: Number(count), lockedUntil: lockedUntil.toISOString() },
    });
    return lockedUntil;
  });
}

/** Marks a challenge used if it is fresh, unused and was issued for this user and purpose. */
export async function consumeChallenge(
  db: Executor,
  input: { challenge: string; username: string; purpose: 'sign-in' | 'refresh'; now: Date },
): Promise<boolean> {
  const row = await db
    .updateTable('challenges')
    .set({ used_at: input.now })
    .where('challenge', '=', input.challenge)
    .where('username', '=', input.username)
    .where('purpose', '=', input.purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', input.now)
    .returning('challenge')
    .executeTakeFirst();
  return row !== undefined;
}

export async function createSession(
  tx: Executor,
  ctx: GatewayContext,
  input: { userId: string; orgId: string; deviceId: string | null; sourceIp: string; policy: OrgPolicy; totpEnrolmentOnly: boolean },
) {
  const now = ctx.clock.now();
  const sessionId = randomUUID();
  const absoluteExpiresAt = new Date(now.getTime() + input.policy.sessions.absoluteHours * 3_600_000);
  await tx
    .insertInto('sessions')
    .values({
      id: sessionId,
      user_id: input.userId,
      org_id: input.orgId,
      device_id: input.deviceId,
      created_at: now,
      last_seen_at: now,
      absolute_expires_at: absoluteExpiresAt,
      revoked_at: null,
      revoke_reason: null,
      source_ip: input.sourceIp,
      totp_enrolment_only: input.totpEnrolmentOnly,
    })
    .execute();
  const refresh = newRefreshToken();
  await tx.insertInto('refresh_tokens').values({ token_hash: refresh.hash, session_id: sessionId, created_at: now, used_at: null }).execute();
  return { sessionId, refreshToken: refresh.token, absoluteExpiresAt };
}

export async function sessionTokens(
  ctx: GatewayContext,
  input: { userId: string; orgId: string; sessionId: string; deviceId: string | null; refreshToken: string; absoluteExpiresAt: Date; policy: OrgPolicy; lastSeen: Date },
) {
  const minutes = Math.min(
    input.policy.sessions.accessTokenMinutes,
    Math.max(1, Math.floor((input.absoluteExpiresAt.getTime() - ctx.clock.now().getTime()) / 60_000)),
  );
  const access = await ctx.accessTokens.sign(
    { userId: input.userId, orgId: input.orgId, sessionId: input.sessionId, deviceId: input.deviceId },
    minutes,
  );
  const idle = new Date(Math.min(input.lastSeen.getTime() + input.policy.sessions.idleMinutes * 60_000, input.absoluteExpiresAt.getTime()));
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt.toISOString(),
    refreshToken: input.refreshToken,
    sessionId: input.sessionId,
    idleExpiresAt: idle.toISOString(),
    absoluteExpiresAt: input.absoluteExpiresAt.toISOString(),
  };
}

/** Revokes sessions (one or all of a user's) that are still live; returns how many. */
export async function revokeSessions(
  tx: Executor,
  where: { sessionId?: string; userId?: string; deviceId?: string },
  reason: string,
  now: Date,
): Promise<number> {
  let q = tx.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('revoked_at', 'is', null);
  if (where.sessionId) q = q.where('id', '=', where.sessionId);
  if (where.userId) q = q.where('user_id', '=', where.userId);
  if (where.deviceId) q = q.where('device_id', '=', where.deviceId);
  const rows = await q.returning('id').execute();
  return rows.length;
}
