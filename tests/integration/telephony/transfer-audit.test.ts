// Issue 11, "the gateway audits every transfer": GET /sip/transfer, the report Kamailio makes of
// every REFER (koe.cfg route[REFER_POLICY]), on PGlite and PostgreSQL. Kamailio-only (secret),
// validated, audited in the operator's org (a far-end REFER: in the call operator's org), and
// refused (non-200: Kamailio then refuses the REFER) when nobody of it is known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, setup, type Harness } from '../gateway/harness';

const SECRET = 'route-secret-route-secret-route-secret-01';

describe.each(BACKENDS)('GET /sip/transfer (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: SECRET } });
  });
  afterAll(async () => {
    await h?.close();
  });
  const report = (q: Record<string, string>, secret: string | null = SECRET) =>
    h.req('GET', `/sip/transfer?${new URLSearchParams(q)}`, { headers: secret ? { 'x-koe-route-secret': secret } : {} });
  const entries = async (callId: string) =>
    (await h.db.selectFrom('audit_log').selectAll().where('target_id', '=', callId).orderBy('seq').execute()).map((r) => ({
      ...r,
      detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail,
    }));

  it('Kamailio only: a missing or wrong secret is refused and audits nothing', async () => {
    const sipUser = h.users.operator!.username.toLowerCase();
    const q = { callId: 'c1@test', by: sipUser, operator: sipUser, target: 'sip:b@koe.local', kind: 'colleague', allowed: '1' };
    expect((await report(q, null)).status).toBe(401);
    expect((await report(q, 'x'.repeat(40))).status).toBe(401);
    expect(await entries('c1@test')).toHaveLength(0);
  });

  it('validates the report (kind, allowed, by, target)', async () => {
    const base = { callId: 'c2@test', by: 'op', operator: 'op', target: 'sip:b@koe.local', kind: 'colleague', allowed: '1' };
    for (const bad of [{ kind: 'anything' }, { allowed: 'yes' }, { by: 'A B' }, { target: 'sip:a b' }, { callId: '' }]) {
      const res = await report({ ...base, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
  });

  it('an accepted transfer, a refused one and a far-end REFER are audited in the operator\'s org', async () => {
    const op = h.users.operator!;
    const sipUser = op.username.toLowerCase();
    const ok = await report({ callId: 'c3@test', by: sipUser, operator: sipUser, target: 'sip:colleague@koe.local', kind: 'colleague', allowed: '1' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toEqual({ audited: true });
    const no = await report({ callId: 'c3@test', by: sipUser, operator: sipUser, target: 'sip:+819012345678@koe.local', kind: 'refused', allowed: '0' });
    expect(no.status).toBe(200);
    const far = await report({ callId: 'c3@test', by: 'trunk', operator: sipUser, target: 'sip:+819012345678@koe.local', kind: 'far_end', allowed: '0' });
    expect(far.status).toBe(200);
    const rows = await entries('c3@test');
    expect(rows.map((r) => r.action)).toEqual(['sip.transfer', 'sip.transfer_refused', 'sip.transfer_refused']);
    expect(rows.every((r) => r.org_id === h.orgId)).toBe(true);
    expect(rows.map((r) => r.actor_user_id)).toEqual([op.id, op.id, null]);
    expect(rows.map((r) => r.detail.kind)).toEqual(['colleague', 'refused', 'far_end']);
    expect(rows[0]!.detail).toMatchObject({ by: sipUser, to: 'sip:colleague@koe.local' });
  });

  it('a report naming nobody known is not audited and answers non-200 (Kamailio refuses the REFER)', async () => {
    const res = await report({ callId: 'c4@test', by: 'nobody-here', operator: 'nobody-here', target: 'sip:x@koe.local', kind: 'colleague', allowed: '1' });
    expect(res.status).toBe(404);
    expect(await entries('c4@test')).toHaveLength(0);
  });
});
