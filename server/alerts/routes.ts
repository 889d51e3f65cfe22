// /admin/alerts (alerts:read) and /admin/webhooks (policy:manage): issue 17. Every change is
// audited in its transaction; another org's ids answer like nonexistent ones (tenancy.ts).
import type { FastifyInstance } from 'fastify';
import type { WebhookDeliveryView, WebhookView } from '../../shared/gateway/admin-alerts';
import { webhookUrlProblem } from '../../shared/rules/webhook-url';
import { appendAudit, eventBy } from '../audit/audit';
import type { Principal } from '../auth/principal-type';
import { notFound } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { randomUUID } from 'node:crypto';
import { alertViews, enqueueDeliveries } from './raise';
import { newWebhookSecret } from './webhooks';

const MAX_WEBHOOKS = 5;

function webhookView(w: { id: string; url: string; enabled: boolean; created_at: Date; rotated_at: Date | null }): WebhookView {
  return { id: w.id, url: w.url, enabled: w.enabled, createdAt: w.created_at.toISOString(), rotatedAt: w.rotated_at ? w.rotated_at.toISOString() : null };
}

export function registerAlertRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'listAlerts', async ({ principal, query }) => {
    const unacknowledged = query.unacknowledged === undefined ? undefined : query.unacknowledged === 'true';
    return { alerts: await alertViews(db, principal.orgId, { ...(unacknowledged !== undefined ? { unacknowledged } : {}) }) };
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

  const targetWebhook = async (p: Principal, id: string) => {
    const w = await db.selectFrom('webhooks').selectAll().where('id', '=', id).where('org_id', '=', p.orgId).executeTakeFirst();
    if (!w) throw await notFound(db, p, 'webhooks', id, new GatewayError('not_found', 'no such webhook'));
    return w;
  };

  /** The URL rule with this gateway's config (loopback only where allowed: dev, tests). */
  const checkUrl = (url: string) => {
    const problem = webhookUrlProblem(url, { allowLoopback: ctx.alerts.worker.cfg.allowLoopbackHttp });
    if (problem) throw new GatewayError('validation_failed', `webhook URL refused: ${problem}`, { violations: [problem] });
  };

  route(app, ctx, 'listWebhooks', async ({ principal }) => {
    const rows = await db.selectFrom('webhooks').selectAll().where('org_id', '=', principal.orgId).orderBy('created_at').execute();
    return { webhooks: rows.map(webhookView) };
  });

  route(app, ctx, 'createWebhook', async ({ principal, body }) => {
    checkUrl(body.url);
    const secret = newWebhookSecret();
    const id = randomUUID();
    const now = clock.now();
    const sealed = await ctx.alerts.keys.seal(id, secret);
    const row = await db.transaction().execute(async (tx) => {
      const { n } = await tx.selectFrom('webhooks').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', principal.orgId).executeTakeFirstOrThrow();
      if (Number(n) >= MAX_WEBHOOKS) throw new GatewayError('conflict', `at most ${MAX_WEBHOOKS} webhooks per org`);
      const r = await tx.insertInto('webhooks').values({
        id, org_id: principal.orgId, url: body.url, secret_enc: sealed, enabled: true, created_at: now, created_by: principal.userId, rotated_at: null,
      }).returningAll().executeTakeFirstOrThrow();
      // the URL is audited, never the secret
      await appendAudit(tx, clock, eventBy(principal, 'webhook.created', { type: 'webhook', id }, { url: body.url }));
      return r;
    });
    return { webhook: webhookView(row), secret };
  });

  route(app, ctx, 'rotateWebhookSecret', async ({ principal, params }) => {
    const w = await targetWebhook(principal, params.id);
    const secret = newWebhookSecret();
    const sealed = await ctx.alerts.keys.seal(w.id, secret);
    const now = clock.now();
    const row = await db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('webhooks').set({ secret_enc: sealed, rotated_at: now }).where('id', '=', w.id).returningAll().executeTakeFirstOrThrow();
      await appendAudit(tx, clock, eventBy(principal, 'webhook.secret_rotated', { type: 'webhook', id: w.id }, { url: w.url }));
      return r;
    });
    return { webhook: webhookView(row), secret };
  });

  route(app, ctx, 'deleteWebhook', async ({ principal, params }) => {
    const w = await targetWebhook(principal, params.id);
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('webhooks').where('id', '=', w.id).execute(); // deliveries and attempts cascade
      await appendAudit(tx, clock, eventBy(principal, 'webhook.deleted', { type: 'webhook', id: w.id }, { url: w.url }));
    });
    return { ok: true as const };
  });

  route(app, ctx, 'testWebhook', async ({ principal, params }) => {
    const w = await targetWebhook(principal, params.id);
    if (!w.enabled) throw new GatewayError('conflict', 'the webhook is disabled');
    const [deliveryId] = await db.transaction().execute(async (tx) => {
      const ids = await enqueueDeliveries(tx, clock, principal.orgId, 'webhook.test', null, w.id);
      await appendAudit(tx, clock, eventBy(principal, 'webhook.test_queued', { type: 'webhook', id: w.id }, { deliveryId: ids[0] }));
      return ids;
    });
    ctx.alerts.worker.kick();
    return { deliveryId: deliveryId! };
  });

  route(app, ctx, 'listWebhookDeliveries', async ({ principal, params }) => {
    const w = await targetWebhook(principal, params.id);
    const rows = await db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', w.id).orderBy('created_at', 'desc').orderBy('id').limit(100).execute();
    const attempts = rows.length
      ? await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', rows.map((r) => r.id)).orderBy('attempt').execute()
      : [];
    const deliveries: WebhookDeliveryView[] = rows.map((r) => ({
      id: r.id, event: r.event, alertId: r.alert_id, status: r.status, attempts: r.attempts, lastStatus: r.last_status, lastError: r.last_error,
      nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null, createdAt: r.created_at.toISOString(),
      deliveredAt: r.delivered_at ? r.delivered_at.toISOString() : null,
      attemptLog: attempts.filter((a) => a.delivery_id === r.id).map((a) => ({ attempt: a.attempt, at: a.at.toISOString(), status: a.status, error: a.error, durationMs: a.duration_ms })),
    }));
    return { deliveries };
  });
}
