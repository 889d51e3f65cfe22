import { ERROR_STATUS, type ErrorCode } from '../shared/gateway/errors';

/** Thrown anywhere in a handler; the error handler turns it into `{ error: { code, message, ... } }`. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}


/**
 * PostgreSQL's SQLSTATEs for "the server is not there right now": class 08 (connection
 * exception) and 57P01-57P03 (admin_shutdown, crash_shutdown, cannot_connect_now: a restart or
 * a failover). Not 57014 (query_canceled) nor the rest of class 57: those are not an outage.
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;
/** Node's socket errors when the server is down or went away (pg raises them from connect and on a dead socket). */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * node-postgres's own messages for a connection that ended under a query (it gives them no
 * code), and for the timeouts of server/db/connect.ts: a connect or a pool checkout that took
 * too long, a query that had no answer within the query timeout (a server that accepts TCP
 * and never answers: its connection is dropped).
 */
const UNAVAILABLE_MESSAGE = /^(Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|timeout expired|Query read timeout)$/;

/**
 * True when `err` says the database could not be reached (rather than refused a statement): the
 * request is answered `unavailable` (503, retry) instead of `internal_error`. A transaction cut
 * this way is rolled back by PostgreSQL, so nothing it began is half-written. Looks through
 * `cause` and AggregateError's `errors` (Node's connect to several addresses).
 */
export function databaseUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (UNAVAILABLE_MESSAGE.test(err.message)) return true;
  if (err instanceof AggregateError && err.errors.some((e) => databaseUnavailable(e, depth + 1))) return true;
  return databaseUnavailable((err as { cause?: unknown }).cause, depth + 1);
}
