// /me/*: the signed-in user's own account: profile, password, TOTP.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { appendAudit, eventBy } from '../audit/audit';
import { preparePassword, storePassword } from './password-change';
import { revokeSessions, verifySecretFor } from './sign-in-helpers';
import { activeTotpSecret, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, sha256, totpEnrolment } from './totp';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route } from '../http';
import { orgPolicy } from '../policy';
import type { Principal } from '../auth/principal-type';
import { userView } from '../admin/user-views';
import { myDevices } from './new-devices';

async function account(db: Executor, userId: string) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'password_hash', 'totp_secret', 'totp_enabled', 'totp_last_counter', 'must_change_password'])
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
  const event = (p: Principal, action: string, detail?: Record<string, unknown>) => eventBy(p, action, { type: 'user', id: p.userId }, detail);

  route(app, ctx, 'me', async ({ principal }) => ({
    user: await userView(db, principal.userId, clock.now()),
    sessionId: principal.sessionId,
    deviceId: principal.deviceId,
  }));

  route(app, ctx, 'passwordPolicy', async ({ principal }) => ({
    policy: (await orgPolicy(db, principal.orgId)).password,
    username: principal.username,
  }));

  // Scoped to the caller by construction: the user id is the principal's, never a parameter.
  route(app, ctx, 'myDevices', async ({ principal }) => myDevices(db, principal.userId, principal.deviceId));

  route(app, ctx, 'clientPolicy', async ({ principal }) => (await orgPolicy(db, principal.orgId)).client);

  // The not-ready reasons the operator picks from (and the lead's board names), the wrap-up time and its extensions.
  route(app, ctx, 'agentPolicy', async ({ principal }) => (await orgPolicy(db, principal.orgId)).agents);

  // How long the author may correct a saved note, and whether a closed one (the notes panel offers "Edit" by it).
  route(app, ctx, 'notePolicy', async ({ principal }) => (await orgPolicy(db, principal.orgId)).notes);

  // Unlocking the idle screen: the password again (+TOTP when the user has it). Like every
  // route that checks a secret it goes through verifySecretFor: refused while the account is
  // locked, failures count toward lockout, and the lockout ends every session of the user.
  route(app, ctx, 'reverify', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    const totpSecret = activeTotpSecret(user);
    if (totpSecret && !body.totp) {
      await verifySecretFor(ctx, principal, { action: 'session.unlock_failed', password: body.password });
      throw new GatewayError('totp_required', 'enter the 6-digit code from your authenticator app');
    }
    const { totpCounter } = await verifySecretFor(ctx, principal, {
      action: 'session.unlock_failed', password: body.password, ...(totpSecret && body.totp ? { totp: { secret: totpSecret, code: body.totp } } : {}),
    });
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('login_failures').where('username', '=', user.username).execute();
      await appendAudit(tx, clock, event(principal, 'session.unlocked', { secondFactor: totpCounter !== null ? 'totp' : 'none' }));
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
    await verifySecretFor(ctx, principal, { action: 'user.password_change_failed', password: body.currentPassword });
    // A temporary password is replaced, not kept: whatever the history policy, the new one differs.
    if (user.must_change_password && body.newPassword === body.currentPassword) {
      throw new GatewayError('password_policy', 'choose a new password: the temporary one an administrator set cannot be kept', { violations: ['reused'] });
    }
    const hash = await preparePassword(ctx, user, body.newPassword, policy);
    await db.transaction().execute(async (tx) => {
      // clears users.must_change_password: this same session is a full one from the next request
      await storePassword(tx, ctx, user, hash, { temporary: false });
      // Every other session of this user ends: a changed password must lock out whoever knew the old one.
      const others = await revokeSessions(tx, { userId: user.id, exceptSessionId: principal.sessionId }, 'password_changed', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, event(principal, 'user.password_changed', { otherSessionsRevoked: others, ...(user.must_change_password ? { wasTemporary: true } : {}) }));
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
    await verifySecretFor(ctx, principal, { action: 'totp.code_rejected', totp: { secret: user.totp_secret, code: body.code } });
    const codes = await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_enabled: true }).where('id', '=', user.id).execute();
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
    const totpSecret = activeTotpSecret(user);
    if (!totpSecret) throw new GatewayError('conflict', 'TOTP is not enabled');
    if (policy.totpRequiredRoles.includes(principal.role)) throw new GatewayError('forbidden', 'policy requires TOTP for your role');
    await verifySecretFor(ctx, principal, { action: 'totp.disable_failed', password: body.password, totp: { secret: totpSecret, code: body.code } });
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ totp_enabled: false, totp_secret: null, totp_last_counter: null }).where('id', '=', user.id).execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await appendAudit(tx, clock, event(principal, 'totp.disabled'));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'recoveryCodes', async ({ principal, body }) => {
    const user = await account(db, principal.userId);
    const totpSecret = activeTotpSecret(user);
    if (!totpSecret) throw new GatewayError('conflict', 'TOTP is not enabled');
    await verifySecretFor(ctx, principal, { action: 'totp.code_rejected', totp: { secret: totpSecret, code: body.code } });
    const codes = await db.transaction().execute(async (tx) => {
      const list = await replaceRecoveryCodes(tx, user.id);
      await appendAudit(tx, clock, event(principal, 'totp.recovery_codes_replaced'));
      return list;
    });
    return { recoveryCodes: codes };
  });
}
