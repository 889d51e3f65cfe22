// The one way a security alert is raised (issue 17): new_device (sign-in enrolled a PC),
// account_locked (recordFailure locked a key: every lockout path), ip_refused (an allowlist
// refusal: ipRefused below, called where each allowlist check refuses: sign-in before and
// after the password, refresh, every authenticated request and /ws in principalForSession).
//
// raiseAlert runs inside the transaction that writes the event's audit entry, so the entry,
// the alert, its webhook deliveries (the durable outbox, server/alerts/webhooks.ts) and the
// bus row (live push, server/alerts/push.ts) commit or vanish together.
//
// Flooding: repeats of an IP refusal fold into one alert per org, address and window
// (FOLD_WINDOW_MS): one INSERT ... ON CONFLICT on the (org_id, fold_key) unique index, atomic
// across gateway instances; only the first of a window is pushed and sent to webhooks, the
// others add to `occurrences`. Beyond MAX_ADDRESSES_PER_WINDOW distinct addresses in an org's
// window (an address spray), further addresses fold into one "*" alert of that window.
import { randomUUID } from 'node:crypto';
import type { AlertKind, AlertView, WebhookPayload } from '../../shared/gateway/admin-alerts';
import { appendAudit, type AuditEvent } from '../audit/audit';
import type { Clock } from '../clock';
import type { CoalescedAudit } from '../auth/audit-coalesce';
import type { Db, Executor } from '../db/schema';
import { toJsonColumn } from '../db/json-column';
import type { EventBus } from '../bus/event-bus';

export const FOLD_WINDOW_MS = 10 * 60_000;
export const MAX_ADDRESSES_PER_WINDOW = 20;

export interface AlertInput {
  kind: AlertKind;
  orgId: string;
  userId: string | null;
  username: string | null;
  deviceId?: string | null;
  deviceName?: string | null;
  sourceIp: string | null;
  via?: string | null;
  lockedUntil?: Date | null;
}

export interface AlertDeps {
  clock: Clock;
  bus: EventBus;
}

/** What device_alerts.detail holds (the kind's own fields). */
interface AlertDetail {
  via?: string | null;
  lockedUntil?: string | null;
  username?: string | null;
  deviceName?: string | null;
}

/**
 * Raises (or folds) an alert inside `tx`. Returns the alert's id and whether it is new (new:
 * queued for every enabled webhook of the org and published for the live console).
 */
export async function raiseAlert(tx: Executor, deps: AlertDeps, input: AlertInput): Promise<{ id: string; created: boolean }> {
  const now = deps.clock.now();
  let foldKey: string | null = null;
  if (input.kind === 'ip_refused') {
    const bucket = Math.floor(now.getTime() / FOLD_WINDOW_MS);
    const windowStart = new Date(bucket * FOLD_WINDOW_MS);
    const { n } = await tx
      .selectFrom('device_alerts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('org_id', '=', input.orgId)
      .where('kind', '=', 'ip_refused')
      .where('created_at', '>=', windowStart)
      .executeTakeFirstOrThrow();
    const own = `ip_refused|${input.sourceIp ?? '-'}|${bucket}`;
    const exists = Number(n) >= MAX_ADDRESSES_PER_WINDOW
      ? await tx.selectFrom('device_alerts').select('id').where('org_id', '=', input.orgId).where('fold_key', '=', own).executeTakeFirst()
      : undefined;
    foldKey = Number(n) >= MAX_ADDRESSES_PER_WINDOW && !exists ? `ip_refused|*|${bucket}` : own;
  }
  const detail: AlertDetail = {
    via: input.via ?? null,
    lockedUntil: input.lockedUntil?.toISOString() ?? null,
    username: input.username,
    deviceName: input.deviceName ?? null,
  };
  const row = await tx
    .insertInto('device_alerts')
    .values({
      id: randomUUID(), org_id: input.orgId, user_id: input.userId, device_id: input.deviceId ?? null, source_ip: foldKey?.includes('|*|') ? null : input.sourceIp,
      created_at: now, last_at: now, acknowledged_at: null, acknowledged_by: null, kind: input.kind, detail: toJsonColumn(detail), fold_key: foldKey, occurrences: 1,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'fold_key']).where('fold_key', 'is not', null).doUpdateSet((eb) => ({ occurrences: eb('device_alerts.occurrences', '+', 1), last_at: now })),
    )
    .returning(['id', 'occurrences'])
    .executeTakeFirstOrThrow();
  const created = Number(row.occurrences) === 1;
  if (!created) return { id: row.id, created };
  const view = await alertViews(tx, input.orgId, { id: row.id });
  if (view[0]) await enqueueDeliveries(tx, deps.clock, input.orgId, 'alert.created', view[0]);
  await deps.bus.publishIn(tx, 'alert', { orgId: input.orgId, alertId: row.id });
  return { id: row.id, created };
}

/** One delivery per enabled webhook of the org, due now (webhooks.ts sends it). */
export async function enqueueDeliveries(
  tx: Executor, clock: Clock, orgId: string, type: WebhookPayload['type'], alert: AlertView | null, onlyWebhook?: string,
): Promise<string[]> {
  let q = tx.selectFrom('webhooks').select('id').where('org_id', '=', orgId).where('enabled', '=', true);
  if (onlyWebhook) q = q.where('id', '=', onlyWebhook);
  const hooks = await q.execute();
  const now = clock.now();
  const ids: string[] = [];
  for (const h of hooks) {
    const id = randomUUID();
    const payload: WebhookPayload = { id, type, orgId, createdAt: now.toISOString(), alert };
    await tx.insertInto('webhook_deliveries').values({
      id, org_id: orgId, webhook_id: h.id, alert_id: alert?.id ?? null, event: type, body: JSON.stringify(payload),
      status: 'pending', attempts: 0, next_attempt_at: now, last_error: null, last_status: null, created_at: now, delivered_at: null,
    }).execute();
    ids.push(id);
  }
  return ids;
}

/** Alerts of an org as the contract shows them (newest first). */
export async function alertViews(db: Executor, orgId: string, filter: { id?: string; unacknowledged?: boolean; limit?: number } = {}): Promise<AlertView[]> {
  let q = db
    .selectFrom('device_alerts')
    .leftJoin('users', 'users.id', 'device_alerts.user_id')
    .leftJoin('devices', 'devices.id', 'device_alerts.device_id')
    .select([
      'device_alerts.id', 'device_alerts.kind', 'device_alerts.user_id', 'users.username', 'device_alerts.device_id', 'devices.name as device_name',
      'device_alerts.source_ip', 'device_alerts.detail', 'device_alerts.occurrences', 'device_alerts.created_at', 'device_alerts.last_at', 'device_alerts.acknowledged_at',
    ])
    .where('device_alerts.org_id', '=', orgId)
    .orderBy('device_alerts.created_at', 'desc')
    .orderBy('device_alerts.id', 'desc');
  if (filter.id) q = q.where('device_alerts.id', '=', filter.id);
  if (filter.unacknowledged === true) q = q.where('device_alerts.acknowledged_at', 'is', null);
  if (filter.unacknowledged === false) q = q.where('device_alerts.acknowledged_at', 'is not', null);
  const rows = await q.limit(filter.limit ?? 500).execute();
  return rows.map((a) => {
    const d = (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail ?? {}) as AlertDetail;
    return {
      id: a.id, kind: a.kind as AlertKind, userId: a.user_id, username: a.username ?? d.username ?? null, deviceId: a.device_id,
      deviceName: a.device_name ?? d.deviceName ?? null, sourceIp: a.source_ip, via: d.via ?? null, lockedUntil: d.lockedUntil ?? null,
      occurrences: Number(a.occurrences), createdAt: a.created_at.toISOString(), lastAt: (a.last_at ?? a.created_at).toISOString(),
      acknowledgedAt: a.acknowledged_at ? a.acknowledged_at.toISOString() : null,
    };
  });
}

/**
 * The one IP-refusal record: the audit entry `auth.ip_refused` and the alert, in one
 * transaction. `coalesceKey`: the refusal is one a signed-in caller can repeat at will (every
 * request): the entry goes through ctx.securityAudit (one entry per key and window) and the
 * alert rides in the entry's transaction; without it the entry is written at once.
 */
export async function ipRefused(
  ctx: { db: Db; clock: Clock; bus: EventBus; securityAudit: CoalescedAudit },
  event: AuditEvent & { sourceIp: string },
  who: { userId: string | null; username: string | null },
  via: string,
  coalesceKey?: string,
): Promise<void> {
  const orgId = event.orgId ?? null;
  const alongside = async (tx: Executor) => {
    if (orgId) await raiseAlert(tx, ctx, { kind: 'ip_refused', orgId, userId: who.userId, username: who.username, sourceIp: event.sourceIp, via });
  };
  if (coalesceKey !== undefined) {
    await ctx.securityAudit.record(coalesceKey, event, alongside);
    return;
  }
  await ctx.db.transaction().execute(async (tx) => {
    await appendAudit(tx, ctx.clock, event);
    await alongside(tx);
  });
}
