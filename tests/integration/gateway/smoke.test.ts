import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('gateway smoke on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  it('serves health and signs in an operator', async () => {
    const health = await h.req('GET', '/health');
    expect(health.body).toEqual({ status: 'ok', version: expect.any(String) });
    const res = await h.signIn(h.users.operator);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.device.enrolledNow).toBe(true);
    const me = await h.req('GET', '/me', { token: res.body.tokens.accessToken });
    expect(me.body.user.username).toBe(h.users.operator.username);
  });
});
