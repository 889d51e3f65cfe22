// A new caller's place in the queue (issue 14, routing at scale; migration 0023
// koe_queue_enqueue, server/sip/queue-entries.ts enqueue): one statement under the org's queue
// lock. Adversarial: many callers enqueued at once (through two instances with their own pools on
// PostgreSQL) into a campaign with a small queue and an overflow campaign with a small queue:
// exactly the queues' sizes are admitted, each answer is what its row says, nobody is counted
// twice; Kamailio asking again gets the same answer and changes nothing; a call Kamailio already
// reported ended, or whose entry ended otherwise, is not queued; a re-routed caller waits from
// its first ring (the maximum wait runs from there) and hears the music, not the greeting again;
// an overflow into another org's campaign or into itself is refused as a configuration error.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ARGON2 } from '../../../server/config';
import { openDatabase } from '../../../server/db/connect';
import type { Db } from '../../../server/db/schema';
import { createGateway, type Gateway } from '../../../server/gateway';
import { createOrg } from '../../../server/orgs';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('a caller\'s place in the queue, in one statement, on %s', (backend) => {
  let h: Harness;
  let b: { gw: Gateway; db: Db } | null = null;
  let gateways: Gateway[] = [];
  beforeAll(async () => {
    h = await setup(backend);
    gateways = [h.gw];
    if (backend === 'postgres') {
      const db = await openDatabase({ kind: 'postgres', url: h.url!, poolSize: 8 });
      const gw = await createGateway({ db, clock: h.clock, migrate: false, config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' } } });
      b = { gw, db };
      gateways.push(gw);
    }
  }, 60_000);
  afterAll(async () => {
    if (b) {
      await b.gw.close();
      await b.db.destroy();
    }
    await h?.close();
  });

  async function campaign(orgId: string, queue: { size: number; wait: number; overflow?: string | null }): Promise<string> {
    const id = randomUUID();
    const now = h.clock.now();
    await h.db
      .insertInto('campaigns')
      .values({
        id, org_id: orgId, name: `q-${id.slice(0, 6)}`, time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
        dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now,
        queue_max_size: queue.size, queue_max_wait_seconds: queue.wait, queue_overflow_campaign_id: queue.overflow ?? null,
      })
      .execute();
    return id;
  }
  const enqueue = (gw: Gateway, campaignId: string, callId: string, more: { rerouted?: boolean; notice?: boolean; orgId?: string } = {}) =>
    gw.ctx.queues.enqueue({
      orgId: more.orgId ?? h.orgId, campaignId, did: '+81312345678', caller: '+819011112222',
      query: { did: '+81312345678', from: 'sip:+819011112222@trunk', callId }, notice: more.notice ?? false, rerouted: more.rerouted,
    });
  const entries = (campaignId: string) =>
    h.db.selectFrom('call_queue').selectAll().where('first_campaign_id', '=', campaignId).execute();

  it('60 callers at once into a queue of 5 with an overflow of 3: exactly 5 + 3 wait, the rest hear "queue full"; each answer is its row', async () => {
    const overflow = await campaign(h.orgId, { size: 3, wait: 90 });
    const main = await campaign(h.orgId, { size: 5, wait: 60, overflow });
    const calls = Array.from({ length: 60 }, (_, i) => `enq-${i}-${randomUUID()}@trunk`);
    // a slow disk, on purpose: each insert into the queue takes 5 ms more, so callers that counted
    // the queue without the org's lock would all find room (removing the lock fails this test)
    await sql.raw(`create function koe_test_slow() returns trigger language plpgsql as $$ begin perform pg_sleep(0.005); return new; end $$`).execute(h.db);
    await sql.raw(`create trigger koe_test_slow before insert on call_queue for each row execute function koe_test_slow()`).execute(h.db);
    let answers: Awaited<ReturnType<typeof enqueue>>[];
    try {
      answers = await Promise.all(calls.map((c, i) => enqueue(gateways[i % gateways.length]!, main, c)));
    } finally {
      await sql.raw(`drop trigger koe_test_slow on call_queue`).execute(h.db);
      await sql.raw(`drop function koe_test_slow()`).execute(h.db);
    }
    const rows = new Map((await entries(main)).map((r) => [r.sip_call_id, r]));
    expect(rows.size).toBe(60);
    const inMain = answers.filter((a) => a.reason === 'queued' && a.campaignId === main);
    const inOverflow = answers.filter((a) => a.reason === 'queued' && a.campaignId === overflow);
    const full = answers.filter((a) => a.reason === 'queue_full');
    expect([inMain.length, inOverflow.length, full.length]).toEqual([5, 3, 52]);
    expect(full.every((a) => a.announce === 'overflow' && a.campaignId === main && a.target === null)).toBe(true);
    calls.forEach((c, i) => {
      const r = rows.get(c)!;
      const a = answers[i]!;
      expect(r.state).toBe('pending');
      if (a.reason === 'queued') {
        expect(r.campaign_id).toBe(a.campaignId);
        expect(r.end_announcement).toBeNull();
        expect(r.next_play).toBe('greeting');
        // the maximum wait: the caller's own campaign's from now, the overflow's in the overflow
        const wait = (new Date(r.deadline).getTime() - new Date(r.enqueued_at).getTime()) / 1000;
        expect(wait).toBe(a.campaignId === main ? 60 : 90);
      } else {
        expect([r.campaign_id, r.end_announcement, r.end_reason]).toEqual([main, 'overflow', 'queue_full']);
      }
    });
    // Kamailio asking again (any instance): the same answer, nothing written
    const before = JSON.stringify(await entries(main));
    const again = await Promise.all(calls.map((c, i) => enqueue(gateways[(i + 1) % gateways.length]!, main, c)));
    expect(again).toEqual(answers);
    expect(JSON.stringify(await entries(main))).toBe(before);
  });

  it('a call Kamailio already reported ended, or whose entry ended otherwise, is not queued', async () => {
    const main = await campaign(h.orgId, { size: 5, wait: 60 });
    const ended = `ended-${randomUUID()}@trunk`;
    await h.db.insertInto('ended_calls').values({ sip_call_id: ended, ended_at: h.clock.now() }).execute();
    expect((await enqueue(h.gw, main, ended)).reason).toBe('no_ready_agent');
    expect(await entries(main)).toHaveLength(0);
    const abandoned = `abandoned-${randomUUID()}@trunk`;
    expect((await enqueue(h.gw, main, abandoned)).reason).toBe('queued');
    await h.db.updateTable('call_queue').set({ state: 'abandoned', ended_at: h.clock.now() }).where('sip_call_id', '=', abandoned).execute();
    expect((await enqueue(h.gw, main, abandoned, { rerouted: true })).reason).toBe('no_ready_agent');
    expect((await h.db.selectFrom('call_queue').select('state').where('sip_call_id', '=', abandoned).executeTakeFirstOrThrow()).state).toBe('abandoned');
  });

  it('a re-routed caller waits again from its first ring and hears the music; the recording notice comes first when asked', async () => {
    const main = await campaign(h.orgId, { size: 5, wait: 120 });
    const callId = `reroute-${randomUUID()}@trunk`;
    const now = h.clock.now();
    const firstRing = new Date(now.getTime() - 45_000);
    // its first offer rang 45 s ago; its earlier queue entry was connected to that operator
    const op = await h.newUser('operator', 'rr');
    await h.db.insertInto('calls').values({
      id: randomUUID(), org_id: h.orgId, sip_call_id: callId, operator_id: op.id, campaign_id: main, customer_id: null, caller_e164: '+819011112222',
      dialled_e164: '+81312345678', blocked: false, status: 'ended', ringing_at: firstRing, answered_at: null, ended_at: now, disposition: null,
      wrap_up_seconds: null, created_at: firstRing, updated_at: now,
    }).execute();
    expect((await enqueue(h.gw, main, callId)).reason).toBe('queued');
    await h.db.updateTable('call_queue').set({ state: 'connected', ended_at: now, held_at: now, enqueued_at: new Date(now.getTime() - 30_000) }).where('sip_call_id', '=', callId).execute();
    expect(await enqueue(h.gw, main, callId, { rerouted: true })).toMatchObject({ reason: 'queued', campaignId: main });
    const r = await h.db.selectFrom('call_queue').selectAll().where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
    expect(r.state).toBe('pending');
    expect(r.ended_at).toBeNull();
    expect(new Date(r.enqueued_at).getTime()).toBe(firstRing.getTime());
    expect(new Date(r.deadline).getTime()).toBe(firstRing.getTime() + 120_000);
    expect(r.next_play).toBe('music');
    expect(r.held_at).toBeNull();
    const noticed = `notice-${randomUUID()}@trunk`;
    await enqueue(h.gw, main, noticed, { notice: true });
    expect((await h.db.selectFrom('call_queue').select('next_play').where('sip_call_id', '=', noticed).executeTakeFirstOrThrow()).next_play).toBe('notice');
  });

  it('an overflow into another org\'s campaign or into the campaign itself is not used (a configuration error): "queue full"', async () => {
    const other = await createOrg(h.gw.ctx, `other-${randomUUID().slice(0, 6)}`);
    const foreign = await campaign(other, { size: 10, wait: 60 });
    const toForeign = await campaign(h.orgId, { size: 0, wait: 60, overflow: foreign });
    expect(await enqueue(h.gw, toForeign, `f-${randomUUID()}@trunk`)).toMatchObject({ reason: 'queue_full', campaignId: toForeign });
    expect(await entries(foreign)).toHaveLength(0);
    const self = await campaign(h.orgId, { size: 0, wait: 60 });
    await h.db.updateTable('campaigns').set({ queue_overflow_campaign_id: self }).where('id', '=', self).execute();
    expect(await enqueue(h.gw, self, `s-${randomUUID()}@trunk`)).toMatchObject({ reason: 'queue_full', campaignId: self });
  });
});
