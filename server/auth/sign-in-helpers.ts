// Pieces of the sign-in and refresh flows that other routes reuse: lockout bookkeeping,
// challenge consumption, session creation.
import { randomBytes, randomUUID } from 'node:crypto';
import type { OrgPolicy } from '../../shared/gateway/policy';
import { appendAudit, eventBy, type AuditEvent } from '../audit/audit';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { orgPolicy } from '../policy';
import type { SessionEvents } from '../session-events';
import { checkTotp } from './totp';
import { newRefreshToken } from './tokens';
import { raiseAlert } from '../alerts/raise';

/**
 * When a session ends if nothing more happens: its idle limit after its last activity, capped
 * by its absolute end.
 */
export function sessionIdleEnd(lastSeenAt: Date, absoluteExpiresAt: Date, policy: Pick<OrgPolicy, 'sessions'>): Date {
  return new Date(Math.min(lastSeenAt.getTime() + policy.sessions.idleMinutes * 60_000, absoluteExpiresAt.getTime()));
}

/**
 * The one session-expiry rule: past its absolute end, or (`idle` given) idle longer than the org
 * allows. Without `idle`: a connection that is itself the activity (an open /ws) is never idle.
 */
export function sessionExpired(
  session: { absolute_expires_at: Date },
  now: Date,
  idle?: { lastSeenAt: Date; policy: Pick<OrgPolicy, 'sessions'> },
): boolean {
  if (now >= session.absolute_expires_at) return true;
  return !!idle && now >= sessionIdleEnd(idle.lastSeenAt, session.absolute_expires_at, idle.policy);
}

/**
 * The one TOTP check: the code valid for this user's secret now (±1 step), newer than the last
 * step used, and consumed atomically (of concurrent uses of one code exactly one passes).
 * Returns the step, or why not.
 */
export async function totpStep(
  db: Executor,
  user: { id: string; username: string; totpSecret: string; lastCounter: number | string | bigint | null },
  code: string,
  now: Date,
): Promise<{ counter: number } | { refused: 'totp_invalid' | 'totp_replayed' }> {
  const counter = checkTotp(user.totpSecret, user.username, code, now, user.lastCounter === null ? null : Number(user.lastCounter));
  if (counter === null) return { refused: 'totp_invalid' };
  if (!(await consumeTotpStep(db, user.id, counter))) return { refused: 'totp_replayed' };
  return { counter };
}

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
  await ctx.ipFailures.record(input.sourceIp);
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
    // Every lockout passes here (sign-in password or second factor, reverify, password change,
    // TOTP): the org's admins get the alert (server/alerts/raise.ts). An unknown name has no org.
    const orgId = input.event.orgId ?? null;
    if (orgId) {
      const userId = input.event.target?.type === 'user' ? input.event.target.id : null;
      const via = input.username.includes(':') ? `${input.event.action}:refused_address` : input.event.action;
      await raiseAlert(tx, ctx, { kind: 'account_locked', orgId, userId, username: input.event.actor?.username ?? null, sourceIp: input.sourceIp, via, lockedUntil });
    }
    return lockedUntil;
  });
}

export type ChallengeStatus = 'ok' | 'replayed' | 'expired' | 'foreign' | 'unknown';

/** Marks a challenge used if it is fresh, unused and was issued for this user and purpose. */
export async function consumeChallenge(
  db: Executor,
  input: { challenge: string; username: string; purpose: 'sign-in' | 'refresh'; now: Date },
): Promise<boolean> {
  return (await consumeChallengeStatus(db, input)) === 'ok';
}

/** consumeChallenge, and when refused, why (for the audit entry: replayed, expired, issued for another user or purpose, unknown). */
export async function consumeChallengeStatus(
  db: Executor,
  input: { challenge: string; username: string; purpose: 'sign-in' | 'refresh'; now: Date },
): Promise<ChallengeStatus> {
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
  if (row) return 'ok';
  const seen = await db
    .selectFrom('challenges')
    .select(['username', 'purpose', 'used_at', 'expires_at'])
    .where('challenge', '=', input.challenge)
    .executeTakeFirst();
  if (!seen) return 'unknown';
  if (seen.username !== input.username || seen.purpose !== input.purpose) return 'foreign';
  if (seen.used_at) return 'replayed';
  return 'expired';
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
  const idle = sessionIdleEnd(input.lastSeen, input.absoluteExpiresAt, input.policy);
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt.toISOString(),
    refreshToken: input.refreshToken,
    sessionId: input.sessionId,
    idleExpiresAt: idle.toISOString(),
    absoluteExpiresAt: input.absoluteExpiresAt.toISOString(),
  };
}

/**
 * Revokes sessions (one, a device's, or all of a user's) that are still live; returns how
 * many. The one way sessions end: it publishes `sessions_revoked` on the session-event bus,
 * so every open /ws of those sessions closes (server/ws/live-principal.ts) and the SIP ledger records
 * the cut (server/sip/access.ts). It is published as the UPDATE returns, inside the caller's
 * transaction: listeners treat it as authoritative for the named sessions (a revocation
 * rolled back later only costs the client a reconnect; a PostgreSQL NOTIFY backing would be
 * delivered at commit instead).
 */
export async function revokeSessions(
  tx: Executor,
  where: { sessionId?: string; userId?: string; deviceId?: string; exceptSessionId?: string },
  reason: string,
  now: Date,
  events: SessionEvents,
): Promise<number> {
  let q = tx.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('revoked_at', 'is', null);
  if (where.sessionId) q = q.where('id', '=', where.sessionId);
  if (where.userId) q = q.where('user_id', '=', where.userId);
  if (where.deviceId) q = q.where('device_id', '=', where.deviceId);
  if (where.exceptSessionId) q = q.where('id', '!=', where.exceptSessionId);
  const rows = await q.returning(['id', 'user_id']).execute();
  if (rows.length > 0) {
    await events.publishIn(tx, {
      kind: 'sessions_revoked',
      sessionIds: rows.map((r) => r.id),
      userIds: [...new Set(rows.map((r) => r.user_id))],
      reason,
      scope: where.sessionId ? 'session' : where.deviceId ? 'device' : 'user',
    });
  }
  return rows.length;
}

/**
 * Consumes a TOTP time step atomically: the conditional UPDATE succeeds for exactly one of
 * any number of concurrent uses of the same (or an older) step, on PostgreSQL (the row lock
 * makes a second UPDATE re-check the WHERE after the first commits) and PGlite alike. Every
 * check of a TOTP code (sign-in, reverify, TOTP confirm/disable, recovery codes) goes
 * through here: a code opens one thing once.
 */
export async function consumeTotpStep(db: Executor, userId: string, counter: number): Promise<boolean> {
  const row = await db
    .updateTable('users')
    .set({ totp_last_counter: counter })
    .where('id', '=', userId)
    .where((eb) => eb.or([eb('totp_last_counter', 'is', null), eb('totp_last_counter', '<', counter)]))
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The one check of a secret on an authenticated route (reverify, password change, TOTP
 * confirm / disable, recovery codes): the active lock first (refused with account_locked
 * even for the right secret), then the password (priority hashing lane: a live session),
 * then the TOTP code (consumed atomically). A failure counts toward lockout like a failed
 * sign-in; the failure that locks the account also ends every session of the user (whoever
 * guesses at an open session is not to be trusted with it).
 */
export async function verifySecretFor(
  ctx: GatewayContext,
  p: { userId: string; orgId: string; username: string; sourceIp: string; deviceId: string | null },
  input: { action: string; password?: string; totp?: { secret: string; code: string } },
): Promise<{ totpCounter: number | null }> {
  const now = ctx.clock.now();
  const lockedUntil = await activeLock(ctx.db, p.username, now);
  const event = (reason: string): AuditEvent => eventBy(p, input.action, { type: 'user', id: p.userId }, { reason });
  if (lockedUntil) {
    await ctx.securityAudit.record(`${p.userId}|${p.sourceIp}`, event('locked'));
    throw new GatewayError('account_locked', 'the account is locked', { lockedUntil: lockedUntil.toISOString() });
  }
  const fail = async (reason: string, code: 'invalid_credentials' | 'totp_invalid'): Promise<never> => {
    const policy = await orgPolicy(ctx.db, p.orgId);
    const locked = await recordFailure(ctx, { username: p.username, sourceIp: p.sourceIp, lockout: policy.lockout, event: event(reason) });
    if (locked) {
      await ctx.db.transaction().execute((tx) => revokeSessions(tx, { userId: p.userId }, 'locked', now, ctx.sessionEvents));
      throw new GatewayError('account_locked', 'too many failed attempts: the account is locked', { lockedUntil: locked.toISOString() });
    }
    throw new GatewayError(code, code === 'totp_invalid' ? 'that code is not valid (or was already used)' : 'wrong password');
  };
  const user = await ctx.db.selectFrom('users').select(['password_hash', 'totp_last_counter']).where('id', '=', p.userId).executeTakeFirstOrThrow();
  if (input.password !== undefined && !(await ctx.hasher.verify(user.password_hash, input.password, 'priority'))) {
    return fail('bad_password', 'invalid_credentials');
  }
  let totpCounter: number | null = null;
  if (input.totp) {
    const step = await totpStep(ctx.db, { id: p.userId, username: p.username, totpSecret: input.totp.secret, lastCounter: user.totp_last_counter }, input.totp.code, now);
    if ('refused' in step) return fail(step.refused, 'totp_invalid');
    totpCounter = step.counter;
  }
  return { totpCounter };
}
