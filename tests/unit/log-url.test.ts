import { describe, expect, it } from 'vitest';
import { logSafeUrl } from '../../server/log';

describe('logSafeUrl: card numbers never reach the request log', () => {
  it('redacts card numbers in query values (encoded, spaced or full-width) and keeps the rest', () => {
    expect(logSafeUrl('/customers/search?q=4111%201111%201111%201111&limit=20')).toBe('/customers/search?q=****+****+****+1111&limit=20');
    expect(logSafeUrl(`/customers/search?q=${encodeURIComponent('４１１１－１１１１－１１１１－１１１１')}`)).not.toMatch(/%EF%BC%94%EF%BC%91%EF%BC%91%EF%BC%91/);
    expect(logSafeUrl('/customers/lookup?phone=090-1234-5678')).toBe('/customers/lookup?phone=090-1234-5678');
    expect(logSafeUrl('/health')).toBe('/health');
  });
});
