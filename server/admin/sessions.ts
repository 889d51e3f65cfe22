// /admin/sessions: who is signed in where, org-wide (paged), and revoking one session. Revoking
// goes through revokeSessions (server/auth/sign-in-helpers.ts), whose session event closes the
// session's open /ws (server/session-events.ts): the operator's window signs out.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { appendAudit, eventBy } from '../audit/audit';
import { assertMayActOn } from '../auth/authority';
import { revokeSessions } from '../auth/sign-in-helpers';
import { notFound } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { orgUser } from './common';

/** `<ISO>~<id>` of a row, and back (the cursor of pages ordered by created_at desc, id desc). */
export const pageCursor = (createdAt: Date, id: string) => `${createdAt.toISOString()}~${id}`;
export function parsePageCursor(cursor: string): { at: Date; id: string } {
  const [at, id] = cursor.split('~') as [string, string];
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw new GatewayError('validation_failed', 'not a cursor the gateway gave');
  return { at: date, id };
}

export function registerAdminSessionRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'listSessions', async ({ principal, query }) => {
    const now = clock.now();
    // live: not revoked, not past its absolute end. Sessions idle past the org's limit are listed
    // too: an open /ws is activity of its own (sessionExpired without idle), so such a session may
    // still hold a window; revoking it is how an admin makes sure.
    let q = db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .leftJoin('devices', 'devices.id', 'sessions.device_id')
      .select([
        'sessions.id', 'sessions.user_id', 'users.username', 'users.display_name', 'sessions.device_id', 'devices.name as device_name',
        'sessions.source_ip', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.absolute_expires_at',
      ])
      .where('sessions.org_id', '=', principal.orgId)
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.absolute_expires_at', '>', now)
      .orderBy('sessions.created_at', 'desc')
      .orderBy('sessions.id', 'desc')
      .limit(query.limit + 1);
    if (query.userId) q = q.where('sessions.user_id', '=', query.userId);
    if (query.cursor) {
      const c = parsePageCursor(query.cursor);
      q = q.where(sql<boolean>`(sessions.created_at, sessions.id) < (${c.at}, ${c.id}::uuid)`);
    }
    const rows = await q.execute();
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      sessions: page.map((s) => ({
        id: s.id, userId: s.user_id, username: s.username, displayName: s.display_name, deviceId: s.device_id, deviceName: s.device_name ?? null,
        sourceIp: s.source_ip, createdAt: s.created_at.toISOString(), lastSeenAt: s.last_seen_at.toISOString(),
        absoluteExpiresAt: s.absolute_expires_at.toISOString(),
        current: s.id === principal.sessionId,
      })),
      nextCursor: rows.length > query.limit && last ? pageCursor(last.created_at, last.id) : null,
    };
  });

  route(app, ctx, 'revokeSession', async ({ principal, params }) => {
    const s = await db.selectFrom('sessions').select(['id', 'user_id']).where('id', '=', params.id).where('org_id', '=', principal.orgId).executeTakeFirst();
    if (!s) throw await notFound(db, principal, 'sessions', params.id, new GatewayError('not_found', 'no such session'));
    // the same rule as every action on a user: their permissions ⊆ the actor's
    assertMayActOn(principal, await orgUser(ctx, principal, s.user_id), 'session.revoke');
    const revoked = await db.transaction().execute(async (tx) => {
      const n = await revokeSessions(tx, { sessionId: s.id }, 'admin_revoked', clock.now(), ctx.sessionEvents);
      await appendAudit(tx, clock, eventBy(principal, 'session.revoked', { type: 'session', id: s.id }, { userId: s.user_id, count: n }));
      return n;
    });
    return { revoked };
  });
}
