// Routing's claim at scale (issue 14; server/sip/agent-rows.ts, AgentRegistry.offerNext): the
// longest-offerable operator of the DID's campaign is chosen in SQL and locked FOR UPDATE SKIP
// LOCKED. Adversarial: N concurrent lookups (different calls) for M ready operators, in random
// sizes, through one instance and (PostgreSQL) through two instances with their own pools at
// once, among operators who must never be offered (not ready, no microphone, disabled, not
// assigned, another org's campaign). Asserted: exactly min(N, M) calls routed, each to a
// different operator, every routed operator ringing exactly one call (stored state and calls
// rows agree), nobody offered twice, the rest not routed (queue_full: these campaigns keep no
// queue, so a waiting call cannot take an operator between rounds); the order is longest
// ready first; the `offerable_since` column follows every step (back to ready: claimable again);
// a policy change (ring seconds) reaches the next offer on every instance (the cached policy is
// dropped by `policy_changed`). Breaking the claim's serialisation (no row lock, no version
// check) on purpose routes 12 calls to 5 operators here, and the test fails.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ARGON2 } from '../../../server/config';
import { openDatabase } from '../../../server/db/connect';
import type { Db } from '../../../server/db/schema';
import { createGateway, type Gateway } from '../../../server/gateway';
import { parseState } from '../../../server/sip/agents';
import { liveCallsOf, offerable } from '../../../shared/rules/operator-model';
import { GatewayTestClient } from '../../support/gateway-client';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';

describe.each(BACKENDS)('routing claims under concurrent lookups on %s', (backend) => {
  let h: Harness;
  let base = '';
  let b: { gw: Gateway; db: Db } | null = null;
  let clients: GatewayTestClient[] = [];
  const sockets: GatewaySocket[] = [];
  let campaignId = '';
  let did = '';
  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET } });
    base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    clients = [GatewayTestClient.inject(h.gw.app, { ip: '127.0.0.1' })];
    if (backend === 'postgres') {
      // a second instance with its own pool on the same database: the lookups race across processes' connections
      const db = await openDatabase({ kind: 'postgres', url: h.url!, poolSize: 8 });
      const gw = await createGateway({
        db, clock: h.clock, migrate: false,
        config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, sip: { routeSecret: ROUTE_SECRET } },
      });
      b = { gw, db };
      clients.push(GatewayTestClient.inject(gw.app, { ip: '127.0.0.1' }));
    }
    campaignId = await campaign(h.orgId);
    did = `+81312${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    await h.db.insertInto('campaign_dids').values({ org_id: h.orgId, e164: did, campaign_id: campaignId }).execute();
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) await s.close();
    await h.gw.ctx.agents.idle();
    if (b) {
      await b.gw.ctx.agents.idle();
      await b.gw.close();
      await b.db.destroy();
    }
    await h?.close();
  });

  async function campaign(orgId: string): Promise<string> {
    const id = randomUUID();
    const now = h.clock.now();
    await h.db
      .insertInto('campaigns')
      .values({
        id, org_id: orgId, name: `claims-${id.slice(0, 6)}`, time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
        dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now,
        queue_max_size: 0, // no queue: a caller nobody takes is answered queue_full (server/sip/queue.ts)
      })
      .execute();
    return id;
  }

  let seq = 0;
  /** A connected operator (assigned to `campaign` unless null), with a microphone unless told, ready unless told. */
  async function operator(o: { campaign?: string | null; microphone?: boolean; ready?: boolean } = {}): Promise<TestUser> {
    const u = await h.newUser('operator', 'claim');
    const camp = o.campaign === undefined ? campaignId : o.campaign;
    if (camp) await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: camp, org_id: h.orgId }).execute();
    const s = await GatewaySocket.open(base, { token: await h.token(u), name: `ws ${u.username}` });
    sockets.push(s);
    await s.next((m) => m.type === 'operatorState');
    const op = async (intent: Record<string, unknown>) => {
      const id = `c${++seq}`;
      s.send({ type: 'operator', id, intent });
      const a = await s.next((m) => (m.type === 'operatorState' || m.type === 'operatorRefused') && m.id === id, 5000);
      expect(a.type, JSON.stringify(a)).toBe('operatorState');
    };
    if (o.microphone !== false) await op({ kind: 'microphone', available: true });
    if (o.ready !== false) await op({ kind: 'setAvailability', state: 'ready' });
    return u;
  }

  const route = async (client: GatewayTestClient, callId: string) => {
    const res = await client.req('GET', `/sip/route?did=${encodeURIComponent(did)}&from=${encodeURIComponent('+819011112222')}&callId=${encodeURIComponent(callId)}`, {
      headers: { 'x-koe-route-secret': ROUTE_SECRET },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { target: string | null; reason: string; campaignId: string | null; ringSeconds?: number };
  };

  /** Ends every live call of these operators (Kamailio's call-ended report) and waits: they are ready again. */
  async function endCalls(callIds: string[]) {
    for (const id of callIds) {
      const res = await clients[0]!.req('GET', `/sip/call-ended?callId=${encodeURIComponent(id)}`, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
      expect(res.status).toBe(200);
    }
    await h.gw.ctx.agents.idle();
  }

  it('N concurrent lookups for M ready operators: exactly min(N, M) routed, to distinct operators, none offered twice; the ineligible never', async () => {
    // never to be offered: not ready, no microphone, disabled, assigned elsewhere, not assigned
    const other = await campaign(h.orgId);
    const never = [
      await operator({ ready: false }),
      await operator({ microphone: false, ready: false }),
      await operator({ campaign: other }),
      await operator({ campaign: null }),
    ];
    const disabled = await operator();
    await h.db.updateTable('users').set({ disabled: true }).where('id', '=', disabled.id).execute();
    never.push(disabled);
    const ready: TestUser[] = [];
    const rounds: [number, number][] = [[12, 5], [5, 12], [9, 9], [1 + Math.floor(Math.random() * 16), 1 + Math.floor(Math.random() * 10)]];
    for (const [n, m] of rounds) {
      while (ready.length < m) ready.push(await operator());
      const pool = ready.slice(0, m);
      // the extra operators of earlier rounds are made not ready for this round
      for (const u of ready.slice(m)) {
        await h.gw.ctx.agents.apply({ userId: u.id, orgId: h.orgId, username: u.username }, { type: 'setAvailability', state: 'not_ready' });
      }
      const callIds = Array.from({ length: n }, (_, i) => `claims-${n}x${m}-${i}-${randomUUID()}@trunk`);
      const answers = await Promise.all(callIds.map((id, i) => route(clients[i % clients.length]!, id)));
      const routed = answers.filter((a) => a.reason === 'routed');
      const targets = routed.map((a) => a.target!);
      console.log(`${backend}: ${n} lookups for ${m} ready operators (${clients.length} instance(s)): ${routed.length} routed, ${answers.length - routed.length} not (queue_full)`);
      expect(routed.length).toBe(Math.min(n, m));
      expect(new Set(targets).size).toBe(targets.length);
      expect(answers.filter((a) => a.reason !== 'routed').every((a) => a.reason === 'queue_full' && a.target === null)).toBe(true);
      const names = new Set(pool.map((u) => u.username.toLowerCase()));
      for (const t of targets) expect(names.has(t)).toBe(true);
      // stored state and calls rows agree: each routed operator rings exactly one call, one row per routed call
      const rows = await h.db.selectFrom('calls').select(['sip_call_id', 'operator_id', 'status']).where('sip_call_id', 'in', callIds).execute();
      expect(rows.length).toBe(routed.length);
      expect(new Set(rows.map((r) => r.operator_id)).size).toBe(rows.length);
      expect(new Set(rows.map((r) => r.sip_call_id)).size).toBe(rows.length);
      const states = await h.db.selectFrom('operator_states').select(['user_id', 'state', 'offerable_since']).where('user_id', 'in', pool.map((u) => u.id)).execute();
      for (const st of states) {
        const s = parseState(st.state);
        const live = liveCallsOf(s).filter((c) => callIds.includes(c.callId));
        expect(live.length).toBeLessThanOrEqual(1);
        expect(live.length).toBe(rows.filter((r) => r.operator_id === st.user_id).length);
        // the column is the model's rule, written with the state
        expect(st.offerable_since === null).toBe(!offerable(s));
      }
      for (const u of never) expect((await h.db.selectFrom('calls').select('id').where('operator_id', '=', u.id).execute()).length).toBe(0);
      await endCalls(callIds);
      // the extra operators come back for the next round
      for (const u of ready.slice(m)) {
        await h.gw.ctx.agents.apply({ userId: u.id, orgId: h.orgId, username: u.username }, { type: 'setAvailability', state: 'ready' });
      }
    }
  }, 120_000);

  /** Everyone of earlier tests off the campaign's ready list. */
  async function nobodyReady() {
    const before = await h.db.selectFrom('operator_states').select('user_id').where('offerable_since', 'is not', null).execute();
    for (const r of before) {
      const u = await h.db.selectFrom('users').select(['id', 'username']).where('id', '=', r.user_id).executeTakeFirstOrThrow();
      await h.gw.ctx.agents.apply({ userId: u.id, orgId: h.orgId, username: u.username }, { type: 'setAvailability', state: 'not_ready' });
    }
  }

  it('longest ready first: sequential lookups claim the operators in the order they became ready', async () => {
    await nobodyReady();
    const order: TestUser[] = [];
    for (let i = 0; i < 4; i++) {
      order.push(await operator());
      h.clock.advance(1000); // each one ready a second after the one before
    }
    const got: string[] = [];
    const callIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = `order-${i}-${randomUUID()}@trunk`;
      callIds.push(id);
      got.push((await route(clients[i % clients.length]!, id)).target!);
    }
    expect(got).toEqual(order.map((u) => u.username.toLowerCase()));
    expect((await route(clients[0]!, `order-none-${randomUUID()}@trunk`)).reason).toBe('queue_full');
    await endCalls(callIds);
  });
  it('Kamailio asking again for a call already offered (its first gateway answered too late) gets the same operator on any instance; nobody else rings', async () => {
    await nobodyReady();
    const first = await operator();
    h.clock.advance(1000);
    const second = await operator();
    const id = `again-${randomUUID()}@trunk`;
    const answers = [await route(clients[0]!, id)];
    for (let i = 0; i < 3; i++) answers.push(await route(clients[i % clients.length]!, id));
    // and concurrently, as two Kamailio workers might
    answers.push(...(await Promise.all([route(clients[0]!, id), route(clients[clients.length - 1]!, id)])));
    expect(answers.map((a) => a.target)).toEqual(answers.map(() => first.username.toLowerCase()));
    const rows = await h.db.selectFrom('calls').select('operator_id').where('sip_call_id', '=', id).execute();
    expect(rows.map((r) => r.operator_id)).toEqual([first.id]);
    // the second operator is still offerable: the next call goes to them
    const next = `again-next-${randomUUID()}@trunk`;
    expect((await route(clients[0]!, next)).target).toBe(second.username.toLowerCase());
    await endCalls([id, next]);
  });

  it('a policy change reaches the next offer on every instance (the cached model policy is dropped by policy_changed)', async () => {
    await nobodyReady();
    const u = await operator();
    const ringOf = async (callId: string) => {
      const st = parseState((await h.db.selectFrom('operator_states').select('state').where('user_id', '=', u.id).executeTakeFirstOrThrow()).state);
      expect(st.calls.some((c) => c.callId === callId)).toBe(true);
      return (st.ringUntil ?? NaN) - h.clock.now().getTime();
    };
    for (const [seconds, client] of [[25, clients[0]!], [17, clients[clients.length - 1]!]] as const) {
      await h.patchPolicy({ agents: { ringSeconds: seconds } });
      // the other instance hears policy_changed through the bus (NOTIFY or its poll): ask until its offer says so
      let got = NaN;
      for (let attempt = 0; attempt < 50 && got !== seconds * 1000; attempt++) {
        const id = `policy-${seconds}-${attempt}-${randomUUID()}@trunk`;
        const r = await route(client, id);
        expect(r.target).toBe(u.username.toLowerCase());
        got = await ringOf(id);
        await endCalls([id]);
        if (got !== seconds * 1000) await new Promise((res) => setTimeout(res, 100));
      }
      expect(got).toBe(seconds * 1000);
    }
  });

  // issue 14: routing reads the DID, its campaign, the org's policy and a held offer in ONE
  // statement per lookup and caches none of it, so a change by any path (straight SQL here,
  // no bus message) is seen by the very next lookup on every instance: no retry, no wait
  it('a DID moved, a campaign\'s ring time or hours changed by any path: the next lookup on every instance sees it', async () => {
    await nobodyReady();
    const u = await operator();
    const other = await campaign(h.orgId); // nobody assigned, no queue
    const last = clients[clients.length - 1]!;
    try {
      await h.db.updateTable('campaigns').set({ ring_seconds: 13 }).where('id', '=', campaignId).execute();
      for (const client of clients) {
        const id = `fresh-ring-${randomUUID()}@trunk`;
        const r = await route(client, id);
        expect(r).toMatchObject({ target: u.username.toLowerCase(), reason: 'routed', campaignId, ringSeconds: 13 });
        await endCalls([id]);
      }
      // the DID moves to the other campaign: its lookup answers for that campaign at once, on each instance
      await h.db.updateTable('campaign_dids').set({ campaign_id: other }).where('e164', '=', did).execute();
      for (const client of [last, clients[0]!]) {
        const r = await route(client, `fresh-did-${randomUUID()}@trunk`);
        expect(r).toMatchObject({ target: null, campaignId: other });
      }
      await h.db.updateTable('campaign_dids').set({ campaign_id: campaignId }).where('e164', '=', did).execute();
      // hours enforced with no open hours: closed at once
      await h.db.updateTable('campaigns').set({ enforce_hours: true, weekly_hours: JSON.stringify({}) }).where('id', '=', campaignId).execute();
      expect((await route(last, `fresh-closed-${randomUUID()}@trunk`)).reason).toBe('closed');
      await h.db.updateTable('campaigns').set({ enforce_hours: false }).where('id', '=', campaignId).execute();
      const id = `fresh-open-${randomUUID()}@trunk`;
      expect(await route(last, id)).toMatchObject({ target: u.username.toLowerCase(), reason: 'routed' });
      await endCalls([id]);
    } finally {
      await h.db.updateTable('campaign_dids').set({ campaign_id: campaignId }).where('e164', '=', did).execute();
      await h.db.updateTable('campaigns').set({ ring_seconds: null, enforce_hours: false }).where('id', '=', campaignId).execute();
    }
  });
});
