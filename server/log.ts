// What a log line may say. One mechanism for every line the gateway writes (the Fastify/pino
// logger options below: serializers for req and err, and a hook every log call passes through):
// - A request is logged as its method, path and the *names* of its query parameters. Query
//   values carry search terms, phone numbers, names and (from a careless client) tokens, so a
//   value is logged only for parameters that can hold nothing else than a number or an enum
//   (limit, open, status, unacknowledged) and only when it has that shape; every other value
//   is "*". Path segments that are not an id-like token (a UUID, or short ASCII without a run
//   of 5 digits or an e-mail-like host) become "*". Headers and bodies are never logged.
// - An error is logged through errorSummary(): its class, a code, PostgreSQL's identifier
//   fields (constraint, table, column: names, never values), its message with every quoted
//   value, e-mail address, card number and long digit run removed, and its stack frames. Never
//   a driver's query text or parameters (PGlite attaches both to its errors), PostgreSQL's
//   detail ("Key (email)=(…) already exists"), where, hint or internal query.
// - Every log message string goes through the same message cleaning (Fastify logs some
//   errors with their raw message, and unknown-route lines with the raw URL).
import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import { redactCardNumbers } from '../shared/rules/card-redaction';

/** Query parameters whose value is logged when it has this shape: numbers and enums only. */
const SAFE_QUERY_VALUES: Record<string, RegExp> = {
  limit: /^\d{1,6}$/,
  open: /^(true|false)$/,
  unacknowledged: /^(true|false)$/,
  status: /^[a-z_]{1,20}$/,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HIDDEN = '*';

function safeSegment(segment: string): string {
  if (segment === '' || UUID.test(segment)) return segment;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch (err) {
    // a broken %-escape is hidden like any other segment the log must not show
    if (err instanceof URIError) return HIDDEN;
    throw err;
  }
  if (!/^[A-Za-z0-9._~@:+-]{1,128}$/.test(decoded)) return HIDDEN;
  if (/\d{5}/.test(decoded) || /@[^@]*\.[A-Za-z]{2,}$/.test(decoded)) return HIDDEN;
  return segment;
}

function safeParamName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_.-]{0,39}$/.test(name) && !/\d{5}/.test(name) ? name : HIDDEN;
}

/** The path with data-like segments hidden, and the query reduced to parameter names (and safe values). */
export function logSafeUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).slice(0, 1024).split('/').map(safeSegment).join('/');
  if (q < 0) return path;
  const params = new URLSearchParams(url.slice(q + 1, q + 1 + 8192)); // never throws: bad escapes stay as typed
  const parts: string[] = [];
  for (const [key, value] of params) {
    if (parts.length >= 20) {
      parts.push('…');
      break;
    }
    const name = safeParamName(key);
    const shape = name === HIDDEN ? undefined : SAFE_QUERY_VALUES[name];
    parts.push(`${name}=${shape?.test(value) ? value : HIDDEN}`);
  }
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

/**
 * A message that can be logged: its first line, with quoted values (PostgreSQL quotes the
 * input it refuses: invalid input syntax for type uuid: "…"), e-mail addresses, card numbers,
 * runs of 5 or more digits and URL query strings removed; at most 300 characters.
 */
export function safeMessage(message: string): string {
  // The first line only: a message that spans lines is a dump (a query, a JSON body). Quoted
  // values become placeholders first (\u0001, \u0002), so that the quotes put back are not
  // taken for an unmatched one.
  let m = message.slice(0, 4000).split(/\r?\n/, 1)[0]!.replace(/[\u0001\u0002]/g, '');
  m = m.replace(/"(?:[^"\\]|\\.)*"/g, '\u0001').replace(/“[^”]*”|「[^」]*」|『[^』]*』/g, '\u0001');
  m = m.replace(/(^|[^\p{L}\p{N}])'(?:[^'\\]|\\.)*'/gu, '$1\u0002');
  // an unmatched opening quote (a value cut short): drop the rest
  m = m.replace(/["“「『][^]*$/, '"…').replace(/(^|[^\p{L}\p{N}])'[^]*$/u, "$1'…");
  m = m.replace(/\u0001/g, '"…"').replace(/\u0002/g, "'…'");
  m = m.replace(/\([^()]*\)=\([^()]*\)/g, '(…)=(…)');
  m = m.replace(/[^\s@"'<>()[\]{},;]+@[^\s@"'<>()[\]{},;]+/g, '…@…');
  m = m.replace(/(\/[^\s?]*)\?\S*/g, '$1?…');
  m = redactCardNumbers(m).replace(/(?<![:\p{Nd}])\p{Nd}{5,}/gu, '…'); // a port (:30000) stays
  return m.length > 300 ? `${m.slice(0, 299)}…` : m;
}

/** PostgreSQL error fields that name schema objects (never values) and are worth keeping. */
const IDENTIFIER_FIELDS = ['constraint', 'table', 'column', 'schema', 'dataType', 'routine'] as const;

export interface ErrorSummary {
  type: string;
  code?: string;
  message: string;
  constraint?: string;
  table?: string;
  column?: string;
  schema?: string;
  dataType?: string;
  routine?: string;
  stack?: string;
  cause?: ErrorSummary;
}

/**
 * What a log line may say about an unexpected error: its class, code, schema identifiers, its
 * cleaned message (safeMessage) and its stack frames; never a database driver's query text or
 * parameters, PostgreSQL's detail/where/hint/internalQuery, or any other property of the error.
 */
export function errorSummary(err: unknown, depth = 0): ErrorSummary {
  if (!(err instanceof Error)) return { type: typeof err, message: 'non-Error value thrown' };
  const e = err as Error & Record<string, unknown>;
  const out: ErrorSummary = { type: /^[A-Za-z0-9_$]{1,64}$/.test(err.name) ? err.name : 'Error', message: safeMessage(String(err.message ?? '')) };
  if (typeof e.code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(e.code)) out.code = e.code;
  for (const field of IDENTIFIER_FIELDS) {
    const v = e[field];
    if (typeof v === 'string' && /^[A-Za-z0-9_$. ]{1,128}$/.test(v)) out[field] = v;
  }
  // Frames only: the stack's first lines repeat the message (unclean).
  const frames = typeof err.stack === 'string' ? err.stack.split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 8) : [];
  if (frames.length) out.stack = frames.map((l) => l.trim().slice(0, 300)).join('\n');
  if (e.cause !== undefined && depth < 2) out.cause = errorSummary(e.cause, depth + 1);
  return out;
}

export const logSerializers = {
  req(req: FastifyRequest) {
    return { method: req.method, url: logSafeUrl(req.url), remoteAddress: req.ip };
  },
  err: (err: unknown) => (err instanceof Error ? errorSummary(err) : summaryAgain(err)),
};

/** The err serializer met a summary already made (log.error({ err: errorSummary(e) })): its known fields, cleaned again. */
function summaryAgain(v: unknown, depth = 0): ErrorSummary {
  if (!v || typeof v !== 'object' || typeof (v as ErrorSummary).type !== 'string' || typeof (v as ErrorSummary).message !== 'string') {
    return { type: typeof v, message: 'non-Error value logged as an error' };
  }
  const s = v as ErrorSummary;
  const out: ErrorSummary = { type: s.type.slice(0, 64), message: safeMessage(s.message) };
  for (const field of ['code', ...IDENTIFIER_FIELDS] as const) if (typeof s[field] === 'string' && /^[A-Za-z0-9_$. -]{1,128}$/.test(s[field])) out[field] = s[field];
  if (typeof s.stack === 'string') out.stack = s.stack.split('\n').filter((l) => /^at /.test(l)).slice(0, 8).map((l) => l.slice(0, 300)).join('\n');
  if (s.cause !== undefined && depth < 2) out.cause = summaryAgain(s.cause, depth + 1);
  return out;
}

/**
 * pino's logMethod hook: every log call passes here. An Error logged as the first argument
 * goes through the err serializer (never pino's default message = err.message), and every
 * message string is cleaned.
 */
export function logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void): void {
  const [first, ...rest] = args;
  if (first instanceof Error) {
    const msg = typeof rest[0] === 'string' ? safeMessage(rest[0]) : errorSummary(first).message;
    method.apply(this, [{ err: first }, msg]);
    return;
  }
  method.apply(this, args.map((a) => (typeof a === 'string' ? safeMessage(a) : a)));
}

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/** The Fastify logger options: the serializers and the hook above (`stream`: where to write, for tests). */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream): LoggerOptions {
  return {
    level,
    // pino's type wants err's stack always present; a summary may have none.
    serializers: logSerializers as unknown as NonNullable<LoggerOptions['serializers']>,
    hooks: { logMethod: logMethod as NonNullable<NonNullable<LoggerOptions['hooks']>['logMethod']> },
    redact: ['req.headers.authorization'],
    ...(stream ? { stream: stream as NonNullable<LoggerOptions['stream']> } : {}),
  };
}
