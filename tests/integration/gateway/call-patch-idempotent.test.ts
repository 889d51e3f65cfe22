// PATCH /calls/:callId is idempotent (issue 19: main's outbox resends a call update whose answer
// was lost): the same patch again writes nothing and audits nothing; a real change still does.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('call updates resent on %s', (backend) => {
  let h: Harness;
  let admin: string;
  let op: string;
  beforeAll(async () => {
    h = await setup(backend);
    admin = await h.token(h.users.admin);
    op = await h.token(h.users.operator);
    const campaignId = (await h.ok('POST', '/campaigns', admin, {
      name: '再送の窓口', dids: ['0120-444-555'], hours: { timeZone: 'Asia/Tokyo', weekly: {} }, dispositions: ['解決', '折り返し'],
    })).id;
    await h.ok('PUT', `/campaigns/${campaignId}/assignments`, admin, { userIds: [h.users.operator.id] });
  });
  afterAll(async () => h?.close());

  it('the same patch twice (or ten times, in any order of its fields) stores and audits it once', async () => {
    const callId = `${randomUUID()}@10.0.0.7`;
    await h.ok('POST', '/screen-pop', op, { callId, dialledNumber: '0120-444-555', callerNumber: '090-5555-0000' });
    const url = `/calls/${encodeURIComponent(callId)}`;
    const patch = { answeredAt: '2026-11-30T01:00:00Z', endedAt: '2026-11-30T01:05:00Z', disposition: '解決', wrapUpSeconds: 20 };
    const first = await h.ok('PATCH', url, op, patch);
    const row = () => h.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
    const before = await row();
    const audits = async () => (await h.db.selectFrom('audit_log').select('action').where('target_id', '=', before.id).execute()).map((a) => a.action);
    expect(await audits()).toEqual(['call.dispositioned']);
    for (let k = 0; k < 10; k++) {
      const shuffled = Object.fromEntries(Object.entries(patch).sort(() => (k % 2 ? 1 : -1)));
      expect(await h.ok('PATCH', url, op, shuffled)).toEqual(first);
    }
    const after = await row();
    expect(after.updated_at.getTime()).toBe(before.updated_at.getTime());
    expect(await audits()).toEqual(['call.dispositioned']);
    // a subset of what is stored is no change either
    await h.ok('PATCH', url, op, { disposition: '解決' });
    await h.ok('PATCH', url, op, { endedAt: '2026-11-30T01:05:00.000Z' });
    expect(await audits()).toEqual(['call.dispositioned']);
    // a real change is stored and audited
    expect(await h.ok('PATCH', url, op, { disposition: '折り返し' })).toMatchObject({ disposition: '折り返し' });
    expect(await audits()).toEqual(['call.dispositioned', 'call.dispositioned']);
  });
});
