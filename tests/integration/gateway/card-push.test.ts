// Issue 15 item 5, the card with the ring (server/crm/card-push.ts): routing's offer sends the
// call's card to the chosen operator's authenticated /ws before Kamailio gets its answer, built
// by THE pop function (buildCard) under the socket's principal, so it equals the pop route's
// answer for the same call; it reaches the operator on another gateway instance through the
// bus; nobody else gets it; a call no longer ringing for that operator gets no card.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../../server/gateway';
import { TEST_ARGON2 } from '../../../server/config';
import { parseState } from '../../../server/sip/agents';
import { revokeSessions } from '../../../server/auth/sign-in-helpers';
import { GatewaySocket } from '../../support/ws-waiter';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const ROUTE_SECRET = 'route-secret-route-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('the card with the ring on %s', (backend) => {
  let h: Harness;
  let b: Gateway;
  let baseA = '';
  let baseB = '';
  let campaignId = '';
  let otherCampaign = '';
  let did = '';
  const sockets: GatewaySocket[] = [];
  beforeAll(async () => {
    h = await setup(backend, { sip: { routeSecret: ROUTE_SECRET }, ws: { revalidateSeconds: 600 } });
    b = await createGateway({
      db: h.db, clock: h.clock, migrate: false,
      config: {
        argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' },
        authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 }, ws: { revalidateSeconds: 600 }, sip: { routeSecret: ROUTE_SECRET },
        ...(h.url ? { databaseUrl: h.url } : {}),
      },
    });
    baseA = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    baseB = (await b.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    campaignId = randomUUID();
    otherCampaign = randomUUID();
    did = `+81312${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    const now = h.clock.now();
    for (const [id, name, blocked] of [[campaignId, '窓口', ['+819099990000']], [otherCampaign, '別件', []]] as const) {
      await h.db
        .insertInto('campaigns')
        .values({
          id, org_id: h.orgId, name, time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
          dispositions: JSON.stringify(['解決']), blocked_numbers: JSON.stringify(blocked), created_at: now, updated_at: now,
        })
        .execute();
    }
    await h.db.insertInto('campaign_dids').values({ org_id: h.orgId, e164: did, campaign_id: campaignId }).execute();
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await sleep(100);
    await b?.close();
    await h?.close();
  });

  async function customer(campaign: string, name: string): Promise<string> {
    const id = randomUUID();
    const now = h.clock.now();
    await h.db
      .insertInto('customers')
      .values({ id, org_id: h.orgId, campaign_id: campaign, name_kanji: name, name_kana: 'テスト', name_kanji_key: name, name_kana_key: 'てすと', email: null, fields: '{}', created_at: now, updated_at: now })
      .execute();
    const number = `+8190${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    await h.db.insertInto('customer_phones').values({ customer_id: id, e164: number, campaign_id: campaign, org_id: h.orgId }).execute();
    return number;
  }

  /** Everyone else of the campaign not ready: only `u` may be offered. */
  async function only(u: TestUser) {
    for (const r of await h.db.selectFrom('operator_states').select(['user_id', 'state']).execute()) {
      if (r.user_id === u.id || parseState(r.state).agent !== 'ready') continue;
      const username = (await h.db.selectFrom('users').select('username').where('id', '=', r.user_id).executeTakeFirstOrThrow()).username;
      await h.gw.ctx.agents.apply({ userId: r.user_id, orgId: h.orgId, username }, { type: 'setAvailability', state: 'not_ready', reason: 'other test' });
    }
  }

  /** An operator of the campaign, connected to `base`, microphone on, ready. */
  async function ready(base = baseA): Promise<{ u: TestUser; s: GatewaySocket }> {
    const u = await h.newUser('operator');
    await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
    const s = await GatewaySocket.open(base, { token: await h.token(u), name: `ws ${u.username}` });
    sockets.push(s);
    await s.next((m) => m.type === 'operatorState');
    for (const intent of [{ kind: 'microphone', available: true }, { kind: 'setAvailability', state: 'ready' }]) {
      const id = randomUUID().slice(0, 8);
      s.send({ type: 'operator', id, intent });
      await s.next((m) => m.type === 'operatorState' && m.id === id);
    }
    await only(u);
    return { u, s };
  }

  const route = async (callId: string, from: string) => {
    const res = await h.req('GET', `/sip/route?did=${encodeURIComponent(did)}&from=${encodeURIComponent(from)}&callId=${encodeURIComponent(callId)}`, {
      headers: { 'x-koe-route-secret': ROUTE_SECRET },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { target: string | null; reason: string };
  };
  const pop = async (u: TestUser, callId: string, callerNumber: string) => {
    const res = await h.req('POST', '/screen-pop', { token: await h.token(u), body: { callId, callerNumber, dialledNumber: did } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it('is on the operator\'s socket before routing answers Kamailio, and equals the pop route\'s answer for the call', async () => {
    const { u, s } = await ready();
    const number = await customer(campaignId, '山田太郎');
    await customer(otherCampaign, '秘密花子'); // another campaign's customer: never on this card
    const callId = `card-${randomUUID()}@x`;
    // the order, not the speed: the production bound (40 ms) is lengthened so a loaded machine cannot flip it
    h.gw.ctx.cards.waitMs = 5_000;
    const sentBefore = h.gw.ctx.cards.stats.sent;
    const routed = await route(callId, number);
    expect(routed.reason).toBe('routed');
    // the card left on the operator's socket before routing answered (Kamailio sends the INVITE after the answer)
    expect(h.gw.ctx.cards.stats.sent).toBe(sentBefore + 1);
    const card = await s.next((m) => m.type === 'callCard' && m.callId === callId);
    expect(card.card.status).toBe('known');
    expect(card.card.customers.map((c: { nameKanji: string }) => c.nameKanji)).toEqual(['山田太郎']);
    expect(card.card.campaign).toMatchObject({ id: campaignId, name: '窓口' });
    // the pop route, asked for the same call by the same operator, answers the same card
    expect(await pop(u, callId, number)).toEqual(card.card);
    // exactly one card for the call
    await sleep(200);
    expect(s.messages.filter((m) => m.type === 'callCard').length).toBe(1);
  });

  it('a blocked caller\'s card says blocked and carries no customer (the pop\'s rule)', async () => {
    const { s } = await ready();
    const callId = `blocked-${randomUUID()}@x`;
    const from = s.messages.length;
    await route(callId, '+819099990000');
    const card = s.messages.slice(from).find((m) => m.type === 'callCard' && m.callId === callId);
    // routing may refuse a blocked caller (helper B's policy): then no card at all; if it rings, the card is blocked
    if (card) expect(card.card).toMatchObject({ blocked: true, customers: [], status: 'unknown' });
  });

  it('reaches the operator on another gateway instance through the bus; the other operators get nothing', async () => {
    const bystander = await ready(baseA);
    const { s } = await ready(baseB); // `only` made the bystander not ready: this one is offered
    const number = await customer(campaignId, '鈴木一郎');
    const callId = `remote-${randomUUID()}@x`;
    const from = bystander.s.messages.length;
    expect((await route(callId, number)).reason).toBe('routed');
    const card = await s.next((m) => m.type === 'callCard' && m.callId === callId, 3000);
    expect(card.card.customers.map((c: { nameKanji: string }) => c.nameKanji)).toEqual(['鈴木一郎']);
    await sleep(300);
    expect(bystander.s.messages.slice(from).some((m) => m.type === 'callCard')).toBe(false);
  });

  it('a call that is no longer ringing for the operator (ended, re-routed) gets no card; an operator without a socket costs nothing', async () => {
    const { u, s } = await ready();
    const number = await customer(campaignId, '佐藤花子');
    const callId = `ended-${randomUUID()}@x`;
    expect((await route(callId, number)).reason).toBe('routed');
    await s.next((m) => m.type === 'callCard' && m.callId === callId);
    const ended = await h.req('GET', `/sip/call-ended?callId=${encodeURIComponent(callId)}`, { headers: { 'x-koe-route-secret': ROUTE_SECRET } });
    expect(ended.status).toBe(200);
    await h.gw.ctx.agents.idle();
    const from = s.messages.length;
    await h.gw.ctx.cards.offered(u.id, callId); // a late or repeated offer of the dead call
    await sleep(300);
    expect(s.messages.slice(from).some((m) => m.type === 'callCard')).toBe(false);
    // nobody connected for this user id: nothing happens, nothing throws
    await h.gw.ctx.cards.offered(randomUUID(), callId);
  });

  it('a socket whose session was revoked gets no card', async () => {
    const { u, s } = await ready();
    const number = await customer(campaignId, '高橋次郎');
    const callId = `revoked-${randomUUID()}@x`;
    expect((await route(callId, number)).reason).toBe('routed');
    await s.next((m) => m.type === 'callCard' && m.callId === callId);
    await revokeSessions(h.db, { userId: u.id }, 'user_disabled', h.clock.now(), h.gw.ctx.sessionEvents);
    await s.closed;
    const from = s.messages.length;
    await h.gw.ctx.cards.offered(u.id, callId);
    expect(s.messages.slice(from).some((m) => m.type === 'callCard')).toBe(false);
  });
});
