// Issue 17, alerts that reach people: security alerts (new device, lockout, IP refusal) and
// the org's signed webhooks. Spread into ROUTES (api.ts) as ALERTS_ROUTES; the /ws push joins
// WsServerMessage (AlertPushMessage). docs/telephony.md "Security alerts and webhooks".
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { webhookUrlProblem } from '../rules/webhook-url';
import { Id, Iso } from './primitives';

export const ALERT_KINDS = ['new_device', 'account_locked', 'ip_refused'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const AlertView = z.strictObject({
  id: Id,
  kind: z.enum(ALERT_KINDS),
  /** The user it is about (null: an IP refusal before a user was known). */
  userId: Id.nullable(),
  username: z.string().nullable(),
  /** new_device: the PC enrolled. */
  deviceId: Id.nullable(),
  deviceName: z.string().nullable(),
  sourceIp: z.string().nullable(),
  /** ip_refused: where (sign-in, refresh, request, ws); account_locked: what locked (sign-in, reverify...). */
  via: z.string().nullable(),
  /** account_locked: until when. */
  lockedUntil: Iso.nullable(),
  /** Repeats folded into this alert (same org, kind and address within the window); 1 = once. */
  occurrences: z.number().int().min(1),
  createdAt: Iso,
  lastAt: Iso,
  acknowledgedAt: Iso.nullable(),
});
export type AlertView = z.infer<typeof AlertView>;
export const AlertsQuery = z.strictObject({ unacknowledged: z.enum(['true', 'false']).optional() });
export const AlertsResponse = z.strictObject({ alerts: z.array(AlertView) });

/** /ws: a new alert of the caller's org, to sockets whose principal holds alerts:read. */
export const AlertPushMessage = z.strictObject({ type: z.literal('alert'), alert: AlertView });

/**
 * A webhook URL as the console's form and the gateway's contract check it (shared/rules/webhook-url.ts).
 * Loopback passes here; the gateway refuses it unless its config allows loopback (dev, tests).
 */
export const WebhookUrl = z
  .string()
  .trim()
  .min(1)
  .max(2048)
  .superRefine((v, ctx) => {
    const problem = webhookUrlProblem(v, { allowLoopback: true });
    if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { problem } });
  });
export const WebhookCreateRequest = z.strictObject({ url: WebhookUrl });

export const WebhookView = z.strictObject({
  id: Id,
  url: z.string(),
  enabled: z.boolean(),
  createdAt: Iso,
  rotatedAt: Iso.nullable(),
});
export type WebhookView = z.infer<typeof WebhookView>;
/** The secret is in this answer only (creation, rotation): it is never shown again. */
export const WebhookSecretResponse = z.strictObject({ webhook: WebhookView, secret: z.string() });
export const WebhooksResponse = z.strictObject({ webhooks: z.array(WebhookView) });

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export const WebhookAttemptView = z.strictObject({
  attempt: z.number().int(),
  at: Iso,
  /** The receiver's HTTP status; null when no answer (refused, timeout, address refused). */
  status: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
});
export const WebhookDeliveryView = z.strictObject({
  id: Id,
  event: z.string(),
  alertId: Id.nullable(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  /** pending: when the next attempt is due; null once delivered or given up. */
  nextAttemptAt: Iso.nullable(),
  createdAt: Iso,
  deliveredAt: Iso.nullable(),
  attemptLog: z.array(WebhookAttemptView),
});
export type WebhookDeliveryView = z.infer<typeof WebhookDeliveryView>;
export const WebhookDeliveriesResponse = z.strictObject({ deliveries: z.array(WebhookDeliveryView) });
export const WebhookTestResponse = z.strictObject({ deliveryId: Id });

/** The JSON body POSTed to a webhook (signed: docs/telephony.md). */
export const WebhookPayload = z.strictObject({
  /** The delivery's id: the same on every retry (receivers dedupe on it). */
  id: Id,
  type: z.enum(['alert.created', 'webhook.test']),
  orgId: Id,
  createdAt: Iso,
  alert: AlertView.nullable(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

const IdParams = z.strictObject({ id: Id });
const OkResponse = z.strictObject({ ok: z.literal(true) });

export const ALERTS_ROUTES = {
  listAlerts: { method: 'GET', path: '/admin/alerts', summary: 'Security alerts (new devices, lockouts, IP refusals), newest first', auth: 'alerts:read', query: AlertsQuery, response: AlertsResponse },
  ackAlert: { method: 'POST', path: '/admin/alerts/:id/ack', summary: 'Acknowledge an alert', auth: 'alerts:read', params: IdParams, response: OkResponse },
  listWebhooks: { method: 'GET', path: '/admin/webhooks', summary: "The org's alert webhooks", auth: 'policy:manage', response: WebhooksResponse },
  createWebhook: {
    method: 'POST', path: '/admin/webhooks', summary: 'Add an alert webhook (the signing secret is in this answer only)', auth: 'policy:manage',
    body: WebhookCreateRequest, response: WebhookSecretResponse,
  },
  rotateWebhookSecret: {
    method: 'POST', path: '/admin/webhooks/:id/rotate', summary: "Replace a webhook's signing secret (shown once)", auth: 'policy:manage',
    params: IdParams, response: WebhookSecretResponse,
  },
  deleteWebhook: { method: 'DELETE', path: '/admin/webhooks/:id', summary: 'Remove a webhook (its pending deliveries go with it)', auth: 'policy:manage', params: IdParams, response: OkResponse },
  testWebhook: { method: 'POST', path: '/admin/webhooks/:id/test', summary: 'Queue a signed test delivery', auth: 'policy:manage', params: IdParams, response: WebhookTestResponse },
  listWebhookDeliveries: {
    method: 'GET', path: '/admin/webhooks/:id/deliveries', summary: "A webhook's delivery log (newest first, with every attempt)", auth: 'policy:manage',
    params: IdParams, response: WebhookDeliveriesResponse,
  },
} as const satisfies Record<string, RouteSpec>;
