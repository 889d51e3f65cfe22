// Queues per campaign (docs/telephony.md "Queues and announcements"). When routing finds no
// offerable operator (server/sip/routing.ts), the call is queued here instead of refused:
//   enqueue   (routing)  an entry in call_queue (the database: any gateway instance serves it),
//                        or the campaign's overflow queue, or "queue full" (a message, then 480)
//   hold      (Kamailio) the INVITE is held (183 + t_suspend): the gateway anchors the early media
//                        on the node's rtpengine and plays notice -> greeting -> music
//   dispatch  (sweeper, operator changes) the longest-waiting caller goes to the longest-idle
//                        operator: the SAME routing (routeInbound) offers it, then Kamailio's
//                        held transaction is continued toward that operator (POST /koe/queue)
//   expire    past the campaign's maximum wait: the overflow campaign's queue (one hop), or the
//                        overflow message and hang-up
//   callEnded (Kamailio's CANCEL report) an abandoned call: the entry ends, a calls row records it
// Every step claims its entry with a conditional UPDATE, so of several instances one acts. A
// dead instance's claim is taken back after CLAIM_STALE_MS; a call no gateway serves is ended
// by Kamailio's own timer on the held transaction (holdSeconds).
import { sql } from 'kysely';
import type { z } from 'zod';
import type { AnnouncementName, SipQueueHoldQuery } from '../../shared/gateway/queue';
import { offerable } from '../../shared/rules/operator-model';
import { reportBackgroundFailure } from '../background';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { continueHeld, type KamailioAction } from './queue-media';
import type { SipRouteQuery, SipRouteResponse } from '../../shared/gateway/sip';
import type { CallQueueEntry as Entry } from '../db/schema-queue';
import { QueueEntries, type QueueHost, type Router } from './queue-entries';
import { anyOfferable } from './agent-rows';
import { endEntry, findOverflow, queueSettings, recordQueueEnd } from './queue-store';

/** How long a caller waiting for the recording notice is held back at most if the notice never reports its length. */
const NOTICE_HOLD_BOUND_MS = 60_000;

type InboundRouteQuery = z.input<typeof SipRouteQuery>;
type RouteDecision = z.output<typeof SipRouteResponse>;
const SWEEP_MS = 400;
const CLAIM_STALE_MS = 15_000;
const PENDING_STALE_MS = 30_000;

export class CallQueues extends QueueEntries {
  private sweeper: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private againFull = false;
  private unsubscribe: (() => void) | null = null;
  /** Dispatch latency (operator offerable -> Kamailio continued), for the bench (ms). */
  readonly dispatchMs: number[] = [];

  private router: Router | null = null;

  constructor(ctx: QueueHost) {
    super(ctx);
  }

  /** `router`: the one routing (routeInbound), which a queued caller's turn runs again. */
  start(router: Router): void {
    if (this.sweeper) return;
    this.router = router;
    this.sweeper = setInterval(() => this.kick(), SWEEP_MS);
    this.sweeper.unref();
    // an operator who becomes offerable (on this instance or, through the bus, another) may take a
    // waiting caller: a dispatch-only pass at once (the sweeper does the rest)
    this.unsubscribe = this.ctx.agents.subscribe((c) => {
      if (offerable(c.state)) this.kick(false);
    });
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.unsubscribe?.();
    this.media.close();
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Runs a pass now (or right after the one running); `full: false`: only the dispatch. */
  kick(full = true): void {
    if (this.running) {
      this.again = true;
      this.againFull ||= full;
      return;
    }
    this.running = (full ? this.pass() : this.dispatch())
      .catch((err: unknown) => reportBackgroundFailure('queues: pass', err))
      .finally(() => {
        this.running = null;
        if (this.again) {
          const f = this.againFull;
          this.again = false;
          this.againFull = false;
          this.kick(f);
        }
      });
  }

  // ------------------------------------------------------------------ Kamailio: hold
  async hold(q: z.output<typeof SipQueueHoldQuery>): Promise<{ sdp: string; holdSeconds: number }> {
    const { db, clock } = this.ctx;
    const e = await db.selectFrom('call_queue').selectAll().where('sip_call_id', '=', q.callId).where('state', '=', 'pending').executeTakeFirst();
    if (!e) throw new GatewayError('not_found', 'no queued call waits to be held under this Call-ID');
    const node = q.media || null;
    let sdp: string;
    try {
      sdp = await this.media.earlyMedia(node, q.callId, q.fromTag, q.sdp);
    } catch (err) {
      await endEntry(db, q.callId, ['pending'], 'failed', 'early_media_failed', clock.now());
      throw new GatewayError('unavailable', `the early media could not be set up: ${(err as Error).message}`);
    }
    const now = clock.now();
    await db.updateTable('call_queue')
      // a caller who must hear the recording notice first is not dispatched before it has played:
      // held back from the moment it waits (a bound, in case the notice never starts), then to
      // the notice's end below (a dispatch pass in between found it "waiting" and skipped the notice)
      .set({
        held_at: now, control: q.control, t_index: q.tindex, t_label: q.tlabel, media_node: node, from_tag: q.fromTag, state: e.end_announcement ? 'ending' : 'waiting',
        ...(!e.end_announcement && e.next_play === 'notice' ? { dispatch_after: new Date(now.getTime() + NOTICE_HOLD_BOUND_MS) } : {}),
      })
      .where('sip_call_id', '=', q.callId).where('state', '=', 'pending').execute();
    const first = (e.end_announcement ?? e.next_play) as AnnouncementName;
    const played = await this.playNow({ ...e, media_node: node, from_tag: q.fromTag }, first);
    const ms = played.ms;
    const at = new Date(clock.now().getTime() + ms);
    if (e.end_announcement) {
      await db.updateTable('call_queue').set({ end_at: at }).where('sip_call_id', '=', q.callId).execute();
    } else {
      await db.updateTable('call_queue')
        .set({ next_play: played.then, next_play_at: played.then ? at : null, ...(first === 'notice' ? { dispatch_after: at } : {}) })
        .where('sip_call_id', '=', q.callId).execute();
    }
    this.at(at);
    this.kick();
    const settings = await queueSettings(db, e.campaign_id);
    const overflow = settings.overflowCampaignId ? await queueSettings(db, settings.overflowCampaignId) : null;
    const longest = e.end_announcement ? Math.ceil(ms / 1000) : settings.maxWaitSeconds + (overflow?.maxWaitSeconds ?? 0);
    return { sdp, holdSeconds: Math.min(7200, longest + this.ctx.config.sip.queueHoldMarginSeconds) };
  }

  /** A local timer for a step due at `at` (the sweeper is the backstop, on every instance). */
  private at(at: Date): void {
    const ms = at.getTime() - this.ctx.clock.now().getTime();
    if (ms > 0 && ms < 120_000) setTimeout(() => this.kick(), ms + 5).unref();
  }

  // ------------------------------------------------------------------ Kamailio: the caller left
  /** Kamailio reported the call ended (the caller's CANCEL): a queued call is abandoned, and recorded. */
  async callEnded(callId: string): Promise<void> {
    const { db, clock } = this.ctx;
    const ended = await endEntry(db, callId, ['pending', 'waiting', 'dispatching', 'ending'], 'abandoned', 'caller_hung_up', clock.now());
    if (ended) await recordQueueEnd(db, ended);
  }

  // ------------------------------------------------------------------ the pass
  private async pass(): Promise<void> {
    const { db, clock } = this.ctx;
    const now = clock.now();
    // a claim of an instance that died mid-step, a hold Kamailio never reported
    await db.updateTable('call_queue').set({ state: 'waiting', claimed_by: null, claimed_at: null })
      .where('state', '=', 'dispatching').where('claimed_at', '<', new Date(now.getTime() - CLAIM_STALE_MS)).execute();
    for (const e of await db.selectFrom('call_queue').select('sip_call_id').where('state', '=', 'pending').where('enqueued_at', '<', new Date(now.getTime() - PENDING_STALE_MS)).execute()) {
      await endEntry(db, e.sip_call_id, ['pending'], 'failed', 'never_held', now);
    }
    const live = await db.selectFrom('call_queue').selectAll().where('ended_at', 'is', null).where('state', 'in', ['waiting', 'ending']).orderBy('enqueued_at').execute();
    for (const e of live) {
      try {
        if (e.state === 'ending' && e.end_at && e.end_at <= now) await this.finishEnding(e);
        else if (e.state === 'waiting' && e.deadline <= now) await this.expire(e);
        else if (e.state === 'waiting' && e.next_play && e.next_play_at && e.next_play_at <= now) await this.playNext(e);
      } catch (err) {
        reportBackgroundFailure(`queues: step of a queued call (${e.state})`, err);
      }
    }
    await this.dispatch();
  }

  private async playNext(e: Entry): Promise<void> {
    const { db, clock } = this.ctx;
    // claimed by moving next_play_at on: one instance plays it
    const r = await db.updateTable('call_queue').set({ next_play_at: null }).where('sip_call_id', '=', e.sip_call_id)
      .where('state', '=', 'waiting').where('next_play_at', '=', e.next_play_at).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return;
    const name = e.next_play as AnnouncementName;
    const { ms, then: next } = await this.playNow(e, name);
    const at = new Date(clock.now().getTime() + ms);
    await db.updateTable('call_queue').set({ next_play: next, next_play_at: next ? at : null }).where('sip_call_id', '=', e.sip_call_id).execute();
    if (next) this.at(at);
  }

  /** Past the maximum wait: the overflow campaign's queue (one hop), else the overflow message and hang-up. */
  private async expire(e: Entry): Promise<void> {
    const { db, clock } = this.ctx;
    const claimed = await this.claim(e);
    if (!claimed) return;
    const settings = await queueSettings(db, e.campaign_id);
    const to = e.campaign_id === e.first_campaign_id ? settings.overflowCampaignId : null;
    if (to) {
      const moved = await db.transaction().execute(async (tx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${`koe-queue:${e.org_id}`}))`.execute(tx);
        const target = await findOverflow(tx, to, true);
        if (!target) return false;
        const s = await queueSettings(tx, target);
        await tx.updateTable('call_queue')
          .set({ campaign_id: target, deadline: new Date(clock.now().getTime() + s.maxWaitSeconds * 1000), state: 'waiting', claimed_by: null, claimed_at: null })
          .where('sip_call_id', '=', e.sip_call_id).where('state', '=', 'dispatching').execute();
        return true;
      });
      if (moved) return this.kick();
    }
    await this.startEnding(e, 'overflow', 'max_wait');
  }

  /** Plays a message, then (finishEnding) ends the held INVITE. */
  private async startEnding(e: Entry, name: AnnouncementName | null, reason: string): Promise<void> {
    const { db, clock } = this.ctx;
    const ms = name ? (await this.playNow(e, name)).ms : 0;
    const at = new Date(clock.now().getTime() + ms);
    await db.updateTable('call_queue').set({ state: 'ending', end_announcement: name, end_at: at, end_reason: reason, claimed_by: null, claimed_at: null })
      .where('sip_call_id', '=', e.sip_call_id).where('state', '=', 'dispatching').execute();
    this.at(at);
  }

  private async finishEnding(e: Entry): Promise<void> {
    const { db, clock, config } = this.ctx;
    const r = await db.updateTable('call_queue').set({ end_at: null }).where('sip_call_id', '=', e.sip_call_id).where('state', '=', 'ending').where('end_at', '=', e.end_at).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return;
    const how = await this.tell(e, { action: 'end', code: e.end_announcement === 'blocked' ? 603 : 480, ...(e.end_announcement === 'closed' ? { reason: 'closed' as const } : {}) }, config.sip.routeSecret);
    const ended = await endEntry(db, e.sip_call_id, ['ending'], how === 'gone' ? 'abandoned' : 'expired', how === 'gone' ? 'caller_hung_up' : (e.end_reason ?? 'ended'), clock.now());
    if (ended) await recordQueueEnd(db, ended);
  }

  private async claim(e: Entry): Promise<boolean> {
    const r = await this.ctx.db.updateTable('call_queue').set({ state: 'dispatching', claimed_by: this.ctx.bus.origin, claimed_at: this.ctx.clock.now() })
      .where('sip_call_id', '=', e.sip_call_id).where('state', '=', 'waiting').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  private async tell(e: Entry, act: KamailioAction, secret: string | undefined): Promise<'done' | 'gone'> {
    if (!e.control || e.t_index === null || e.t_label === null || !secret) return 'gone';
    return continueHeld(e.control, secret, { tindex: Number(e.t_index), tlabel: Number(e.t_label), callId: e.sip_call_id }, act);
  }

  /**
   * Longest-waiting caller first, to the longest-idle operator (routing's own order): campaigns in
   * the order of their oldest waiting caller; in each, callers in order until nobody is offerable.
   */
  private async dispatch(): Promise<void> {
    const { db, clock } = this.ctx;
    const now = clock.now();
    const ready = (q: ReturnType<typeof waitingOf>) => q.where((w) => w.or([w('dispatch_after', 'is', null), w('dispatch_after', '<=', now)]));
    const campaigns = await ready(waitingOf(db))
      .select(['campaign_id', 'org_id', (eb) => eb.fn.min('enqueued_at').as('oldest')]).groupBy(['campaign_id', 'org_id']).orderBy('oldest').execute();
    for (const c of campaigns) {
      // nobody offerable in the campaign (most passes while callers wait): one statement, no claim, no routing
      if (!(await anyOfferable(db, { kind: 'offer', orgId: c.org_id, campaignId: c.campaign_id, exclude: [] }))) continue;
      const entries = await ready(waitingOf(db)).selectAll().where('campaign_id', '=', c.campaign_id).orderBy('enqueued_at').orderBy('sip_call_id').execute();
      for (const e of entries) {
        if ((await this.offer(e)) === 'nobody') break;
      }
    }
  }

  private async offer(e: Entry): Promise<'nobody' | 'next'> {
    const { db, clock, config } = this.ctx;
    if (!(await this.claim(e))) return 'next';
    const t0 = performance.now();
    // the same routing as a new call: campaign, customer, the operator model's offer
    const query = (typeof e.query === 'string' ? JSON.parse(e.query) : e.query) as InboundRouteQuery;
    let d: RouteDecision;
    try {
      if (!this.router) throw new Error('queues: not started');
      d = await this.router(query, { campaignId: e.campaign_id, fromQueue: true });
    } catch (err) {
      await db.updateTable('call_queue').set({ state: 'waiting', claimed_by: null, claimed_at: null }).where('sip_call_id', '=', e.sip_call_id).where('state', '=', 'dispatching').execute();
      throw err;
    }
    if (d.reason === 'no_ready_agent') {
      await db.updateTable('call_queue').set({ state: 'waiting', claimed_by: null, claimed_at: null }).where('sip_call_id', '=', e.sip_call_id).where('state', '=', 'dispatching').execute();
      return 'nobody';
    }
    if (d.reason !== 'routed' || !d.target || !d.campaignId) {
      // the campaign closed meanwhile, or its DID went: the message routing gives (or 480)
      await this.startEnding(e, d.announce ?? null, d.reason);
      return 'next';
    }
    const how = await this.tell(e, { action: 'connect', target: d.target, campaign: d.campaignId, did: d.did, ...(d.ringSeconds ? { ring: String(d.ringSeconds) } : {}) }, config.sip.routeSecret);
    if (how === 'done') {
      this.dispatchMs.push(performance.now() - t0);
      if (this.dispatchMs.length > 1000) this.dispatchMs.shift();
      await endEntry(db, e.sip_call_id, ['dispatching'], 'connected', 'connected', clock.now());
      await db.updateTable('calls').set({ queued_at: e.enqueued_at }).where('sip_call_id', '=', e.sip_call_id).where('operator_id', 'is not', null).execute();
      // which rtpengine anchors it, as /sip/route records it for a call routed at once (best effort)
      if (this.ctx.mediaNodes && query.media) await this.ctx.mediaNodes.record(e.sip_call_id, query.media).catch((err: unknown) => reportBackgroundFailure('queues: media node of a routed call', err));
    } else {
      // the held INVITE is gone (the caller left as it was offered): the operator's offer ends
      const ended = await endEntry(db, e.sip_call_id, ['dispatching'], 'abandoned', 'caller_hung_up', clock.now());
      await this.ctx.agents.callEnded(e.sip_call_id, 'completed');
      if (ended) await recordQueueEnd(db, ended);
    }
    return 'next';
  }
}

const waitingOf = (db: Executor) => db.selectFrom('call_queue').where('state', '=', 'waiting').where('held_at', 'is not', null);
