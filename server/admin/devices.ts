// /admin devices (list, rename, revoke, reset a user's). Alerts: server/alerts/routes.ts.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { appendAudit, eventBy } from '../audit/audit';
import { assertMayActOn } from '../auth/authority';
import type { Principal } from '../auth/principal-type';
import { revokeSessions } from '../auth/sign-in-helpers';
import { notFound } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { isoOrNull } from '../db/rows';
import { orgUser, targetUser } from './common';
import { pageCursor, parsePageCursor } from './sessions';

export function registerAdminDeviceRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  // Devices
  type DeviceRow = { id: string; user_id: string; username: string; name: string; public_key: string; status: 'active' | 'revoked' | 'reset'; created_at: Date; last_seen_at: Date | null };
  /** The addresses of devices: enrolled from (their new-device alert) and last seen at (their newest session); two queries per page. */
  const deviceAddresses = async (ids: string[]) => {
    if (ids.length === 0) return { first: new Map<string, string | null>(), last: new Map<string, string | null>() };
    const alerts = await db.selectFrom('device_alerts').select(['device_id', 'source_ip']).where('kind', '=', 'new_device').where('device_id', 'in', ids).orderBy('created_at').execute();
    const sessions = await db
      .selectFrom('sessions')
      .select(['device_id', 'source_ip'])
      .distinctOn('device_id')
      .where('device_id', 'in', ids)
      .orderBy('device_id')
      .orderBy('last_seen_at', 'desc')
      .execute();
    const first = new Map<string, string | null>();
    for (const a of alerts) if (a.device_id && !first.has(a.device_id)) first.set(a.device_id, a.source_ip);
    return { first, last: new Map(sessions.map((x) => [x.device_id!, x.source_ip])) };
  };
  const deviceViews = async (rows: DeviceRow[]) => {
    const { first, last } = await deviceAddresses(rows.map((d) => d.id));
    return rows.map((d) => ({
      id: d.id, userId: d.user_id, username: d.username, name: d.name, publicKey: d.public_key, status: d.status,
      createdAt: d.created_at.toISOString(), lastSeenAt: isoOrNull(d.last_seen_at),
      firstSeenIp: first.get(d.id) ?? null, lastSeenIp: last.get(d.id) ?? null,
    }));
  };
  const deviceView = async (d: DeviceRow) => (await deviceViews([d]))[0]!;
  const devicesQuery = (p: Principal) =>
    db
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .select(['devices.id', 'devices.user_id', 'users.username', 'devices.name', 'devices.public_key', 'devices.status', 'devices.created_at', 'devices.last_seen_at'])
      .where('devices.org_id', '=', p.orgId);
  /** A device of p's org whose owner p may act on. */
  const targetDevice = async (p: Principal, id: string, attempted: string) => {
    const d = await devicesQuery(p).where('devices.id', '=', id).executeTakeFirst();
    if (!d) throw await notFound(db, p, 'devices', id, new GatewayError('not_found', 'no such device'));
    assertMayActOn(p, await orgUser(ctx, p, d.user_id), attempted);
    return d;
  };

  route(app, ctx, 'listDevices', async ({ principal, query }) => {
    // newest enrolment first, paged by (created_at, id): a page costs the same wherever it is
    let q = devicesQuery(principal).orderBy('devices.created_at', 'desc').orderBy('devices.id', 'desc').limit(query.limit + 1);
    if (query.userId) q = q.where('devices.user_id', '=', query.userId);
    if (query.status) q = q.where('devices.status', '=', query.status);
    if (query.cursor) {
      const c = parsePageCursor(query.cursor);
      q = q.where(sql<boolean>`(devices.created_at, devices.id) < (${c.at}, ${c.id}::uuid)`);
    }
    const rows = await q.execute();
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { devices: await deviceViews(page), nextCursor: rows.length > query.limit && last ? pageCursor(last.created_at, last.id) : null };
  });

  route(app, ctx, 'renameDevice', async ({ principal, params, body }) => {
    const d = await targetDevice(principal, params.id, 'device.rename');
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('devices').set({ name: body.name }).where('id', '=', d.id).execute();
      await appendAudit(tx, clock, eventBy(principal, 'device.renamed', { type: 'device', id: d.id }, { from: d.name, to: body.name }));
    });
    return deviceView({ ...d, name: body.name });
  });

  route(app, ctx, 'revokeDevice', async ({ principal, params }) => {
    const d = await targetDevice(principal, params.id, 'device.revoke');
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('devices').set({ status: 'revoked', revoked_at: now }).where('id', '=', d.id).execute();
      const n = await revokeSessions(tx, { deviceId: d.id }, 'device_revoked', now, ctx.sessionEvents);
      await appendAudit(tx, clock, eventBy(principal, 'device.revoked', { type: 'device', id: d.id }, { userId: d.user_id, sessionsRevoked: n }));
    });
    return deviceView({ ...d, status: 'revoked' });
  });

  route(app, ctx, 'resetDevices', async ({ principal, params }) => {
    const user = await targetUser(ctx, principal, params.id, 'user.devices_reset');
    const now = clock.now();
    const revoked = await db.transaction().execute(async (tx) => {
      const reset = await tx
        .updateTable('devices')
        .set({ status: 'reset', revoked_at: now })
        .where('user_id', '=', user.id)
        .where('status', '=', 'active')
        .returning('id')
        .execute();
      let sessions = 0;
      for (const d of reset) sessions += await revokeSessions(tx, { deviceId: d.id }, 'device_reset', now, ctx.sessionEvents);
      await appendAudit(tx, clock, eventBy(principal, 'device.reset', { type: 'user', id: user.id }, { devices: reset.map((d) => d.id), sessionsRevoked: sessions }));
      return reset.length;
    });
    return { revoked };
  });
  // Alerts: server/alerts/routes.ts (issue 17: every kind, live, webhooks)
}
