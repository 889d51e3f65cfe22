// Issue 15 item 6, the board's queue statistics (server/supervision/queue-stats.ts): a scripted
// mix of calls driven as Kamailio and the operators' clients drive them (routing, the phone's
// facts over /ws, Kamailio's call-ended, the ring deadline by the sweeper, with the injected
// clock) gives the figures counted by hand below; the same figures from a second gateway
// instance (nothing in memory: a restart computes the same); the lead's /ws gets them as
// boardStats, only for their campaigns and operators; "today" is the campaign's zone.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../../server/gateway';
import { TEST_ARGON2 } from '../../../server/config';
import { parseState } from '../../../server/sip/agents';
import { queueStats, startOfDay } from '../../../server/supervision/queue-stats';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startOfDay', () => {
  it('is midnight in the zone', () => {
    expect(startOfDay(new Date('2026-04-01T09:00:00Z'), 'Asia/Tokyo').toISOString()).toBe('2026-03-31T15:00:00.000Z');
    expect(startOfDay(new Date('2026-04-01T14:59:59Z'), 'Asia/Tokyo').toISOString()).toBe('2026-03-31T15:00:00.000Z');
    expect(startOfDay(new Date('2026-04-01T15:00:00Z'), 'Asia/Tokyo').toISOString()).toBe('2026-04-01T15:00:00.000Z');
    expect(startOfDay(new Date('2026-07-01T03:00:00Z'), 'America/New_York').toISOString()).toBe('2026-06-30T04:00:00.000Z');
    expect(startOfDay(new Date('2026-04-01T00:30:00Z'), 'UTC').toISOString()).toBe('2026-04-01T00:00:00.000Z');
  });
});

describe.each(BACKENDS)('queue statistics after a scripted mix of calls on %s', (backend) => {
  let h: Harness;
  let campaignId = '';
  let hiddenCampaign = '';
  let did = '';
  const sockets: GatewaySocket[] = [];
  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET }, ws: { revalidateSeconds: 600 } });
    h.gw.ctx.agents.close(); // the ring deadline is fired by the test's sweep, at the injected clock
    await h.gw.app.listen({ host: '127.0.0.1', port: 0 });
    await h.patchPolicy({ agents: { wrapUpSeconds: 300, ringSeconds: 45, clientGraceSeconds: 20 } });
    campaignId = randomUUID();
    hiddenCampaign = randomUUID();
    did = `+81312${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    const now = h.clock.now();
    for (const [id, name] of [[campaignId, '窓口'], [hiddenCampaign, '別部署']] as const) {
      await h.db
        .insertInto('campaigns')
        .values({
          id, org_id: h.orgId, name, time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
          dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now,
        })
        .execute();
    }
    await h.db.insertInto('campaign_dids').values({ org_id: h.orgId, e164: did, campaign_id: campaignId }).execute();
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await sleep(100);
    await h.gw.ctx.agents.idle();
    await h?.close();
  });

  const base = () => `ws://127.0.0.1:${(h.gw.app.server.address() as { port: number }).port}`;
  async function op(s: GatewaySocket, intent: Record<string, unknown>) {
    const id = randomUUID().slice(0, 8);
    s.send({ type: 'operator', id, intent });
    const a = await s.next((m) => (m.type === 'operatorState' || m.type === 'operatorRefused') && m.id === id);
    expect(a.type, JSON.stringify(a)).toBe('operatorState');
    return a;
  }
  async function operator(): Promise<{ u: TestUser; s: GatewaySocket }> {
    const u = await h.newUser('operator');
    await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
    const s = await GatewaySocket.open(base(), { token: await h.token(u), name: `ws ${u.username}` });
    sockets.push(s);
    await s.next((m) => m.type === 'operatorState');
    await op(s, { kind: 'microphone', available: true });
    return { u, s };
  }
  async function only(u: TestUser) {
    for (const r of await h.db.selectFrom('operator_states').select(['user_id', 'state']).execute()) {
      if (r.user_id === u.id || parseState(r.state).agent !== 'ready') continue;
      const username = (await h.db.selectFrom('users').select('username').where('id', '=', r.user_id).executeTakeFirstOrThrow()).username;
      await h.gw.ctx.agents.apply({ userId: r.user_id, orgId: h.orgId, username }, { type: 'setAvailability', state: 'not_ready', reason: 'other' });
    }
  }
  const route = async (callId: string) => {
    const res = await h.req('GET', `/sip/route?did=${encodeURIComponent(did)}&from=${encodeURIComponent('+819011112222')}&callId=${encodeURIComponent(callId)}`, {
      headers: { 'x-koe-route-secret': ROUTE_SECRET },
    });
    expect(res.status).toBe(200);
    expect(res.body.reason).toBe('routed');
  };
  const secs = (n: number) => h.clock.advance(n * 1000);

  it('match the hand count, from this gateway and from a second instance, and reach the lead\'s board', async () => {
    const o1 = await operator();
    const o2 = await operator();
    await op(o1.s, { kind: 'setAvailability', state: 'ready' });
    await only(o1.u);
    // A: answered after 4 s, 60 s talk, 10 s wrap-up
    const a = `a-${randomUUID()}@x`;
    await route(a);
    await op(o1.s, { kind: 'ringing', callId: a });
    secs(4);
    await op(o1.s, { kind: 'answered', callId: a });
    secs(60);
    await op(o1.s, { kind: 'ended', callId: a, cause: 'completed' });
    secs(10);
    await op(o1.s, { kind: 'finishWrapUp', callId: a, next: 'ready' });
    // B: answered after 30 s (beyond the 20 s target), 120 s talk, 20 s wrap-up
    const b = `b-${randomUUID()}@x`;
    await route(b);
    await op(o1.s, { kind: 'ringing', callId: b });
    secs(30);
    await op(o1.s, { kind: 'answered', callId: b });
    secs(120);
    await op(o1.s, { kind: 'ended', callId: b, cause: 'completed' });
    secs(20);
    await op(o1.s, { kind: 'finishWrapUp', callId: b, next: 'ready' });
    // C: the caller hangs up after 8 s of ringing (Kamailio's CANCEL): abandoned
    const c = `c-${randomUUID()}@x`;
    await route(c);
    await op(o1.s, { kind: 'ringing', callId: c });
    secs(8);
    const ended = await h.req('GET', `/sip/call-ended?callId=${encodeURIComponent(c)}&status=000`, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
    expect(ended.status).toBe(200);
    await h.gw.ctx.agents.idle();
    // D: nobody answers: the ring deadline (45 s) ends it no_answer, o1 missed
    const d = `d-${randomUUID()}@x`;
    await route(d);
    await op(o1.s, { kind: 'ringing', callId: d });
    secs(46);
    await h.gw.ctx.agents.sweep();
    await h.gw.ctx.agents.idle();
    expect((await h.db.selectFrom('calls').select('end_cause').where('sip_call_id', '=', d).executeTakeFirstOrThrow()).end_cause).toBe('no_answer');
    // E: ringing at o2 now: waiting, the longest wait since its ring
    await op(o2.s, { kind: 'setAvailability', state: 'ready' });
    await only(o2.u);
    const e = `e-${randomUUID()}@x`;
    const eAt = h.clock.now().getTime();
    await route(e);
    secs(7);

    const hand = {
      waiting: 1, oldestWaitingSince: eAt,
      offered: 5, answered: 2, abandoned: 1,
      serviceLevel: 1 / 3, // A within 20 s; B not; C abandoned (D missed and E waiting are not resolved by the caller)
      targetSeconds: 20,
      averageHandleSeconds: (70 + 140) / 2,
    };
    const check = async (stats: Awaited<ReturnType<typeof queueStats>>) => {
      const campaign = stats.campaigns.find((x) => x.campaignId === campaignId)!;
      expect(campaign).toMatchObject({ ...hand, serviceLevel: expect.closeTo(1 / 3, 6), name: '窓口' });
      const one = stats.operators.find((x) => x.userId === o1.u.id)!;
      expect(one).toMatchObject({ calls: 2, missed: 1, handleSeconds: 210 });
      expect(one.stateSeconds).toMatchObject({ on_call: 180, wrap_up: 30, ringing: 4 + 30 + 8 + 46 });
      // every second of o1's day is in some state
      const day = startOfDay(h.clock.now(), 'Asia/Tokyo').getTime();
      const total = Object.values(one.stateSeconds).reduce((x, y) => x + (y ?? 0), 0);
      expect(total).toBeCloseTo((h.clock.now().getTime() - day) / 1000, 3);
      const two = stats.operators.find((x) => x.userId === o2.u.id)!;
      expect(two).toMatchObject({ calls: 0, missed: 0, handleSeconds: 0 });
      expect(two.stateSeconds.ringing).toBe(7);
    };
    await check(await queueStats(h.db, h.orgId, h.clock.now()));

    // a second instance (a restart) computes the same: nothing was counted in memory
    const other = await createGateway({
      db: h.db, clock: h.clock, migrate: false,
      config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, ...(h.url ? { databaseUrl: h.url } : {}) },
    });
    try {
      await check(await queueStats(other.ctx.db, h.orgId, other.ctx.clock.now()));
    } finally {
      await other.close();
    }

    // the lead's board: o1 and o2 in a team they lead, the campaign through their team's operators
    const lead = await h.newUser('team_lead', 'lead');
    const team = randomUUID();
    await h.db.insertInto('teams').values({ id: team, org_id: h.orgId, name: `t-${team.slice(0, 8)}` }).execute();
    await h.db.insertInto('team_members').values([
      { team_id: team, user_id: lead.id, member_role: 'lead' },
      { team_id: team, user_id: o1.u.id, member_role: 'operator' },
      { team_id: team, user_id: o2.u.id, member_role: 'operator' },
    ]).execute();
    const ls = await GatewaySocket.open(base(), { token: await h.token(lead), name: 'ws lead' });
    sockets.push(ls);
    ls.send({ type: 'boardSubscribe' });
    const pushed = (await ls.next((m) => m.type === 'boardStats')).stats;
    await check(pushed);
    // only what the lead may see: not the other department's campaign, only their team's operators
    expect(pushed.campaigns.map((x: { campaignId: string }) => x.campaignId)).toEqual([campaignId]);
    expect(pushed.operators.map((x: { userId: string }) => x.userId).sort()).toEqual([o1.u.id, o2.u.id].sort());
    // the next period: E answered -> pushed again with the new figures
    await op(o2.s, { kind: 'ringing', callId: e });
    await op(o2.s, { kind: 'answered', callId: e });
    const from = ls.messages.length;
    await h.gw.ctx.supervision.statsFeed.refresh();
    const next = (await ls.next((m) => m.type === 'boardStats', 3000, from)).stats;
    expect(next.campaigns[0]).toMatchObject({ waiting: 0, oldestWaitingSince: null, offered: 5, answered: 3, serviceLevel: 0.5 });

    // the campaign's target, changed through the API (campaigns:manage): B (30 s) is now within it
    const admin = await h.token(h.users.admin);
    const patched = await h.req('PATCH', `/campaigns/${campaignId}`, { token: admin, body: { serviceLevelSeconds: 40 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.serviceLevelSeconds).toBe(40);
    expect((await h.req('PATCH', `/campaigns/${campaignId}`, { token: admin, body: { serviceLevelSeconds: 0 } })).status).toBe(400);
    const after = (await queueStats(h.db, h.orgId, h.clock.now())).campaigns.find((x) => x.campaignId === campaignId)!;
    expect(after).toMatchObject({ targetSeconds: 40, serviceLevel: 3 / 4 });

    // operators' "today" is the org's zone (policy timeZone, Asia/Tokyo by default): changed to
    // Los Angeles through the policy API, o1's states add up to the time since midnight there
    expect((await h.req('PATCH', '/admin/policy', { token: admin, body: { timeZone: 'Mars/Olympus' } })).status).toBe(400);
    const zoned = await h.req('PATCH', '/admin/policy', { token: admin, body: { timeZone: 'America/Los_Angeles' } });
    expect(zoned.status, JSON.stringify(zoned.body)).toBe(200);
    const la = (await queueStats(h.db, h.orgId, h.clock.now())).operators.find((x) => x.userId === o1.u.id)!;
    const laDay = startOfDay(h.clock.now(), 'America/Los_Angeles').getTime();
    expect(laDay).not.toBe(startOfDay(h.clock.now(), 'Asia/Tokyo').getTime());
    const laTotal = Object.values(la.stateSeconds).reduce((x, y) => x + (y ?? 0), 0);
    expect(laTotal).toBeCloseTo((h.clock.now().getTime() - laDay) / 1000, 3);
  });
});
