// Signed alert webhooks (issue 17): the secret, the signature, the delivery worker.
//
// Secret: "whsec_" + 32 random bytes (base64url), shown once (creation, rotation). HMAC needs
// the secret itself to sign, so it is stored encrypted, not hashed: AES-256-GCM under the
// gateway's webhook key (gateway_keys 'webhook_aes256', generated once like the JWT secret),
// with the webhook's id as associated data (a ciphertext copied onto another row does not
// decrypt). A database dump without that row does not reveal secrets; with it, it does: the
// key is exactly as protected as the JWT signing secret (docs/telephony.md).
//
// Signature: Koe-Timestamp: <unix seconds>, Koe-Signature: v1=<hex HMAC-SHA256(secret,
// timestamp + "." + body)>; Koe-Delivery: the delivery id (the same on every retry).
//
// Delivery: webhook_deliveries is the durable queue (rows written in the alert's transaction,
// server/alerts/raise.ts). A worker claims due rows with one UPDATE over a SELECT ... FOR
// UPDATE SKIP LOCKED that also moves next_attempt_at a lease ahead and counts the attempt, so
// several gateway instances never claim the same row, and a worker that dies mid-attempt
// leaves a row that is due again once the lease passes (a restart resumes pending retries).
// Each attempt is a webhook_attempts row. 2xx = delivered; otherwise retried after
// min(maxDelay, base * 2^(n-1)) with jitter (half fixed, half random), given up after
// maxAttempts (status failed). Redirects are not followed. The target is checked again on
// every resolved address when connecting (shared/rules/webhook-url.ts deliverableAddress).
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { deliverableAddress, webhookUrlProblem } from '../../shared/rules/webhook-url';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Db, Executor } from '../db/schema';
import { errorSummary } from '../log';

export interface WebhookConfig {
  allowLoopbackHttp: boolean;
  maxAttempts: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  timeoutMs: number;
  pollMs: number;
}

export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  allowLoopbackHttp: false, maxAttempts: 8, baseDelaySeconds: 10, maxDelaySeconds: 3600, timeoutMs: 10_000, pollMs: 1000,
};

/** How long a claimed delivery is held before another worker may take it (longer than any attempt). */
const LEASE_MS = 60_000;
const BATCH = 10;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** Koe-Signature's value for a body sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The delay before attempt n+1 after n failed attempts: exponential, capped, half of it random. */
export function backoffMs(failedAttempts: number, cfg: Pick<WebhookConfig, 'baseDelaySeconds' | 'maxDelaySeconds'>, random: () => number = Math.random): number {
  const full = Math.min(cfg.maxDelaySeconds * 1000, cfg.baseDelaySeconds * 1000 * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

export class WebhookKeys {
  private key: Buffer | null = null;
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  private async load(): Promise<Buffer> {
    if (this.key) return this.key;
    await this.db
      .insertInto('gateway_keys')
      .values({ name: 'webhook_aes256', value: randomBytes(32).toString('base64'), created_at: this.clock.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('gateway_keys').select('value').where('name', '=', 'webhook_aes256').executeTakeFirstOrThrow();
    this.key = Buffer.from(row.value, 'base64');
    return this.key;
  }

  async seal(webhookId: string, secret: string): Promise<string> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', await this.load(), iv);
    c.setAAD(Buffer.from(webhookId));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return `v1:${iv.toString('base64')}:${c.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
  }

  async open(webhookId: string, sealed: string): Promise<string> {
    const [v, iv, tag, ct] = sealed.split(':');
    if (v !== 'v1' || !iv || !tag || !ct) throw new Error('webhook secret: unknown format');
    const d = createDecipheriv('aes-256-gcm', await this.load(), Buffer.from(iv, 'base64'));
    d.setAAD(Buffer.from(webhookId));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]).toString('utf8');
  }
}

interface Claimed {
  id: string;
  webhook_id: string;
  body: string;
  attempts: number;
}

interface PostResult {
  status: number | null;
  error: string | null;
}

/** A DNS lookup that refuses addresses the URL rule does not allow (checked when connecting). */
function guardedLookup(allowLoopback: boolean): LookupFunction {
  return ((hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => !deliverableAddress(a.address, { allowLoopback }));
      if (bad || list.length === 0) {
        const e = new Error(`refused target address ${bad?.address ?? '(none)'}`) as NodeJS.ErrnoException;
        e.code = 'EKOE_TARGET';
        return callback(e, '', 0);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction;
}

function post(url: string, headers: Record<string, string>, body: string, cfg: WebhookConfig): Promise<PostResult> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve({ status: null, error: 'invalid URL' });
    }
    const problem = webhookUrlProblem(url, { allowLoopback: cfg.allowLoopbackHttp });
    if (problem) return resolve({ status: null, error: `URL refused: ${problem}` });
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: guardedLookup(cfg.allowLoopbackHttp),
      timeout: cfg.timeoutMs,
    }, (res) => {
      res.resume(); // the answer's body is not read
      res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? null, error: errorSummary(err).message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${cfg.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ status: null, error: (err as NodeJS.ErrnoException).code === 'EKOE_TARGET' ? err.message : errorSummary(err).message }));
    req.end(body);
  });
}

/** The worker of one gateway process; every instance runs one (claims keep them apart). */
export class WebhookWorker {
  readonly id = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly keys: WebhookKeys,
    readonly cfg: WebhookConfig,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.cfg.pollMs);
    this.timer.unref();
  }

  /** Run soon (a new alert): coalesces with a run under way. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.runOnce().catch((err: unknown) => reportBackgroundFailure('webhooks: a delivery run', err));
  }

  /** Claims and sends every due delivery (in batches); resolves to how many attempts were made. */
  runOnce(): Promise<number> {
    if (this.running) return this.running;
    this.running = (async () => {
      let total = 0;
      do {
        this.again = false;
        for (;;) {
          const batch = await this.claim();
          if (batch.length === 0) break;
          await Promise.all(batch.map((d) => this.attempt(d)));
          total += batch.length;
          if (this.closed) break;
        }
      } while (this.again && !this.closed);
      return total;
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Due rows, taken by this worker alone: leased (next_attempt_at moved ahead) and counted. */
  private async claim(): Promise<Claimed[]> {
    const now = this.clock.now();
    const lease = new Date(now.getTime() + LEASE_MS);
    return this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({ next_attempt_at: lease, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) =>
        eb.selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', now)
          .orderBy('next_attempt_at')
          .limit(BATCH)
          .forUpdate()
          .skipLocked(),
      )
      .where('status', '=', 'pending')
      .returning(['id', 'webhook_id', 'body', 'attempts'])
      .execute();
  }

  private async attempt(d: Claimed): Promise<void> {
    const started = Date.now();
    const hook = await this.db.selectFrom('webhooks').select(['id', 'url', 'secret_enc', 'enabled']).where('id', '=', d.webhook_id).executeTakeFirst();
    let result: PostResult;
    if (!hook || !hook.enabled) {
      result = { status: null, error: 'the webhook was removed or disabled' };
    } else {
      let secret: string | null = null;
      try {
        secret = await this.keys.open(hook.id, hook.secret_enc);
      } catch (err) {
        reportBackgroundFailure(`webhooks: opening the secret of webhook ${hook.id}`, err);
      }
      if (secret === null) {
        result = { status: null, error: 'the signing secret cannot be read (rotate it)' };
      } else {
        const ts = String(Math.floor(this.clock.now().getTime() / 1000));
        const event = (JSON.parse(d.body) as { type?: string }).type ?? 'alert.created';
        result = await post(hook.url, {
          'content-type': 'application/json',
          'user-agent': 'Koe-Webhooks/1',
          'koe-timestamp': ts,
          'koe-signature': webhookSignature(secret, ts, d.body),
          'koe-delivery': d.id,
          'koe-event': event,
        }, d.body, this.cfg);
      }
    }
    await this.record(d, result, Date.now() - started, !hook || !hook.enabled);
  }

  private async record(d: Claimed, r: PostResult, durationMs: number, final: boolean): Promise<void> {
    const now = this.clock.now();
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const error = ok ? null : (r.error ?? `HTTP ${r.status}`).slice(0, 500);
    const giveUp = !ok && (final || d.attempts >= this.cfg.maxAttempts);
    await this.db.transaction().execute(async (tx: Executor) => {
      await tx.insertInto('webhook_attempts').values({
        id: randomUUID(), delivery_id: d.id, attempt: d.attempts, at: now, status: r.status, error, duration_ms: durationMs, worker: this.id,
      }).execute();
      await tx
        .updateTable('webhook_deliveries')
        .set({
          status: ok ? 'delivered' : giveUp ? 'failed' : 'pending',
          last_status: r.status,
          last_error: error,
          delivered_at: ok ? now : null,
          next_attempt_at: ok || giveUp ? now : new Date(now.getTime() + backoffMs(d.attempts, this.cfg, this.random)),
        })
        .where('id', '=', d.id)
        .where('attempts', '=', d.attempts) // a row re-claimed after the lease is the other worker's now
        .execute();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => 0);
  }
}
