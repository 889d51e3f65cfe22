// The queue's entries as routing creates them, and the announcements played to a held caller
// (server/sip/queue.ts: CallQueues extends this with the hold, the pass and the dispatch).
import { sanitizeText } from '../../shared/rules/text';
import { sql, type Insertable } from 'kysely';
import type { AnnouncementName } from '../../shared/gateway/queue';
import { reportBackgroundFailure } from '../background';
import type { CallQueueEntry, CallQueueTable } from '../db/schema-queue';
import { orgPolicy } from '../policy';
import { announcementFile, cacheDirOf, greetingThenMusic } from './announcements';
import { QueueMedia } from './queue-media';
import { findOverflow, queueSettings } from './queue-store';
import type { z } from 'zod';
import type { SipRouteQuery, SipRouteResponse } from '../../shared/gateway/sip';
import type { Clock } from '../clock';
import type { GatewayConfig } from '../config';
import type { Db, Executor } from '../db/schema';
import type { AgentRegistry } from './agents';

/**
 * The routing query as a queue entry keeps it (a queued call is routed again from it): the
 * carrier's text (From, P-Asserted-Identity, Privacy: any characters, shared/gateway/sip.ts)
 * through the one text rule, so a NUL or a lone surrogate is stored as what the rule makes of
 * it (the numbering rule reads digits only: the same caller) rather than failing the insert.
 */
function storedQuery(q: InboundRouteQuery): string {
  return JSON.stringify(Object.fromEntries(Object.entries(q).map(([k, v]) => [k, typeof v === 'string' ? sanitizeText(v) : v])));
}

/** Kamailio's routing query and the routing decision (server/sip/routing.ts: the same types). */
type InboundRouteQuery = z.input<typeof SipRouteQuery>;
type RouteDecision = z.output<typeof SipRouteResponse>;
/** What the queue needs of the gateway (not the whole context: the context holds the queue). */
export interface QueueHost {
  db: Db;
  clock: Clock;
  config: GatewayConfig;
  agents: AgentRegistry;
  bus: { origin: string };
  /** Several rtpengines: which one anchors a routed call (server/sip/media-nodes.ts). */
  mediaNodes: { record(callId: string, node: string): Promise<boolean> } | null;
}
/** The one routing (server/sip/routing.ts routeInbound), handed in by the gateway at start. */
export type Router = (query: InboundRouteQuery, opts: { campaignId?: string; fromQueue?: boolean }) => Promise<RouteDecision>;

type Entry = CallQueueEntry;

export abstract class QueueEntries {
  readonly media: QueueMedia;
  private warnedNoFiles = false;

  constructor(protected readonly ctx: QueueHost) {
    const sip = ctx.config.sip;
    this.media = new QueueMedia(sip.rtpengineNg ?? null, sip.rtpengineNodes ?? []);
  }

  // ------------------------------------------------------------------ routing: enqueue
  /**
   * Routing found nobody offerable (or the org's recording notice must play first): the call
   * waits in the campaign's queue, its overflow's, or is refused "queue full" with a message.
   * `rerouted`: a re-route found nobody left (its operator let it ring or refused): the caller
   * waits again like a new caller (room in the queue, the overflow), but from when it first waited
   * (its queue entry's start, else its first ring: longest-waiting order, the maximum wait, the
   * service level); a caller that was queued before has heard the greeting: the music.
   */
  async enqueue(a: { orgId: string; campaignId: string; did: string; caller: string | null; query: InboundRouteQuery; notice: boolean; rerouted?: boolean }): Promise<RouteDecision> {
    const { db, clock } = this.ctx;
    const callId = a.query.callId;
    return db.transaction().execute(async (tx) => {
      // one org's queues change one at a time (sizes, overflow between its campaigns)
      await sql`select pg_advisory_xact_lock(hashtext(${`koe-queue:${a.orgId}`}))`.execute(tx);
      const known = await tx.selectFrom('call_queue').selectAll().where('sip_call_id', '=', callId).executeTakeFirst();
      // asked again (Kamailio's failover): the same answer; an ended entry waits again only on a re-route
      if (known && (known.ended_at === null || !a.rerouted)) return decisionOf(known, a.did);
      // (an entry that ended otherwise, abandoned or expired, does not come back)
      if (known && known.state !== 'connected') return { target: null, campaignId: a.campaignId, did: a.did, reason: 'no_ready_agent' } as RouteDecision;
      // Kamailio already reported this call ended (a late lookup): nothing to queue
      await sql`select pg_advisory_xact_lock(hashtext(${callId}))`.execute(tx);
      if (await tx.selectFrom('ended_calls').select('sip_call_id').where('sip_call_id', '=', callId).executeTakeFirst()) {
        return { target: null, campaignId: a.campaignId, did: a.did, reason: 'no_ready_agent' } as RouteDecision;
      }
      const target = await findOverflow(tx, a.campaignId);
      const now = clock.now();
      const since = a.rerouted ? await firstWait(tx, a.orgId, callId, known?.enqueued_at ?? null, now) : now;
      const settings = target ? await queueSettings(tx, target) : null;
      // the maximum wait runs from the first wait in the caller's own campaign, from the move in an overflow's
      const deadline = new Date((target === a.campaignId ? since : now).getTime() + (settings?.maxWaitSeconds ?? 0) * 1000);
      const row: Insertable<CallQueueTable> & Pick<Entry, 'campaign_id' | 'first_campaign_id' | 'end_announcement' | 'state'> = {
        sip_call_id: callId, org_id: a.orgId, campaign_id: target ?? a.campaignId, first_campaign_id: a.campaignId, query: storedQuery(a.query), caller_e164: a.caller, dialled_e164: a.did,
        state: 'pending', enqueued_at: since, deadline, held_at: null,
        control: null, t_index: null, t_label: null, media_node: null, from_tag: null,
        next_play: a.notice ? 'notice' : known?.held_at ? 'music' : 'greeting', next_play_at: null, dispatch_after: null, claimed_by: null, claimed_at: null,
        end_announcement: target ? null : 'overflow', end_at: null, ended_at: null, end_reason: target ? null : 'queue_full',
      };
      if (known) {
        const { sip_call_id: _key, ...again } = row;
        await tx.updateTable('call_queue').set(again).where('sip_call_id', '=', callId).where('state', '=', 'connected').execute();
      } else {
        await tx.insertInto('call_queue').values(row).execute();
      }
      return decisionOf(row, a.did);
    });
  }

  /**
   * Routing decided the caller hears a message and is then hung up (a closed campaign, a blocked
   * number, when the campaign's policy says "message"): held like a queued call (koe.cfg
   * route[QUEUE_HOLD], because the decision carries `announce`), the message played, then 480
   * (603 for `blocked`). Never counted in a queue's size.
   */
  async announceAndEnd(a: { orgId: string; campaignId: string; did: string; caller: string | null; query: InboundRouteQuery; name: AnnouncementName; reason: RouteDecision['reason'] }): Promise<RouteDecision> {
    const now = this.ctx.clock.now();
    await this.ctx.db.insertInto('call_queue').values({
      sip_call_id: a.query.callId, org_id: a.orgId, campaign_id: a.campaignId, first_campaign_id: a.campaignId, query: storedQuery(a.query),
      caller_e164: a.caller, dialled_e164: a.did, state: 'pending', enqueued_at: now, deadline: now, end_announcement: a.name, end_reason: a.reason,
    }).onConflict((oc) => oc.column('sip_call_id').doNothing()).execute();
    return { target: null, campaignId: a.campaignId, did: a.did, reason: a.reason, announce: a.name };
  }

  /** Plays one announcement of the entry's org now; its duration (0 when there is no file or it failed: the next step follows at once). */
  protected async playNow(e: Pick<Entry, 'org_id' | 'sip_call_id' | 'media_node' | 'from_tag'>, name: AnnouncementName): Promise<{ ms: number; then: AnnouncementName | null }> {
    const { db, config } = this.ctx;
    const lang = (await orgPolicy(db, e.org_id)).announcements.language;
    let file = await announcementFile(db, config, e.org_id, name, lang);
    let then = nextOf(name);
    if (!file) {
      if (!this.warnedNoFiles) console.warn(`queues: no announcement file for ${name}/${lang} (sip.announcementsDir): the caller hears silence`);
      this.warnedNoFiles = true;
      return { ms: 0, then };
    }
    if (name === 'greeting') {
      // greeting + music as one loop rtpengine plays on its own (no gateway needed to go on)
      const music = await announcementFile(db, config, e.org_id, 'music', lang);
      const loop = music ? greetingThenMusic(cacheDirOf(config), file, music) : null;
      if (loop) {
        file = loop;
        then = null;
      }
    }
    try {
      const ms = await this.media.play(e.media_node, e.sip_call_id, e.from_tag!, file, name === 'music' || then === null);
      return { ms, then };
    } catch (err) {
      reportBackgroundFailure(`queues: playing ${name}`, err);
      return { ms: 0, then };
    }
  }

}

/** When a re-routed caller first waited: its earlier queue entry's start, else its first ring (the first offer's calls row). */
async function firstWait(tx: Executor, orgId: string, callId: string, queuedAt: Date | null, now: Date): Promise<Date> {
  const r = await tx.selectFrom('calls').select((eb) => eb.fn.min('ringing_at').as('first')).where('org_id', '=', orgId).where('sip_call_id', '=', callId).executeTakeFirst();
  const rang = r?.first ? new Date(r.first as unknown as string | Date) : null;
  const all = [queuedAt, rang, now].filter((d): d is Date => d !== null && !Number.isNaN(d.getTime()));
  return new Date(Math.min(...all.map((d) => d.getTime())));
}

export function nextOf(name: AnnouncementName): AnnouncementName | null {
  return name === 'notice' ? 'greeting' : name === 'greeting' ? 'music' : null;
}

export function decisionOf(e: Pick<Entry, 'campaign_id' | 'first_campaign_id' | 'end_announcement' | 'state'>, did: string): RouteDecision {
  if (e.end_announcement === 'overflow' && e.state === 'pending') return { target: null, campaignId: e.first_campaign_id, did, reason: 'queue_full', announce: 'overflow' };
  return { target: null, campaignId: e.campaign_id, did, reason: 'queued' };
}
