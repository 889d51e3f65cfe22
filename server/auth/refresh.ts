// Refresh: rotate the refresh token (single use; a reused token revokes its session), for a
// session that is live, of an enabled user, from an allowed address, and, for a device-bound
// session, with a fresh signature of the enrolled device.
import type { RouteResponse } from '../../shared/gateway/api';
import { appendAudit, audit } from '../audit/audit';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import type { HandlerInput } from '../http';
import { orgPolicy } from '../policy';
import { allowedForUser } from './allowlist';
import { ipRefused } from '../alerts/raise';
import { verifyDeviceSignature } from './device-keys';
import { consumeChallengeStatus, revokeSessions, sessionExpired, sessionTokens } from './sign-in-helpers';
import { hashRefreshToken, newRefreshToken } from './tokens';

export async function refresh(ctx: GatewayContext, { body, sourceIp }: HandlerInput<'refresh'>): Promise<RouteResponse<'refresh'>> {
  const { db, clock } = ctx;
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
  if (sessionExpired(row, now, { lastSeenAt: row.last_seen_at, policy })) {
    throw new GatewayError('session_expired', 'session expired: sign in again');
  }
  if (row.disabled) throw new GatewayError('account_disabled', 'this account is disabled');
  if (!allowedForUser(policy, row.role, sourceIp)) {
    await ipRefused(ctx, { ...base, action: 'auth.ip_refused', detail: { route: 'refresh' } }, base.actor, 'refresh');
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
}
