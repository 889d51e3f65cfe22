// Gateway configuration: environment variables (KOE_GATEWAY_*) and an optional JSON file,
// validated with zod. A bad value fails start-up with the name of the key.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Cidr } from '../shared/gateway/cidr';
import { CorsOrigin } from './cors';

export const Argon2Params = z.strictObject({
  memoryCost: z.number().int().min(1024).max(4_194_304),
  timeCost: z.number().int().min(1).max(20),
  parallelism: z.number().int().min(1).max(16),
});
export type Argon2Params = z.infer<typeof Argon2Params>;

/** OWASP Password Storage Cheat Sheet: argon2id m=19 MiB t=2 is the floor; we use 64 MiB, t=3. */
export const PRODUCTION_ARGON2: Argon2Params = { memoryCost: 65536, timeCost: 3, parallelism: 1 };
/** Only for tests that are not about hashing cost (the fixture users); never in production. */
export const TEST_ARGON2: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/**
 * Global budget for argon2 work: at most `concurrency` hashes at once (default: the number of
 * cores minus one, at least 1, so the event loop keeps a core), `queue` waiting sign-ins of the normal lane (beyond: rate_limited + Retry-After
 * before hashing), `priorityQueue` waiting ones of the priority lane (enrolled-device
 * sign-ins, live sessions).
 */
export const PasswordHashingSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(256).optional(),
  queue: z.number().int().min(0).max(10_000).default(4),
  priorityQueue: z.number().int().min(1).max(10_000).default(64),
  retryAfterSeconds: z.number().int().min(1).max(60).default(1),
});
export type PasswordHashingConfig = z.infer<typeof PasswordHashingSchema>;

const SipSecret = z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, '32-128 characters of A-Z a-z 0-9 _ -');
/** Whether `v` compiles as a regular expression (a SyntaxError is the config's validation error). */
function isRegExp(v: string): boolean {
  try {
    new RegExp(v);
    return true;
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
}

export const SipConfigSchema = z.strictObject({
  /** The SIP domain of the operators' AoRs (sip:<user>@<domain>). */
  domain: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/).default('koe.local'),
  /** auth_ephemeral secrets shared with Kamailio; the first signs, Kamailio accepts all (rotation). Empty: no SIP. */
  authephSecrets: z.array(SipSecret).max(3).default([]),
  /** Lifetime of issued SIP credentials; longer than the REGISTER refresh (SIP.js: 600 s). */
  credentialTtlSeconds: z.number().int().min(300).max(86_400).default(3600),
  /** Kamailio sends this in X-Koe-Route-Secret on GET /sip/route. Absent: the route answers 503-like refusal. */
  routeSecret: SipSecret.optional(),
  /** SIP WebSocket URLs handed to clients with their credentials (wss://..., ws:// only on loopback). */
  wsServers: z.array(z.string().regex(/^wss?:\/\/[^\s]+$/)).max(4).default([]),
  /** rtpengine's ng control socket (host:port, UDP) for supervision (monitor, whisper, barge). Absent: no supervision. */
  rtpengineNg: z.string().regex(/^[0-9.]{7,15}:\d{1,5}$/, 'IPv4 host:port').optional(),
  /**
   * Every rtpengine the Kamailio nodes anchor calls on (ng "host:port", as Kamailio reports them in
   * the routing lookup's `media`): supervision reaches the one holding the call
   * (server/sip/media-nodes.ts). Absent: rtpengineNg alone.
   */
  rtpengineNodes: z.array(z.string().regex(/^[0-9.]{7,15}:\d{1,5}$/, 'IPv4 host:port')).max(64).optional(),
  /**
   * Kamailio's access-cut endpoint (koe.cfg event_route[xhttp:request] on its loopback control
   * port, authenticated with routeSecret): the gateway pushes "credentials of this SIP user
   * issued before T are dead" there and Kamailio drops the user's registrations
   * (server/sip/kamailio-access.ts). Absent: cuts are only enforced at the next credential expiry.
   */
  kamailioControlUrl: z.string().regex(/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d{1,5}\/[^\s]*$/, 'http://127.0.0.1:<port>/<path> (loopback only)').optional(),
  /**
   * Koe's shipped announcements (deploy/announcements/generate.ts: <dir>/<ja|en>/<name>.wav,
   * 8 kHz 16-bit mono PCM), as rtpengine reads them (it plays them: server/sip/queue-media.ts).
   * Absent: queued callers wait in silence (logged once).
   */
  announcementsDir: z.string().regex(/^\/[^\0]*$/, 'an absolute path').optional(),
  /** Kamailio holds a queued INVITE this long past the longest wait the gateway could give it (its own timer: koe.cfg failure_route[QUEUE_EXPIRED]). */
  queueHoldMarginSeconds: z.number().int().min(1).max(600).default(60),
  /** Where an org's own announcement files are written for rtpengine to read (from the database). Default: <tmp>/koe-announcements. */
  announcementsCacheDir: z.string().regex(/^\/[^\0]*$/, 'an absolute path').optional(),
  /** How often every live cut is pushed again (a restarted Kamailio has lost them): the longest gap. */
  accessResyncSeconds: z.number().int().min(1).max(600).default(15),
  /**
   * Numbering rule of each trunk (shared/rules/numbering.ts): how its DIDs and callers become
   * E.164. Kamailio names the trunk in the routing query (KOE_TRUNK_ID, "default"); a trunk
   * not listed here uses "default". Japan: country code 81, national prefix 0, international 010.
   */
  trunks: z
    .record(
      z.string().regex(/^[a-z0-9_-]{1,32}$/, 'a trunk id: a-z 0-9 _ -'),
      z.strictObject({
        countryCode: z.string().regex(/^[1-9]\d{0,2}$/, 'a country calling code: 1-3 digits'),
        nationalPrefix: z.string().regex(/^\d{0,4}$/, '0-4 digits'),
        internationalPrefix: z.string().regex(/^\d{0,4}$/, '0-4 digits'),
      }),
    )
    .refine((t) => 'default' in t, 'must define the "default" trunk')
    .default({ default: { countryCode: '81', nationalPrefix: '0', internationalPrefix: '010' } }),
  /**
   * Numbers an operator may transfer a call to (REFER Refer-To user part, "+8190..." or
   * "0312..."), as a POSIX extended regex Kamailio matches (koe.cfg route[REFER_POLICY]); colleagues
   * (Koe SIP users) are always allowed. Default "^$": no number. No '"', '\' or spaces (the regex
   * is written into Kamailio's generated cfg as a string); use [0-9] and [+].
   */
  transferNumberPattern: z
    .string()
    .regex(/^[^"\\\s]{1,200}$/, 'a POSIX extended regex without quotes, backslashes or spaces')
    .refine(isRegExp, 'not a valid regular expression')
    .default('^$'),
});
export type SipConfig = z.infer<typeof SipConfigSchema>;

export const WebhooksConfigSchema = z.strictObject({
  /** http:// and https:// to 127.0.0.1 / ::1 / localhost (a local receiver). Never in production. */
  allowLoopbackHttp: z.boolean().default(false),
  maxAttempts: z.number().int().min(1).max(30).default(8),
  baseDelaySeconds: z.number().min(0.001).max(3600).default(10),
  maxDelaySeconds: z.number().min(0.001).max(86_400).default(3600),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  pollMs: z.number().int().min(10).max(60_000).default(1000),
});

/** A key-encryption key of recordings: an id (kept in each recording's index row) and 32 bytes, base64. */
const RecordingKek = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, '1-32 characters of A-Z a-z 0-9 _ -'),
  key: z.string().refine((v) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, '32 bytes, base64'),
});

/** Recordings (server/recordings, docs/telephony.md "Recordings"). Without a KEK nothing is recorded. */
export const RecordingsConfigSchema = z.strictObject({
  /** Where the encrypted files live (one file per recording, mode 0600). Default: <dataDir>/recordings. */
  dir: z.string().min(1).optional(),
  /** Key-encryption keys: the first wraps new data keys, every one listed unwraps (rotation: prepend the new one, run `recordings rewrap`, then drop the old). */
  keks: z.array(RecordingKek).max(8).refine((l) => new Set(l.map((k) => k.id)).size === l.length, 'KEK ids must be unique').default([]),
  /** Lifetime of a playback capability. */
  capabilitySeconds: z.number().int().min(10).max(300).default(60),
  /** How often the retention purge runs. */
  purgeIntervalSeconds: z.number().int().min(10).max(86_400).default(600),
  /** The address rtpengine sends recorded media to (the recorder's UDP sockets bind it). */
  recorderAddress: z.string().regex(/^[0-9.]{7,15}$/, 'an IPv4 address').default('127.0.0.1'),
});
export type RecordingsConfig = z.infer<typeof RecordingsConfigSchema>;

export const GatewayConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8787),
  /** PostgreSQL connection string; when absent, PGlite in `dataDir`. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://').optional(),
  dataDir: z.string().default('./.koe-data/gateway'),
  /** PostgreSQL timeouts (server/db/connect.ts): a connect or pool checkout, and each query's answer; past them, 503 unavailable. */
  database: z
    .strictObject({
      connectTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
      queryTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    })
    .default({ connectTimeoutMs: 5_000, queryTimeoutMs: 30_000 }),
  jwt: z
    .strictObject({
      /** HS256 secret, at least 32 bytes. When absent the gateway generates one and keeps it in the database. */
      secret: z.string().min(32, 'at least 32 characters').optional(),
      issuer: z.string().default('koe-gateway'),
      audience: z.string().default('koe-client'),
    })
    .default({ issuer: 'koe-gateway', audience: 'koe-client' }),
  argon2: Argon2Params.default(PRODUCTION_ARGON2),
  /** Peers whose X-Forwarded-For is believed. Empty: never (the socket address is the client). */
  trustedProxies: z.array(Cidr).default([]),
  bodyLimitBytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  /** Token bucket per source IP over /auth/* routes. */
  authRateLimit: z
    .strictObject({ capacity: z.number().int().min(1).default(30), refillPerMinute: z.number().min(0).default(30) })
    .default({ capacity: 30, refillPerMinute: 30 }),
  /** Failed sign-ins per source IP (any usernames) before the IP is throttled. */
  ipFailureLimit: z
    .strictObject({ maxFailures: z.number().int().min(1).default(50), windowMinutes: z.number().int().min(1).default(15) })
    .default({ maxFailures: 50, windowMinutes: 15 }),
  challengeTtlSeconds: z.number().int().min(5).max(600).default(60),
  /** /ws: how often an open socket re-validates its principal besides the session events (server/ws/live-principal.ts). */
  ws: z.strictObject({ revalidateSeconds: z.number().int().min(1).max(600).default(30) }).default({ revalidateSeconds: 30 }),
  /** The password-hashing budget (server/auth/passwords.ts): see PasswordHashingSchema. */
  passwordHashing: PasswordHashingSchema.default(PasswordHashingSchema.parse({})),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
  /**
   * Origins allowed to call the gateway from a browser context (the renderer): the desktop app
   * (koe://app) and dev hosts (http://127.0.0.1:<port>, one per window `npm start` opens). Exact
   * match only (server/cors.ts); each entry must be an origin as a browser sends it.
   */
  corsOrigins: z.array(CorsOrigin).min(1, 'at least one origin (koe://app is the desktop app)').default(['koe://app']),
  /** Telephony (docs/telephony.md): Kamailio's auth_ephemeral secrets and the routing API secret. */
  sip: SipConfigSchema.default(SipConfigSchema.parse({})),
  recordings: RecordingsConfigSchema.default(RecordingsConfigSchema.parse({})),
  /** Alert webhooks (server/alerts/webhooks.ts). allowLoopbackHttp: development and tests only. */
  webhooks: WebhooksConfigSchema.default(WebhooksConfigSchema.parse({})),
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;

export class ConfigError extends Error {}

const ENV_NAME: Record<string, string> = {
  host: 'KOE_GATEWAY_HOST', port: 'KOE_GATEWAY_PORT', databaseUrl: 'DATABASE_URL', dataDir: 'KOE_GATEWAY_DATA_DIR',
  'database.connectTimeoutMs': 'KOE_GATEWAY_DB_CONNECT_TIMEOUT_MS', 'database.queryTimeoutMs': 'KOE_GATEWAY_DB_QUERY_TIMEOUT_MS',
  'jwt.secret': 'KOE_GATEWAY_JWT_SECRET', trustedProxies: 'KOE_GATEWAY_TRUSTED_PROXIES', argon2: 'KOE_GATEWAY_ARGON2',
  logLevel: 'KOE_GATEWAY_LOG_LEVEL',
  'passwordHashing.concurrency': 'KOE_GATEWAY_HASH_CONCURRENCY',
  corsOrigins: 'KOE_GATEWAY_CORS_ORIGINS',
  'sip.authephSecrets': 'KOE_GATEWAY_SIP_AUTHEPH_SECRETS',
  'sip.routeSecret': 'KOE_GATEWAY_SIP_ROUTE_SECRET',
  'sip.rtpengineNg': 'KOE_GATEWAY_SIP_RTPENGINE_NG',
  'sip.rtpengineNodes': 'KOE_GATEWAY_SIP_RTPENGINE_NODES',
  'sip.kamailioControlUrl': 'KOE_GATEWAY_SIP_KAMAILIO_CONTROL_URL',
  'sip.announcementsDir': 'KOE_GATEWAY_SIP_ANNOUNCEMENTS_DIR',
  'recordings.dir': 'KOE_GATEWAY_RECORDINGS_DIR',
  'recordings.keks': 'KOE_GATEWAY_RECORDINGS_KEKS',
};

function describe(error: z.ZodError, source: string): string {
  return error.issues
    .map((i) => {
      const key = i.path.join('.') || '(root)';
      const env = ENV_NAME[key] ?? ENV_NAME[String(i.path[0])];
      return `${source}: ${key}${env ? ` (${env})` : ''}: ${i.message}`;
    })
    .join('\n');
}

export function parseConfig(input: unknown, source = 'config'): GatewayConfig {
  const result = GatewayConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(describe(result.error, source));
  return result.data;
}

const ENV: Record<string, (v: string, into: Record<string, any>) => void> = {
  KOE_GATEWAY_HOST: (v, c) => (c.host = v),
  KOE_GATEWAY_PORT: (v, c) => (c.port = num(v, 'KOE_GATEWAY_PORT')),
  DATABASE_URL: (v, c) => (c.databaseUrl = v),
  KOE_GATEWAY_DATA_DIR: (v, c) => (c.dataDir = v),
  KOE_GATEWAY_DB_CONNECT_TIMEOUT_MS: (v, c) => ((c.database ??= {}).connectTimeoutMs = num(v, 'KOE_GATEWAY_DB_CONNECT_TIMEOUT_MS')),
  KOE_GATEWAY_DB_QUERY_TIMEOUT_MS: (v, c) => ((c.database ??= {}).queryTimeoutMs = num(v, 'KOE_GATEWAY_DB_QUERY_TIMEOUT_MS')),
  KOE_GATEWAY_JWT_SECRET: (v, c) => ((c.jwt ??= {}).secret = v),
  KOE_GATEWAY_TRUSTED_PROXIES: (v, c) => (c.trustedProxies = v.split(',').map((s) => s.trim()).filter(Boolean)),
  KOE_GATEWAY_ARGON2: (v, c) => {
    const [m, t, p] = v.split(',').map((s) => num(s, 'KOE_GATEWAY_ARGON2'));
    c.argon2 = { memoryCost: m, timeCost: t, parallelism: p };
  },
  KOE_GATEWAY_LOG_LEVEL: (v, c) => (c.logLevel = v),
  KOE_GATEWAY_HASH_CONCURRENCY: (v, c) => ((c.passwordHashing ??= {}).concurrency = num(v, 'KOE_GATEWAY_HASH_CONCURRENCY')),
  KOE_GATEWAY_CORS_ORIGINS: (v, c) => (c.corsOrigins = v.split(',').map((s) => s.trim()).filter(Boolean)),
  KOE_GATEWAY_SIP_AUTHEPH_SECRETS: (v, c) => ((c.sip ??= {}).authephSecrets = v.split(',').map((s) => s.trim()).filter(Boolean)),
  KOE_GATEWAY_SIP_ROUTE_SECRET: (v, c) => ((c.sip ??= {}).routeSecret = v),
  KOE_GATEWAY_SIP_RTPENGINE_NG: (v, c) => ((c.sip ??= {}).rtpengineNg = v),
  KOE_GATEWAY_SIP_RTPENGINE_NODES: (v, c) => ((c.sip ??= {}).rtpengineNodes = v.split(',').map((s) => s.trim()).filter(Boolean)),
  KOE_GATEWAY_SIP_KAMAILIO_CONTROL_URL: (v, c) => ((c.sip ??= {}).kamailioControlUrl = v),
  KOE_GATEWAY_SIP_ANNOUNCEMENTS_DIR: (v, c) => ((c.sip ??= {}).announcementsDir = v),
  KOE_GATEWAY_RECORDINGS_DIR: (v, c) => ((c.recordings ??= {}).dir = v),
  // "id:base64,id:base64": the first wraps new recordings
  KOE_GATEWAY_RECORDINGS_KEKS: (v, c) =>
    ((c.recordings ??= {}).keks = v.split(',').map((s) => s.trim()).filter(Boolean).map((pair) => {
      const at = pair.indexOf(':');
      return { id: at < 0 ? pair : pair.slice(0, at), key: at < 0 ? '' : pair.slice(at + 1) };
    })),
};

function num(v: string, key: string): number {
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${key}: expected an integer, got "${v}"`);
  return Number(v);
}

/** File (KOE_GATEWAY_CONFIG, JSON) first, then environment variables on top. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): GatewayConfig {
  let base: Record<string, any> = {};
  const file = env.KOE_GATEWAY_CONFIG;
  if (file) {
    try {
      base = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`KOE_GATEWAY_CONFIG (${file}): ${(e as Error).message}`);
    }
    const fileCheck = GatewayConfigSchema.safeParse(base);
    if (!fileCheck.success) throw new ConfigError(describe(fileCheck.error, file));
  }
  for (const [key, apply] of Object.entries(ENV)) {
    const v = env[key];
    if (v !== undefined && v !== '') apply(v, base);
  }
  return parseConfig({ ...base, ...overrides }, 'environment');
}
