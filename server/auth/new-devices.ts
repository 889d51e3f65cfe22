// The owner's side of a new PC: "new PC enrolled on <date> from <address>" at their next
// sign-in, and "my devices" (GET /me/devices). The gateway decides what is new: every device
// enrolled for a user is announced once (devices.owner_notified_at, migration 0017), at the
// first sign-in after the one that enrolled it, on whatever PC that is (the sign-in that
// enrolled it says "this PC is now enrolled" instead, and does not count as telling).
import type { z } from 'zod';
import type { NewDeviceNotice, RouteResponse } from '../../shared/gateway/api';
import { iso, isoOrNull } from '../db/rows';
import type { Executor } from '../db/schema';

/**
 * In the sign-in's transaction: the user's devices not yet announced, except `enrolledNow`
 * (the device this very sign-in enrolled), marked announced. The address is the one the
 * device was enrolled from (its new-device alert).
 */
export async function takeNewDeviceNotices(tx: Executor, userId: string, enrolledNow: string | null, now: Date): Promise<z.infer<typeof NewDeviceNotice>[]> {
  let q = tx
    .selectFrom('devices')
    .leftJoin('device_alerts', 'device_alerts.device_id', 'devices.id')
    .select(['devices.id', 'devices.name', 'devices.created_at', 'device_alerts.source_ip'])
    .where('devices.user_id', '=', userId)
    .where('devices.owner_notified_at', 'is', null)
    .orderBy('devices.created_at');
  if (enrolledNow) q = q.where('devices.id', '!=', enrolledNow);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  await tx.updateTable('devices').set({ owner_notified_at: now }).where('id', 'in', rows.map((r) => r.id)).where('owner_notified_at', 'is', null).execute();
  // one alert per enrolment; should there ever be two rows for a device, it is told once
  const seen = new Set<string>();
  return rows
    .filter((r) => !seen.has(r.id) && seen.add(r.id))
    .map((r) => ({ id: r.id, name: r.name, enrolledAt: iso(r.created_at), sourceIp: r.source_ip ?? null }));
}

/** The caller's own devices, newest first, each with the address it was enrolled from and last seen at. */
export async function myDevices(db: Executor, userId: string, currentDeviceId: string | null): Promise<RouteResponse<'myDevices'>> {
  const devices = await db
    .selectFrom('devices')
    .leftJoin('device_alerts', 'device_alerts.device_id', 'devices.id')
    .select(['devices.id', 'devices.name', 'devices.status', 'devices.created_at', 'devices.last_seen_at', 'device_alerts.source_ip as first_ip'])
    .where('devices.user_id', '=', userId)
    .orderBy('devices.created_at', 'desc')
    .execute();
  if (devices.length === 0) return { devices: [] };
  // the address of the newest session of each device: where it was last seen
  const sessions = await db
    .selectFrom('sessions')
    .select(['device_id', 'source_ip', 'last_seen_at'])
    .where('user_id', '=', userId)
    .where('device_id', 'in', devices.map((d) => d.id))
    .orderBy('last_seen_at', 'desc')
    .execute();
  const lastIp = new Map<string, string | null>();
  for (const s of sessions) if (s.device_id && !lastIp.has(s.device_id)) lastIp.set(s.device_id, s.source_ip);
  const seen = new Set<string>();
  return {
    devices: devices
      .filter((d) => !seen.has(d.id) && seen.add(d.id))
      .map((d) => ({
        id: d.id,
        name: d.name,
        status: d.status,
        firstSeenAt: iso(d.created_at),
        firstSeenIp: d.first_ip ?? null,
        lastSeenAt: isoOrNull(d.last_seen_at),
        lastSeenIp: lastIp.get(d.id) ?? null,
        current: d.id === currentDeviceId,
      })),
  };
}
