// /admin devices (list, rename, revoke, reset a user's) and new-device alerts.
import type { FastifyInstance } from 'fastify';
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

export function registerAdminDeviceRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;
  // Devices
  const deviceView = (d: { id: string; user_id: string; username: string; name: string; public_key: string; status: 'active' | 'revoked' | 'reset'; created_at: Date; last_seen_at: Date | null }) => ({
    id: d.id, userId: d.user_id, username: d.username, name: d.name, publicKey: d.public_key, status: d.status,
    createdAt: d.created_at.toISOString(), lastSeenAt: isoOrNull(d.last_seen_at),
  });
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
    let q = devicesQuery(principal).orderBy('devices.created_at', 'desc');
    if (query.userId) q = q.where('devices.user_id', '=', query.userId);
    if (query.status) q = q.where('devices.status', '=', query.status);
    return { devices: (await q.limit(1000).execute()).map(deviceView) };
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

  // Alerts
  route(app, ctx, 'listAlerts', async ({ principal, query }) => {
    let q = db
      .selectFrom('device_alerts')
      .innerJoin('users', 'users.id', 'device_alerts.user_id')
      .innerJoin('devices', 'devices.id', 'device_alerts.device_id')
      .select([
        'device_alerts.id', 'device_alerts.user_id', 'users.username', 'device_alerts.device_id', 'devices.name as device_name',
        'device_alerts.source_ip', 'device_alerts.created_at', 'device_alerts.acknowledged_at',
      ])
      .where('device_alerts.org_id', '=', principal.orgId)
      .orderBy('device_alerts.created_at', 'desc');
    if (query.unacknowledged === 'true') q = q.where('device_alerts.acknowledged_at', 'is', null);
    if (query.unacknowledged === 'false') q = q.where('device_alerts.acknowledged_at', 'is not', null);
    const rows = await q.limit(500).execute();
    return {
      alerts: rows.map((a) => ({
        id: a.id, kind: 'new_device' as const, userId: a.user_id, username: a.username, deviceId: a.device_id, deviceName: a.device_name,
        sourceIp: a.source_ip, createdAt: a.created_at.toISOString(), acknowledgedAt: isoOrNull(a.acknowledged_at),
      })),
    };
  });

  route(app, ctx, 'ackAlert', async ({ principal, params }) => {
    await db.transaction().execute(async (tx) => {
      const rows = await tx
        .updateTable('device_alerts')
        .set({ acknowledged_at: clock.now(), acknowledged_by: principal.userId })
        .where('id', '=', params.id)
        .where('org_id', '=', principal.orgId)
        .returning('id')
        .execute();
      if (rows.length === 0) throw await notFound(tx, principal, 'device_alerts', params.id, new GatewayError('not_found', 'no such alert'));
      await appendAudit(tx, clock, eventBy(principal, 'alert.acknowledged', { type: 'alert', id: params.id }));
    });
    return { ok: true as const };
  });
}
