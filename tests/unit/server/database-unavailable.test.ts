// databaseUnavailable (server/errors.ts): what counts as "PostgreSQL is away" (answered 503
// unavailable) and what stays a real error (409, 500).
import { describe, expect, it } from 'vitest';
import { databaseUnavailable } from '../../../server/errors';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('databaseUnavailable', () => {
  it('is true for a server going or gone: SQLSTATE 57P01-57P03 and class 08, socket errors, node-postgres terminations', () => {
    for (const code of ['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08P01', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) {
      expect(databaseUnavailable(withCode(code)), code).toBe(true);
    }
    for (const message of ['Connection terminated unexpectedly', 'Connection terminated', 'Client has encountered a connection error and is not queryable', 'timeout exceeded when trying to connect']) {
      expect(databaseUnavailable(new Error(message)), message).toBe(true);
    }
    // Node's connect to several addresses; an error wrapped by the code that caught it
    expect(databaseUnavailable(new AggregateError([withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
    expect(databaseUnavailable(new Error('stepping the operator failed', { cause: withCode('57P01') }))).toBe(true);
  });

  it('is false for the statement\'s own failures and for anything that is not an Error', () => {
    for (const code of ['23505', '23503', '57014', '42P01', '40001', '22P02', 'ENOENT', 'FST_ERR_CTP_BODY_TOO_LARGE']) {
      expect(databaseUnavailable(withCode(code)), code).toBe(false);
    }
    expect(databaseUnavailable(new Error('Connection terminated unexpectedly, said the customer note'))).toBe(false);
    expect(databaseUnavailable(new Error('boom'))).toBe(false);
    expect(databaseUnavailable({ code: '57P01' })).toBe(false);
    expect(databaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(databaseUnavailable(null)).toBe(false);
    // a cause chain that loops ends
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(databaseUnavailable(a)).toBe(false);
  });
});
