import { describe, expect, it } from 'vitest';
import { logSafeUrl } from '../../server/log';

// The request log keeps the path and the query parameter *names*; a value only for the few
// parameters that hold nothing but a number or an enum (server/log.ts). (Before issue 10 the
// values were logged card-redacted: a name, a phone number or a token still got through.)
describe('logSafeUrl: no query value that can hold customer data or a secret reaches the request log', () => {
  it('logs the names of query parameters, and values only for limit/open/status/unacknowledged', () => {
    expect(logSafeUrl('/customers/search?q=4111%201111%201111%201111&limit=20')).toBe('/customers/search?q=*&limit=20');
    expect(logSafeUrl(`/customers/search?q=${encodeURIComponent('高橋 美咲')}`)).toBe('/customers/search?q=*');
    expect(logSafeUrl('/customers/lookup?phone=090-1234-5678')).toBe('/customers/lookup?phone=*');
    expect(logSafeUrl('/ws?access_token=eyJhbGciOiJIUzI1NiJ9.secret')).toBe('/ws?access_token=*');
    expect(logSafeUrl('/customers/x/notes?open=true&limit=50')).toBe('/customers/x/notes?open=true&limit=50');
    // an allowlisted name with a value of the wrong shape is hidden too
    expect(logSafeUrl('/customers/x/notes?limit=misaki@example.jp&open=yes')).toBe('/customers/x/notes?limit=*&open=*');
    // parameter names that are data themselves
    expect(logSafeUrl(`/x?${encodeURIComponent('山田')}=1&4111111111111111=2`)).toBe('/x?*=*&*=*');
    expect(logSafeUrl('/health')).toBe('/health');
    expect(logSafeUrl('/x?')).toBe('/x');
  });

  it('keeps id-like path segments and hides the ones that look like data', () => {
    const id = '3f2b8c1e-9a4d-4e7f-8b6a-1c2d3e4f5a6b';
    expect(logSafeUrl(`/customers/${id}/notes`)).toBe(`/customers/${id}/notes`);
    expect(logSafeUrl('/calls/sip-1%40test')).toBe('/calls/sip-1%40test');
    expect(logSafeUrl(`/customers/${encodeURIComponent('高橋美咲')}`)).toBe('/customers/*');
    expect(logSafeUrl('/customers/09012345678')).toBe('/customers/*');
    expect(logSafeUrl('/customers/misaki%40example.jp')).toBe('/customers/*');
    expect(logSafeUrl('/customers/%E0%A4')).toBe('/customers/*'); // not UTF-8
  });
});
