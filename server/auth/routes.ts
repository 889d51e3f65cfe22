// /auth/*: challenge, sign-in (server/auth/sign-in.ts), refresh (server/auth/refresh.ts),
// sign-out; and /me/* (server/auth/me.ts), the signed-in user's own account.
import type { FastifyInstance } from 'fastify';
import { normalizeUsername } from '../../shared/gateway/device-message';
import { appendAudit, eventBy } from '../audit/audit';
import { refresh } from './refresh';
import { signIn } from './sign-in';
import { newChallenge, revokeSessions } from './sign-in-helpers';
import type { GatewayContext } from '../context';
import { route } from '../http';
import { registerMeRoutes } from './me';

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

  // A sign-in without a device proof cannot be in the priority hashing lane: it is admitted
  // by the budget before any lookup (shed at once when the normal lane is full, the same way
  // for every username), so a guessing flood cannot crowd out the rest (server/auth/passwords.ts).
  route(app, ctx, 'signIn', async (input) => {
    const leave = input.body.device ? null : ctx.hasher.budget.enter();
    try {
      return await signIn(ctx, input);
    } finally {
      leave?.();
    }
  });

  route(app, ctx, 'refresh', (input) => refresh(ctx, input));

  route(app, ctx, 'signOut', async ({ principal, sourceIp }) => {
    await db.transaction().execute(async (tx) => {
      await revokeSessions(tx, { sessionId: principal.sessionId }, 'signed_out', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, { ...eventBy(principal, 'auth.sign_out', { type: 'session', id: principal.sessionId }), sourceIp });
    });
    return { ok: true as const };
  });

  registerMeRoutes(app, ctx);
}
