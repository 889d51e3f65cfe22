// /me/*: the signed-in user's own account: profile, password, TOTP.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { appendAudit } from '../audit/audit';
import { preparePassword, storePassword } from '../auth/password-change';
import { activeLock, recordFailure, revokeSessions } from '../auth/sign-in-helpers';
import { checkTotp, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, sha256, totpEnrolment } from '../auth/totp';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route } from '../http';
import { orgPolicy } from '../policy';
import { actorOf, type Principal } from '../principal';
import { userView } from './views';

async function account(db: Executor, userId: string) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'password_hash', 'totp_secret', 'totp_enabled', 'totp_last_counter'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}

async function replaceRecoveryCodes(tx: Executor, userId: string): Promise<string[]> {
  const codes = newRecoveryCodes();
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await tx
    .insertInto('recovery_codes')
    .values(codes.map((c) => ({ id: randomUUID(), user_id: userId, code_hash: sha256(normalizeRecoveryCode(c)), used_at: null })))
    .execute();
  return codes;
}

export function registerMeRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  const event = (p: Principal, action: string, detail?: Record<string, unknown>) => ({
    orgId: p.orgId, actor: actorOf(p), action, sourceIp: p.sourceIp, deviceId: p.deviceId, target: { type: 'user', id: p.userId }, detail,
  });

  /** A wrong TOTP code on an authenticated route still counts toward lockout (no free guessing). */
  const requireCode = async (p: Principal, secret: string, code: string, lastCounter: number | null) => {
    const counter = checkTotp(secret, p.username, code, clock.now(), lastCounter);
    if (counter === null) {
      const policy = await orgPolicy(db, p.orgId);
      await recordFailure(ctx, { username: p.username, sourceIp: p.sourceIp, lockout: policy.lockout, event: event(p, 'totp.code_rejected') });
      throw new GatewayError('totp_invalid', 'that code is not valid (or was already used)');
    }
    return counter;
  };

  route(app, ctx, 'me', async ({ principal }) => ({
    user: await userView(db, principal.userId, clock.now()),
    sessionId: principal.sessionId,
    deviceId: principal.deviceId,
  }));

  route(app, ctx, 'clientPolicy', async ({ principal }) => (await orgPolicy(db, principal.orgId)).client);

  // Unlocking the idle screen: the password again (+TOTP when the user has it). Failures count
  // toward lockout, and a lockout here ends every session of the user: whoever sits at a
  // locked screen guessing is not to be trusted with the open session.
  route(app, ctx, 'reverify', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    const policy = await orgPolicy(db, principal.orgId);
    const now = clock.now();
    const failed = async (reason: string, code: 'invalid_credentials' | 'totp_invalid') => {
      const locked = await recordFailure(ctx, {
        username: user.username, sourceIp: principal.sourceIp, lockout: policy.lockout, event: event(principal, 'session.unlock_failed', { reason }),
      });
      if (locked) {
        await db.transaction().execute((tx) => revokeSessions(tx, { userId: user.id }, 'locked', now));
        throw new GatewayError('account_locked', 'too many failed attempts: the account is locked', { lockedUntil: locked.toISOString() });
      }
      throw new GatewayError(code, code === 'totp_invalid' ? 'that code is not valid (or was already used)' : 'wrong password');
    };
    const locked = await activeLock(db, user.username, now);
    if (locked) throw new GatewayError('account_locked', 'the account is locked', { lockedUntil: locked.toISOString() });
    if (!(await ctx.hasher.verify(user.password_hash, body.password))) await failed('bad_password', 'invalid_credentials');
    let counter: number | null = null;
    if (user.totp_enabled && user.totp_secret) {
      if (!body.totp) throw new GatewayError('totp_required', 'enter the 6-digit code from your authenticator app');
      counter = checkTotp(user.totp_secret, user.username, body.totp, now, user.totp_last_counter === null ? null : Number(user.totp_last_counter));
      if (counter === null) await failed('totp_invalid', 'totp_invalid');
    }
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('login_failures').where('username', '=', user.username).execute();
      if (counter !== null) await tx.updateTable('users').set({ totp_last_counter: counter }).where('id', '=', user.id).execute();
      await appendAudit(tx, clock, event(principal, 'session.unlocked', { secondFactor: counter !== null ? 'totp' : 'none' }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'lockEvent', async ({ principal, body }) => {
    await db.transaction().execute((tx) => appendAudit(tx, clock, event(principal, 'session.locked', { reason: body.reason })));
    return { ok: true as const };
  });

  route(app, ctx, 'changePassword', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    const policy = await orgPolicy(db, principal.orgId);
    if (!(await ctx.hasher.verify(user.password_hash, body.currentPassword))) {
      const locked = await recordFailure(ctx, {
        username: user.username, sourceIp: principal.sourceIp, lockout: policy.lockout, event: event(principal, 'user.password_change_failed'),
      });
      if (locked) {
        await db.transaction().execute((tx) => revokeSessions(tx, { userId: user.id }, 'locked', clock.now()));
        throw new GatewayError('account_locked', 'too many failed attempts: the account is locked', { lockedUntil: locked.toISOString() });
      }
      throw new GatewayError('invalid_credentials', 'current password is wrong');
    }
    const hash = await preparePassword(ctx, user, body.newPassword, policy);
    await db.transaction().execute(async (tx) => {
      await storePassword(tx, ctx, user, hash);
      // Every other session of this user ends: a changed password must lock out whoever knew the old one.
      const others = await tx
        .updateTable('sessions')
        .set({ revoked_at: clock.now(), revoke_reason: 'password_changed' })
        .where('user_id', '=', user.id)
        .where('id', '!=', principal.sessionId)
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute();
      await appendAudit(tx, clock, event(principal, 'user.password_changed', { otherSessionsRevoked: others.length }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'totpEnrol', async ({ principal }) => {
    const user = await account(db, principal.userId);
    if (user.totp_enabled) throw new GatewayError('conflict', 'TOTP is already enabled: disable it first to enrol a new authenticator');
    const secret = newTotpSecret();
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_secret: secret, totp_last_counter: null }).where('id', '=', user.id).execute();
      await appendAudit(tx, clock, event(principal, 'totp.enrolment_started'));
    });
    return totpEnrolment(secret, user.username);
  });

  route(app, ctx, 'totpConfirm', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    if (user.totp_enabled) throw new GatewayError('conflict', 'TOTP is already enabled');
    if (!user.totp_secret) throw new GatewayError('conflict', 'start with POST /me/totp/enrol');
    const counter = await requireCode(principal, user.totp_secret, body.code, null);
    const codes = await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_enabled: true, totp_last_counter: counter }).where('id', '=', user.id).execute();
      await tx.updateTable('sessions').set({ totp_enrolment_only: false }).where('id', '=', principal.sessionId).execute();
      const list = await replaceRecoveryCodes(tx, user.id);
      await appendAudit(tx, clock, event(principal, 'totp.enabled'));
      return list;
    });
    return { recoveryCodes: codes };
  });

  route(app, ctx, 'totpDisable', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    const policy = await orgPolicy(db, principal.orgId);
    if (!user.totp_enabled || !user.totp_secret) throw new GatewayError('conflict', 'TOTP is not enabled');
    if (policy.totpRequiredRoles.includes(principal.role)) throw new GatewayError('forbidden', 'policy requires TOTP for your role');
    if (!(await ctx.hasher.verify(user.password_hash, body.password))) {
      await recordFailure(ctx, { username: user.username, sourceIp: principal.sourceIp, lockout: policy.lockout, event: event(principal, 'totp.disable_failed') });
      throw new GatewayError('invalid_credentials', 'password is wrong');
    }
    await requireCode(principal, user.totp_secret, body.code, user.totp_last_counter === null ? null : Number(user.totp_last_counter));
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_enabled: false, totp_secret: null, totp_last_counter: null }).where('id', '=', user.id).execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await appendAudit(tx, clock, event(principal, 'totp.disabled'));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'recoveryCodes', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    if (!user.totp_enabled || !user.totp_secret) throw new GatewayError('conflict', 'TOTP is not enabled');
    const counter = await requireCode(principal, user.totp_secret, body.code, user.totp_last_counter === null ? null : Number(user.totp_last_counter));
    const codes = await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_last_counter: counter }).where('id', '=', user.id).execute();
      const list = await replaceRecoveryCodes(tx, user.id);
      await appendAudit(tx, clock, event(principal, 'totp.recovery_codes_replaced'));
      return list;
    });
    return { recoveryCodes: codes };
  });
}
