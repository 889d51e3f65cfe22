// The queue's pass (server/sip/queue.ts dispatch, issue 14: routing at scale): while nobody of a
// campaign is offerable, a waiting caller is neither claimed nor routed (one `anyOfferable`
// statement per campaign, no routing per pass); once someone is, the next pass routes it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallQueues } from '../../../server/sip/queue';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('the queue pass on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  it('routes a waiting caller only when someone of its campaign is offerable', async () => {
    const { campaignId, did } = await h.campaignWithDid('queue-pass');
    const queues: CallQueues = h.gw.ctx.queues;
    const slot = queues as unknown as { router: unknown };
    const routed: string[] = [];
    const real = slot.router;
    // the router the pass calls: counted, answering "nobody" (no Kamailio here to continue a held call)
    slot.router = async (q: { callId: string }) => {
      routed.push(q.callId);
      return { target: null, campaignId, did, reason: 'no_ready_agent' };
    };
    try {
      const now = h.clock.now();
      const callId = `queue-pass-${randomUUID()}@trunk`;
      await h.db.insertInto('call_queue').values({
        sip_call_id: callId, org_id: h.orgId, campaign_id: campaignId, first_campaign_id: campaignId,
        query: JSON.stringify({ did, from: '+819011112222', callId }), caller_e164: '+819011112222', dialled_e164: did,
        state: 'waiting', enqueued_at: now, deadline: new Date(now.getTime() + 600_000), held_at: now,
        next_play: null, next_play_at: null, dispatch_after: null, claimed_by: null, claimed_at: null,
        end_announcement: null, end_at: null, ended_at: null, end_reason: null,
      }).execute();
      // an operator assigned to the campaign but not offerable (connected, not ready)
      const u = await h.newUser('operator', 'qp');
      await h.db.insertInto('campaign_assignments').values({ user_id: u.id, campaign_id: campaignId, org_id: h.orgId }).execute();
      const who = { userId: u.id, orgId: h.orgId, username: u.username };
      expect((await h.gw.ctx.agents.apply(who, { type: 'connected' })).kind).toBe('accepted');
      for (let i = 0; i < 3; i++) {
        queues.kick();
        await queues.idle();
      }
      expect(routed).toEqual([]);
      const row = await h.db.selectFrom('call_queue').select(['state', 'claimed_by']).where('sip_call_id', '=', callId).executeTakeFirstOrThrow();
      expect(row).toEqual({ state: 'waiting', claimed_by: null });
      // offerable now: the next pass routes the caller (once per pass)
      expect((await h.gw.ctx.agents.apply(who, { type: 'microphone', available: true })).kind).toBe('accepted');
      expect((await h.gw.ctx.agents.apply(who, { type: 'setAvailability', state: 'ready', reason: null })).kind).toBe('accepted');
      await h.gw.ctx.agents.idle();
      await queues.idle();
      queues.kick();
      await queues.idle();
      expect(routed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(routed)).toEqual(new Set([callId]));
    } finally {
      slot.router = real;
    }
  });
});
