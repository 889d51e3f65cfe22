// A blind transfer's arrival gets the transferred call's row (server/sip/transfer-arrival.ts),
// on PGlite and PostgreSQL: Kamailio's REFER report (GET /sip/transfer, audited) names the
// target; the new Call-ID's first step on the target's model (`incoming`) copies the origin's
// campaign and customer. Hostile orders: a refused REFER, a REFER to someone else, an old one,
// a device REFER, two arrivals for one transfer, the transferring operator's own calls.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARRIVAL_WINDOW_MS, transferArrivalRecord } from '../../../server/sip/transfer-arrival';
import { BACKENDS, setup, type Harness, type TestUser } from '../gateway/harness';

const SECRET = 'route-secret-route-secret-route-secret-01';
const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] }, closedDates: [] };

describe.each(BACKENDS)('a transfer\'s arrival (%s)', (backend) => {
  let h: Harness;
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  let campaignId: string;
  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: SECRET } });
    a = h.users.operator;
    b = await h.newUser('operator', 'opb');
    c = await h.newUser('operator', 'opc');
    campaignId = (await h.ok('POST', '/campaigns', await h.token(h.users.admin), { name: '転送', dids: ['03-1111-0077'], hours: HOURS, dispositions: ['解決'] })).id;
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A's answered call with a customer of the campaign (its Call-ID). */
  async function originCall(): Promise<string> {
    const sip = `${randomUUID()}@pbx`;
    const now = h.clock.now();
    await h.db.insertInto('calls').values({
      id: randomUUID(), org_id: h.orgId, sip_call_id: sip, operator_id: a.id, campaign_id: campaignId, customer_id: null, caller_e164: '+819012340001', dialled_e164: '+81311110077',
      status: 'answered', ringing_at: now, answered_at: now, ended_at: null, created_at: now, updated_at: now,
    } as never).execute();
    return sip;
  }
  const refer = (callId: string, target: string, kind = 'colleague', allowed: '0' | '1' = '1') =>
    h.req('GET', `/sip/transfer?${new URLSearchParams({ callId, by: a.username.toLowerCase(), operator: a.username.toLowerCase(), target, kind, allowed })}`, { headers: { 'x-koe-route-secret': SECRET } });
  const arrive = (who: TestUser, callId: string) =>
    h.db.transaction().execute((tx) => transferArrivalRecord(tx, h.clock, { userId: who.id, orgId: h.orgId, username: who.username }, callId));
  const rowOf = (who: TestUser, callId: string) =>
    h.db.selectFrom('calls').selectAll().where('operator_id', '=', who.id).where('sip_call_id', '=', callId).executeTakeFirst();
  const aor = (who: TestUser) => `sip:${who.username.toLowerCase()}@koe.local`;

  it('the arrival at the REFER\'s target gets a row copying the origin (campaign, numbers, direction); audited once', async () => {
    const origin = await originCall();
    expect((await refer(origin, aor(b))).status).toBe(200);
    const leg = `${randomUUID()}@trunk`;
    expect(await arrive(b, leg)).toBe(origin);
    const row = await rowOf(b, leg);
    expect({ campaign: row?.campaign_id, caller: row?.caller_e164, dialled: row?.dialled_e164, status: row?.status, direction: row?.direction }).toEqual({
      campaign: campaignId, caller: '+819012340001', dialled: '+81311110077', status: 'ringing', direction: 'inbound',
    });
    const audited = await h.db.selectFrom('audit_log').select(['target_id', 'detail']).where('action', '=', 'sip.transfer_arrival').where('target_id', '=', leg).execute();
    expect(audited).toHaveLength(1);
    // a second arrival (another Call-ID) cannot take the same transfer
    const again = `${randomUUID()}@trunk`;
    expect(await arrive(b, again)).toBeNull();
    expect(await rowOf(b, again)).toBeUndefined();
  });

  it('no row for what is not a transfer to this operator: refused, to another, a device REFER, too old, no origin row', async () => {
    const refused = await originCall();
    expect((await refer(refused, aor(b), 'refused', '0')).status).toBe(200);
    const toC = await originCall();
    expect((await refer(toC, aor(c))).status).toBe(200);
    const device = await originCall();
    expect((await refer(device, 'sip:x1y2@abc.invalid;alias=10.0.0.1~5060~6', 'colleague_device')).status).toBe(200);
    for (const leg of ['l1', 'l2', 'l3'].map((x) => `${x}-${randomUUID()}@trunk`)) {
      expect(await arrive(b, leg)).toBeNull();
      expect(await rowOf(b, leg)).toBeUndefined();
    }
    // the transfer to C is still C's (nobody else took it)
    const legC = `${randomUUID()}@trunk`;
    expect(await arrive(c, legC)).toBe(toC);
    // a REFER older than the window is not matched
    const old = await originCall();
    expect((await refer(old, aor(b))).status).toBe(200);
    h.clock.advance(ARRIVAL_WINDOW_MS + 1000);
    const late = `${randomUUID()}@trunk`;
    expect(await arrive(b, late)).toBeNull();
    // a REFER naming a call that has no row of the transferring operator
    expect((await refer(`${randomUUID()}@nowhere`, aor(b))).status).toBe(200);
    expect(await arrive(b, `${randomUUID()}@trunk`)).toBeNull();
  });

  it('an attended transfer (a device REFER) is the arrival of the operator A consulted, not of another', async () => {
    const origin = await originCall();
    const consult = `${randomUUID()}@ws`;
    const now = h.clock.now();
    // A dialled the consultation, it reached B unrouted (the operator model's transitions)
    await h.db.insertInto('operator_transitions').values([
      { org_id: h.orgId, user_id: a.id, sip_call_id: consult, subject: 'call', from_state: 'none', to_state: 'offered', event: 'dial', cause: null, at: now },
      { org_id: h.orgId, user_id: b.id, sip_call_id: consult, subject: 'call', from_state: 'none', to_state: 'offered', event: 'incoming', cause: null, at: now },
    ]).execute();
    expect((await refer(origin, 'sip:k7q2@df3.invalid;alias=10.0.0.2~40000~6', 'colleague_device')).status).toBe(200);
    const notC = `${randomUUID()}@trunk`;
    expect(await arrive(c, notC)).toBeNull();
    const leg = `${randomUUID()}@trunk`;
    expect(await arrive(b, leg)).toBe(origin);
    expect((await rowOf(b, leg))?.campaign_id).toBe(campaignId);
  });

  it('two transfers to one operator: each arrival takes one, newest first; the origin Call-ID itself is never its own arrival', async () => {
    const o1 = await originCall();
    const o2 = await originCall();
    expect((await refer(o1, aor(b))).status).toBe(200);
    expect((await refer(o2, aor(b))).status).toBe(200);
    expect(await arrive(b, o2)).toBe(o1); // the origin's own Call-ID reaching B (a consultation? a replay) is not o2's arrival
    expect(await arrive(b, `${randomUUID()}@trunk`)).toBe(o2);
    expect(await arrive(b, `${randomUUID()}@trunk`)).toBeNull();
  });
});
