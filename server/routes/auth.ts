// /auth/*: challenge, sign-in, refresh, sign-out. The order of checks in sign-in is the
// security design: throttle -> allowlist (any org) -> lockout -> password -> allowlist (this
// user) -> TOTP -> device, and every refusal before the password check looks the same for
// known and unknown usernames, in any org.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RouteResponse } from '../../shared/gateway/api';
import { normalizeUsername } from '../../shared/gateway/device-message';
import { DEFAULT_ORG_POLICY } from '../../shared/gateway/policy';
import { appendAudit, audit } from '../audit/audit';
import { verifyDeviceSignature } from '../auth/device-keys';
import { allowedBySomeOrg, allowedForUser, refusedLockKey } from '../auth/allowlist';
import type { HashLane } from '../auth/passwords';
import {
  activeLock, consumeChallengeStatus, consumeTotpStep, createSession, newChallenge, recordFailure, revokeSessions, sessionTokens,
  type ChallengeStatus,
} from '../auth/sign-in-helpers';
import { hashRefreshToken, newRefreshToken } from '../auth/tokens';
import { checkTotp, normalizeRecoveryCode, sha256 } from '../auth/totp';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route, type HandlerInput } from '../http';
import { orgPolicy } from '../policy';
import { actorOf } from '../principal';
import { userView } from './views';

async function signInCandidate(db: Executor, username: string) {
  return db
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select([
      'users.id', 'users.org_id', 'users.username', 'users.password_hash', 'users.disabled', 'users.totp_enabled',
      'users.totp_secret', 'users.totp_last_counter', 'roles.key as role',
    ])
    .where('users.username', '=', username)
    .executeTakeFirst();
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

function lockedError(until: Date): GatewayError {
  return new GatewayError('account_locked', 'too many failed attempts: the account is locked', { lockedUntil: until.toISOString() });
}

export function registerAuthRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'challenge', async ({ body }) => {
    const now = clock.now();
    const challenge = newChallenge();
    const expiresAt = new Date(now.getTime() + ctx.config.challengeTtlSeconds * 1000);
    await db
      .insertInto('challenges')
      .values({ challenge, username: normalizeUsername(body.username), purpose: body.purpose, expires_at: expiresAt, used_at: null })
      .execute();
    await db.deleteFrom('challenges').where('expires_at', '<', new Date(now.getTime() - 3_600_000)).execute();
    return { challenge, expiresAt: expiresAt.toISOString() };
  });

  const signIn = async ({ body, sourceIp }: HandlerInput<'signIn'>): Promise<RouteResponse<'signIn'>> => {
    const username = normalizeUsername(body.username);
    const now = clock.now();

    const ipWait = ctx.ipFailures.blockedFor(sourceIp);
    if (ipWait > 0) {
      await audit(db, clock, { action: 'auth.ip_throttled', target: { type: 'username', id: username }, sourceIp });
      throw new GatewayError('rate_limited', 'too many failed sign-ins from this address', { retryAfterSeconds: ipWait });
    }

    const user = await signInCandidate(db, username);
    const policy = user ? await orgPolicy(db, user.org_id) : DEFAULT_ORG_POLICY;
    const target = user ? { type: 'user', id: user.id } : { type: 'username', id: username };
    const base = { orgId: user?.org_id ?? null, target, sourceIp, actor: user ? { userId: user.id, username } : null };

    // The allowlist in two steps (server/auth/allowlist.ts): an address no org allows is
    // refused here, the same for every name; one this user's org or role refuses only after
    // the right password, and its failures count on a separate key (lockKey).
    if (!(await allowedBySomeOrg(db, sourceIp))) {
      await audit(db, clock, { ...base, action: 'auth.ip_refused', detail: { route: 'sign-in' } });
      throw new GatewayError('ip_not_allowed', 'sign-in is not allowed from this network address');
    }
    const refusedHere = !!user && !allowedForUser(policy, user.role, sourceIp);
    const lockKey = refusedHere ? refusedLockKey(username) : username;

    const lockedUntil = await activeLock(db, lockKey, now);
    if (lockedUntil) {
      await audit(db, clock, { ...base, action: 'auth.sign_in.failure', detail: { reason: 'locked' } });
      throw lockedError(lockedUntil);
    }

    // The device proof is checked before the password, cheaply (one conditional UPDATE of the
    // challenge, one Ed25519 verify, one lookup), because it decides the hashing lane: a valid
    // signature of a fresh challenge by a device already enrolled for this user is the
    // priority lane (server/auth/passwords.ts), which guessers without the key cannot enter.
    // The lookup runs for unknown names too (same queries either way); the refusals keep
    // their place in the order (after the password, in the device-binding step below).
    const proof = body.device;
    let challengeStatus: ChallengeStatus | null = null;
    let signatureOk = false;
    let lane: HashLane = 'normal';
    if (proof) {
      challengeStatus = await consumeChallengeStatus(db, { challenge: proof.challenge, username, purpose: 'sign-in', now });
      if (challengeStatus !== 'ok') {
        await ctx.securityAudit.record(sourceIp, { ...base, action: 'auth.challenge_replayed', detail: { route: 'sign-in', reason: challengeStatus } });
      }
      signatureOk = verifyDeviceSignature({ ...proof, purpose: 'sign-in', username });
      const enrolled = await db
        .selectFrom('devices')
        .select('id')
        .where('user_id', '=', user?.id ?? NIL_UUID)
        .where('public_key', '=', proof.publicKey)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (challengeStatus === 'ok' && signatureOk && enrolled) lane = 'priority';
    }

    const passwordOk = await ctx.hasher.verify(user?.password_hash ?? null, body.password, lane);
    if (!user || !passwordOk) {
      await recordFailure(ctx, {
        username: lockKey, sourceIp, lockout: refusedHere ? DEFAULT_ORG_POLICY.lockout : policy.lockout,
        event: { ...base, action: 'auth.sign_in.failure', detail: { reason: 'bad_credentials', ...(refusedHere ? { ipRefused: true } : {}) } },
      });
      throw new GatewayError('invalid_credentials', 'wrong username or password');
    }
    if (refusedHere) {
      await audit(db, clock, { ...base, action: 'auth.ip_refused', detail: { route: 'sign-in' } });
      throw new GatewayError('ip_not_allowed', 'sign-in is not allowed from this network address');
    }
    if (user.disabled) {
      await audit(db, clock, { ...base, action: 'auth.sign_in.failure', detail: { reason: 'disabled' } });
      throw new GatewayError('account_disabled', 'this account is disabled');
    }

    // Second factor.
    let totpCounter: number | null = null;
    let recoveryCodeId: string | null = null;
    if (user.totp_enabled && user.totp_secret) {
      if (!body.totp && !body.recoveryCode) throw new GatewayError('totp_required', 'enter the 6-digit code from your authenticator app');
      if (body.totp) {
        totpCounter = checkTotp(user.totp_secret, username, body.totp, now, user.totp_last_counter === null ? null : Number(user.totp_last_counter));
        // Consumed atomically: of concurrent sign-ins with one code, exactly one gets past here.
        if (totpCounter !== null && !(await consumeTotpStep(db, user.id, totpCounter))) totpCounter = null;
      } else if (body.recoveryCode) {
        const code = await db
          .selectFrom('recovery_codes')
          .select('id')
          .where('user_id', '=', user.id)
          .where('code_hash', '=', sha256(normalizeRecoveryCode(body.recoveryCode)))
          .where('used_at', 'is', null)
          .executeTakeFirst();
        recoveryCodeId = code?.id ?? null;
      }
      if (totpCounter === null && recoveryCodeId === null) {
        const locked = await recordFailure(ctx, {
          username, sourceIp, lockout: policy.lockout,
          event: { ...base, action: 'auth.sign_in.failure', detail: { reason: body.totp ? 'totp_invalid' : 'recovery_code_invalid' } },
        });
        if (locked) throw lockedError(locked);
        throw new GatewayError('totp_invalid', 'that code is not valid (or was already used)');
      }
    }
    const totpEnrolmentOnly = !user.totp_enabled && policy.totpRequiredRoles.includes(user.role);

    // Device binding.
    let device: { id: string; name: string; enrolledNow: boolean } | null = null;
    if (policy.deviceBindingRoles.includes(user.role)) {
      if (!proof) {
        await audit(db, clock, { ...base, action: 'auth.sign_in.failure', detail: { reason: 'device_proof_missing' } });
        throw new GatewayError('device_signature_required', 'this account is bound to a device: sign a challenge with the device key');
      }
      if (challengeStatus !== 'ok') {
        throw new GatewayError('challenge_invalid', 'challenge unknown, expired, already used, or not issued for this sign-in');
      }
      const reject = async (reason: string, code: 'signature_invalid' | 'device_revoked' | 'device_mismatch', message: string) => {
        await audit(db, clock, { ...base, action: 'device.rejected', detail: { reason, publicKey: proof.publicKey, name: proof.name } });
        throw new GatewayError(code, message);
      };
      if (!signatureOk) {
        await reject('bad_signature', 'signature_invalid', 'the device signature does not verify');
      }
      const devices = await db.selectFrom('devices').select(['id', 'name', 'public_key', 'status']).where('user_id', '=', user.id).execute();
      if (devices.some((d) => d.status === 'revoked' && d.public_key === proof.publicKey)) {
        await reject('revoked', 'device_revoked', 'this device was revoked by an administrator');
      }
      const active = devices.find((d) => d.status === 'active');
      if (active && active.public_key !== proof.publicKey) {
        await reject('not_enrolled_device', 'device_mismatch', 'this account is bound to another device: ask an administrator to reset the binding');
      }
      device = active ? { id: active.id, name: active.name, enrolledNow: false } : { id: randomUUID(), name: proof.name, enrolledNow: true };
    }

    if (ctx.hasher.isOutdated(user.password_hash)) {
      const rehash = await ctx.hasher.hash(body.password, lane);
      await db.updateTable('users').set({ password_hash: rehash }).where('id', '=', user.id).execute();
    }

    const result = await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('login_failures').where('username', '=', username).execute();
      await tx.deleteFrom('account_locks').where('username', '=', username).execute();
      if (recoveryCodeId) {
        const used = await tx.updateTable('recovery_codes').set({ used_at: now }).where('id', '=', recoveryCodeId).where('used_at', 'is', null).returning('id').execute();
        if (used.length === 0) throw new GatewayError('totp_invalid', 'that recovery code was already used');
        await appendAudit(tx, clock, { ...base, action: 'totp.recovery_code_used' });
      }
      if (device?.enrolledNow && body.device) {
        await tx.insertInto('devices').values({
          id: device.id, user_id: user.id, org_id: user.org_id, name: body.device.name, public_key: body.device.publicKey,
          status: 'active', created_at: now, last_seen_at: now, revoked_at: null,
        }).execute();
        await tx.insertInto('device_alerts').values({
          id: randomUUID(), org_id: user.org_id, user_id: user.id, device_id: device.id, source_ip: sourceIp,
          created_at: now, acknowledged_at: null, acknowledged_by: null,
        }).execute();
        await appendAudit(tx, clock, {
          ...base, action: 'device.enrolled', deviceId: device.id,
          target: { type: 'device', id: device.id }, detail: { name: body.device.name, publicKey: body.device.publicKey, userId: user.id },
        });
      } else if (device) {
        await tx.updateTable('devices').set({ last_seen_at: now }).where('id', '=', device.id).execute();
      }
      const session = await createSession(tx, ctx, {
        userId: user.id, orgId: user.org_id, deviceId: device?.id ?? null, sourceIp, policy, totpEnrolmentOnly,
      });
      await appendAudit(tx, clock, {
        ...base, action: 'auth.sign_in.success', deviceId: device?.id ?? null,
        detail: { sessionId: session.sessionId, secondFactor: totpCounter !== null ? 'totp' : recoveryCodeId ? 'recovery_code' : 'none', totpEnrolmentOnly },
      });
      return session;
    });

    const view = await userView(db, user.id, now);
    return {
      tokens: await sessionTokens(ctx, { ...result, userId: user.id, orgId: user.org_id, deviceId: device?.id ?? null, policy, lastSeen: now }),
      user: view,
      device,
      totpEnrolmentRequired: totpEnrolmentOnly,
      recoveryCodeUsed: recoveryCodeId !== null,
    };
  };
  // A sign-in without a device proof cannot be in the priority hashing lane: it is admitted
  // by the budget before any lookup (shed at once when the normal lane is full, the same way
  // for every username), so a guessing flood cannot crowd out the rest (server/auth/passwords.ts).
  route(app, ctx, 'signIn', async (input) => {
    const leave = input.body.device ? null : ctx.hasher.budget.enter();
    try {
      return await signIn(input);
    } finally {
      leave?.();
    }
  });

  route(app, ctx, 'refresh', async ({ body, sourceIp }) => {
    const now = clock.now();
    const tokenHash = hashRefreshToken(body.refreshToken);
    const row = await db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .innerJoin('roles', 'roles.id', 'users.role_id')
      .select([
        'refresh_tokens.used_at', 'sessions.id as session_id', 'sessions.user_id', 'sessions.org_id', 'sessions.device_id',
        'sessions.revoked_at', 'sessions.last_seen_at', 'sessions.absolute_expires_at', 'users.username', 'users.disabled', 'roles.key as role',
      ])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) {
      await ctx.securityAudit.record(sourceIp, { action: 'auth.refresh.unknown_token', sourceIp, detail: {} });
      throw new GatewayError('token_invalid', 'unknown refresh token');
    }
    const base = { orgId: row.org_id, actor: { userId: row.user_id, username: row.username }, sourceIp, deviceId: row.device_id, target: { type: 'session', id: row.session_id } };

    const reuse = async () => {
      const revokedNow = await db.transaction().execute(async (tx) => {
        const n = await revokeSessions(tx, { sessionId: row.session_id }, 'refresh_token_reused', now, ctx.sessionEvents);
        if (n > 0) await appendAudit(tx, clock, { ...base, action: 'auth.token_reused', detail: { sessionRevoked: true } });
        return n > 0;
      });
      // Further replays of a token whose session is already revoked: coalesced (a stolen
      // spent token must not be a way to grow the audit log).
      if (!revokedNow) await ctx.securityAudit.record(`${row.session_id}|${sourceIp}`, { ...base, action: 'auth.token_reused', detail: { sessionRevoked: false } });
      throw new GatewayError('token_reused', 'this refresh token was already used: the session is revoked, sign in again');
    };
    if (row.used_at) await reuse();
    if (row.revoked_at) throw new GatewayError('session_revoked', 'this session was signed out or revoked');
    const policy = await orgPolicy(db, row.org_id);
    if (now >= row.absolute_expires_at || now.getTime() - row.last_seen_at.getTime() >= policy.sessions.idleMinutes * 60_000) {
      throw new GatewayError('session_expired', 'session expired: sign in again');
    }
    if (row.disabled) throw new GatewayError('account_disabled', 'this account is disabled');
    if (!allowedForUser(policy, row.role, sourceIp)) {
      await audit(db, clock, { ...base, action: 'auth.ip_refused', detail: { route: 'refresh' } });
      throw new GatewayError('ip_not_allowed', 'not allowed from this network address');
    }

    if (row.device_id) {
      const device = await db.selectFrom('devices').select(['public_key', 'status']).where('id', '=', row.device_id).executeTakeFirstOrThrow();
      if (device.status !== 'active') {
        await db.transaction().execute(async (tx) => {
          await revokeSessions(tx, { sessionId: row.session_id }, `device_${device.status}`, now, ctx.sessionEvents);
          await appendAudit(tx, clock, { ...base, action: 'device.rejected', detail: { reason: `device_${device.status}`, route: 'refresh' } });
        });
        throw new GatewayError('device_not_enrolled', 'the device of this session is no longer enrolled: sign in again');
      }
      const proof = body.device;
      if (!proof) {
        await ctx.securityAudit.record(sourceIp, { ...base, action: 'auth.refresh.no_device_proof', detail: {} });
        throw new GatewayError('device_signature_required', 'refresh must carry a fresh device signature');
      }
      if (proof.publicKey !== device.public_key) {
        await audit(db, clock, { ...base, action: 'device.rejected', detail: { reason: 'other_key', route: 'refresh' } });
        throw new GatewayError('device_mismatch', 'this session belongs to another device');
      }
      const status = await consumeChallengeStatus(db, { challenge: proof.challenge, username: row.username, purpose: 'refresh', now });
      if (status !== 'ok') {
        await ctx.securityAudit.record(sourceIp, { ...base, action: 'auth.challenge_replayed', detail: { route: 'refresh', reason: status } });
        throw new GatewayError('challenge_invalid', 'challenge unknown, expired, already used, or not issued for a refresh');
      }
      if (!verifyDeviceSignature({ ...proof, purpose: 'refresh', username: row.username })) {
        await audit(db, clock, { ...base, action: 'device.rejected', detail: { reason: 'bad_signature', route: 'refresh' } });
        throw new GatewayError('signature_invalid', 'the device signature does not verify');
      }
    }

    const next = newRefreshToken();
    const rotated = await db.transaction().execute(async (tx) => {
      const spent = await tx
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .returning('token_hash')
        .execute();
      if (spent.length === 0) return false; // lost a race with another use of the same token
      await tx.insertInto('refresh_tokens').values({ token_hash: next.hash, session_id: row.session_id, created_at: now, used_at: null }).execute();
      await tx.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.session_id).execute();
      if (row.device_id) await tx.updateTable('devices').set({ last_seen_at: now }).where('id', '=', row.device_id).execute();
      return true;
    });
    if (!rotated) await reuse();
    return {
      tokens: await sessionTokens(ctx, {
        userId: row.user_id, orgId: row.org_id, sessionId: row.session_id, deviceId: row.device_id, refreshToken: next.token,
        absoluteExpiresAt: row.absolute_expires_at, policy, lastSeen: now,
      }),
    };
  });

  route(app, ctx, 'signOut', async ({ principal, sourceIp }) => {
    await db.transaction().execute(async (tx) => {
      await revokeSessions(tx, { sessionId: principal.sessionId }, 'signed_out', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, {
        orgId: principal.orgId, actor: actorOf(principal), action: 'auth.sign_out', sourceIp, deviceId: principal.deviceId,
        target: { type: 'session', id: principal.sessionId },
      });
    });
    return { ok: true as const };
  });
}
