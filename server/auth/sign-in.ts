// Sign-in. The order of checks is the security design: throttle -> allowlist (any org) ->
// lockout -> (device proof, which decides the hashing lane) -> password -> allowlist (this
// user) -> disabled -> second factor -> device binding -> session. Every refusal before the
// password check looks the same for known and unknown usernames, in any org.
import { randomUUID } from 'node:crypto';
import type { RouteResponse } from '../../shared/gateway/api';
import { normalizeUsername } from '../../shared/gateway/device-message';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../../shared/gateway/policy';
import { appendAudit, audit, type AuditEvent } from '../audit/audit';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import type { HandlerInput } from '../http';
import { orgPolicy } from '../policy';
import { userView } from '../admin/user-views';
import { allowedBySomeOrg, allowedForUser, refusedLockKey } from './allowlist';
import { verifyDeviceSignature } from './device-keys';
import type { HashLane } from './passwords';
import { activeLock, consumeChallengeStatus, createSession, recordFailure, sessionTokens, totpStep, type ChallengeStatus } from './sign-in-helpers';
import { activeTotpSecret, normalizeRecoveryCode, sha256 } from './totp';
import { takeNewDeviceNotices } from './new-devices';
import { ipRefused, raiseAlert } from '../alerts/raise';

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

type Candidate = NonNullable<Awaited<ReturnType<typeof signInCandidate>>>;
type Input = HandlerInput<'signIn'>;
type Body = Input['body'];
/** What every audit entry of one sign-in attempt shares. */
type Base = Pick<AuditEvent, 'orgId' | 'target' | 'sourceIp' | 'actor'>;

async function signInCandidate(db: Executor, username: string) {
  return db
    .selectFrom('users')
    .innerJoin('roles', 'roles.id', 'users.role_id')
    .select([
      'users.id', 'users.org_id', 'users.username', 'users.password_hash', 'users.disabled', 'users.totp_enabled',
      'users.totp_secret', 'users.totp_last_counter', 'users.must_change_password', 'roles.key as role',
    ])
    .where('users.username', '=', username)
    .executeTakeFirst();
}

function lockedError(until: Date): GatewayError {
  return new GatewayError('account_locked', 'too many failed attempts: the account is locked', { lockedUntil: until.toISOString() });
}

export async function signIn(ctx: GatewayContext, { body, sourceIp }: Input): Promise<RouteResponse<'signIn'>> {
  const { db, clock } = ctx;
  const username = normalizeUsername(body.username);
  const now = clock.now();

  const ipWait = await ctx.ipFailures.blockedFor(sourceIp);
  if (ipWait > 0) {
    await audit(db, clock, { action: 'auth.ip_throttled', target: { type: 'username', id: username }, sourceIp });
    throw new GatewayError('rate_limited', 'too many failed sign-ins from this address', { retryAfterSeconds: ipWait });
  }

  const user = await signInCandidate(db, username);
  const policy = user ? await orgPolicy(db, user.org_id) : DEFAULT_ORG_POLICY;
  const base: Base = { orgId: user?.org_id ?? null, target: user ? { type: 'user', id: user.id } : { type: 'username', id: username }, sourceIp, actor: user ? { userId: user.id, username } : null };

  // The allowlist in two steps (server/auth/allowlist.ts): an address no org allows is refused
  // here, the same for every name; one this user's org or role refuses only after the right
  // password, and its failures count on a separate key (lockKey).
  if (!(await allowedBySomeOrg(db, sourceIp))) {
    await ipRefused(ctx, { ...base, sourceIp, action: 'auth.ip_refused', detail: { route: 'sign-in' } }, { userId: user?.id ?? null, username: user ? username : null }, 'sign-in');
    throw new GatewayError('ip_not_allowed', 'sign-in is not allowed from this network address');
  }
  const refusedHere = !!user && !allowedForUser(policy, user.role, sourceIp);
  const lockKey = refusedHere ? refusedLockKey(username) : username;

  const lockedUntil = await activeLock(db, lockKey, now);
  if (lockedUntil) {
    await audit(db, clock, { ...base, action: 'auth.sign_in.failure', detail: { reason: 'locked' } });
    throw lockedError(lockedUntil);
  }

  const proof = await checkDeviceProof(ctx, body, username, user, base, now);
  const passwordOk = await ctx.hasher.verify(user?.password_hash ?? null, body.password, proof.lane);
  if (!user || !passwordOk) {
    await recordFailure(ctx, {
      username: lockKey, sourceIp, lockout: refusedHere ? DEFAULT_ORG_POLICY.lockout : policy.lockout,
      event: { ...base, action: 'auth.sign_in.failure', detail: { reason: 'bad_credentials', ...(refusedHere ? { ipRefused: true } : {}) } },
    });
    throw new GatewayError('invalid_credentials', 'wrong username or password');
  }
  if (refusedHere) {
    await ipRefused(ctx, { ...base, sourceIp, action: 'auth.ip_refused', detail: { route: 'sign-in' } }, { userId: user.id, username }, 'sign-in');
    throw new GatewayError('ip_not_allowed', 'sign-in is not allowed from this network address');
  }
  if (user.disabled) {
    await audit(db, clock, { ...base, action: 'auth.sign_in.failure', detail: { reason: 'disabled' } });
    throw new GatewayError('account_disabled', 'this account is disabled');
  }

  const factor = await secondFactor(ctx, body, user, policy, base, now);
  const totpEnrolmentOnly = !user.totp_enabled && policy.totpRequiredRoles.includes(user.role);
  const device = await deviceBinding(ctx, body, user, policy, base, proof);

  if (ctx.hasher.isOutdated(user.password_hash)) {
    const rehash = await ctx.hasher.hash(body.password, proof.lane);
    await db.updateTable('users').set({ password_hash: rehash }).where('id', '=', user.id).execute();
  }

  const result = await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('login_failures').where('username', '=', username).execute();
    await tx.deleteFrom('account_locks').where('username', '=', username).execute();
    if (factor.recoveryCodeId) {
      const used = await tx.updateTable('recovery_codes').set({ used_at: now }).where('id', '=', factor.recoveryCodeId).where('used_at', 'is', null).returning('id').execute();
      if (used.length === 0) throw new GatewayError('totp_invalid', 'that recovery code was already used');
      await appendAudit(tx, clock, { ...base, action: 'totp.recovery_code_used' });
    }
    if (device?.enrolledNow && body.device) {
      await tx.insertInto('devices').values({
        id: device.id, user_id: user.id, org_id: user.org_id, name: body.device.name, public_key: body.device.publicKey,
        status: 'active', created_at: now, last_seen_at: now, revoked_at: null, owner_notified_at: null,
      }).execute();
      await raiseAlert(tx, ctx, { kind: 'new_device', orgId: user.org_id, userId: user.id, username, deviceId: device.id, deviceName: body.device.name, sourceIp });
      await appendAudit(tx, clock, {
        ...base, action: 'device.enrolled', deviceId: device.id,
        target: { type: 'device', id: device.id }, detail: { name: body.device.name, publicKey: body.device.publicKey, userId: user.id },
      });
    } else if (device) {
      await tx.updateTable('devices').set({ last_seen_at: now }).where('id', '=', device.id).execute();
    }
    const newDevices = await takeNewDeviceNotices(tx, user.id, device?.enrolledNow ? device.id : null, now);
    const session = await createSession(tx, ctx, { userId: user.id, orgId: user.org_id, deviceId: device?.id ?? null, sourceIp, policy, totpEnrolmentOnly });
    await appendAudit(tx, clock, {
      ...base, action: 'auth.sign_in.success', deviceId: device?.id ?? null,
      detail: { sessionId: session.sessionId, secondFactor: factor.totpCounter !== null ? 'totp' : factor.recoveryCodeId ? 'recovery_code' : 'none', totpEnrolmentOnly, ...(user.must_change_password ? { passwordChangeRequired: true } : {}) },
    });
    return { ...session, newDevices };
  });

  return {
    tokens: await sessionTokens(ctx, { ...result, userId: user.id, orgId: user.org_id, deviceId: device?.id ?? null, policy, lastSeen: now }),
    user: await userView(db, user.id, now),
    device,
    totpEnrolmentRequired: totpEnrolmentOnly,
    passwordChangeRequired: user.must_change_password,
    recoveryCodeUsed: factor.recoveryCodeId !== null,
    newDevices: result.newDevices,
  };
}

interface ProofCheck {
  status: ChallengeStatus | null;
  signatureOk: boolean;
  lane: HashLane;
}

/**
 * The device proof is checked before the password, cheaply (one conditional UPDATE of the
 * challenge, one Ed25519 verify, one lookup), because it decides the hashing lane: a valid
 * signature of a fresh challenge by a device already enrolled for this user is the priority
 * lane (server/auth/passwords.ts), which guessers without the key cannot enter. The lookup
 * runs for unknown names too (same queries either way); the refusals keep their place in the
 * order (after the password, in deviceBinding).
 */
async function checkDeviceProof(ctx: GatewayContext, body: Body, username: string, user: Candidate | undefined, base: Base, now: Date): Promise<ProofCheck> {
  const proof = body.device;
  if (!proof) return { status: null, signatureOk: false, lane: 'normal' };
  const status = await consumeChallengeStatus(ctx.db, { challenge: proof.challenge, username, purpose: 'sign-in', now });
  if (status !== 'ok') {
    await ctx.securityAudit.record(base.sourceIp!, { ...base, action: 'auth.challenge_replayed', detail: { route: 'sign-in', reason: status } });
  }
  const signatureOk = verifyDeviceSignature({ ...proof, purpose: 'sign-in', username });
  const enrolled = await ctx.db
    .selectFrom('devices')
    .select('id')
    .where('user_id', '=', user?.id ?? NIL_UUID)
    .where('public_key', '=', proof.publicKey)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return { status, signatureOk, lane: status === 'ok' && signatureOk && enrolled ? 'priority' : 'normal' };
}

/** TOTP (consumed atomically) or an unused recovery code, when the user has 2FA; failures count toward lockout. */
async function secondFactor(
  ctx: GatewayContext, body: Body, user: Candidate, policy: OrgPolicy, base: Base, now: Date,
): Promise<{ totpCounter: number | null; recoveryCodeId: string | null }> {
  const totpSecret = activeTotpSecret(user);
  if (!totpSecret) return { totpCounter: null, recoveryCodeId: null };
  if (!body.totp && !body.recoveryCode) throw new GatewayError('totp_required', 'enter the 6-digit code from your authenticator app');
  let totpCounter: number | null = null;
  let recoveryCodeId: string | null = null;
  if (body.totp) {
    const step = await totpStep(ctx.db, { id: user.id, username: user.username, totpSecret, lastCounter: user.totp_last_counter }, body.totp, now);
    totpCounter = 'counter' in step ? step.counter : null;
  } else if (body.recoveryCode) {
    const code = await ctx.db
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
      username: user.username, sourceIp: base.sourceIp!, lockout: policy.lockout,
      event: { ...base, action: 'auth.sign_in.failure', detail: { reason: body.totp ? 'totp_invalid' : 'recovery_code_invalid' } },
    });
    if (locked) throw lockedError(locked);
    throw new GatewayError('totp_invalid', 'that code is not valid (or was already used)');
  }
  return { totpCounter, recoveryCodeId };
}

/** For roles bound to a device: the proof must be fresh and valid, of the enrolled device (or enrol the first). */
async function deviceBinding(
  ctx: GatewayContext, body: Body, user: Candidate, policy: OrgPolicy, base: Base, proofCheck: ProofCheck,
): Promise<{ id: string; name: string; enrolledNow: boolean } | null> {
  if (!policy.deviceBindingRoles.includes(user.role)) return null;
  const { db, clock } = ctx;
  const proof = body.device;
  if (!proof) {
    await audit(db, clock, { ...base, action: 'auth.sign_in.failure', detail: { reason: 'device_proof_missing' } });
    throw new GatewayError('device_signature_required', 'this account is bound to a device: sign a challenge with the device key');
  }
  if (proofCheck.status !== 'ok') {
    throw new GatewayError('challenge_invalid', 'challenge unknown, expired, already used, or not issued for this sign-in');
  }
  const reject = async (reason: string, code: 'signature_invalid' | 'device_revoked' | 'device_mismatch', message: string): Promise<never> => {
    await audit(db, clock, { ...base, action: 'device.rejected', detail: { reason, publicKey: proof.publicKey, name: proof.name } });
    throw new GatewayError(code, message);
  };
  if (!proofCheck.signatureOk) await reject('bad_signature', 'signature_invalid', 'the device signature does not verify');
  const devices = await db.selectFrom('devices').select(['id', 'name', 'public_key', 'status']).where('user_id', '=', user.id).execute();
  if (devices.some((d) => d.status === 'revoked' && d.public_key === proof.publicKey)) {
    await reject('revoked', 'device_revoked', 'this device was revoked by an administrator');
  }
  const active = devices.find((d) => d.status === 'active');
  if (active && active.public_key !== proof.publicKey) {
    await reject('not_enrolled_device', 'device_mismatch', 'this account is bound to another device: ask an administrator to reset the binding');
  }
  return active ? { id: active.id, name: active.name, enrolledNow: false } : { id: randomUUID(), name: proof.name, enrolledNow: true };
}
