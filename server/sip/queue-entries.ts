// The queue's entries as routing creates them, and the announcements played to a held caller
// (server/sip/queue.ts: CallQueues extends this with the hold, the pass and the dispatch).
import { sanitizeText } from '../../shared/rules/text';
import { sql } from 'kysely';
import type { AnnouncementName } from '../../shared/gateway/queue';
import { reportBackgroundFailure } from '../background';
import type { CallQueueEntry } from '../db/schema-queue';
import { orgPolicy } from '../policy';
import { announcementFile, cacheDirOf, greetingThenMusic } from './announcements';
import { QueueMedia } from './queue-media';
import type { z } from 'zod';
import type { SipRouteQuery, SipRouteResponse } from '../../shared/gateway/sip';
import type { Clock } from '../clock';
import type { GatewayConfig } from '../config';
import type { Db } from '../db/schema';
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
    // One statement (migration 0023, koe_queue_enqueue): under the org's queue lock, Kamailio
    // asking again gets the entry it has; an entry that ended otherwise (abandoned, expired) does
    // not come back, nor does a call Kamailio already reported ended; else the campaign's queue,
    // its overflow's, or "queue full". Before, ~11 round trips held that lock (issue 14: every
    // queued caller of an org waited behind them).
    const r = await sql<{ outcome: 'known' | 'gone' | 'queued'; campaign_id: string; first_campaign_id: string; end_announcement: string | null; state: Entry['state'] }>`
      select * from koe_queue_enqueue(${a.orgId}::uuid, ${a.campaignId}::uuid, ${a.query.callId}, ${storedQuery(a.query)}::jsonb, ${a.caller},
        ${a.did}, ${a.notice}, ${a.rerouted ?? false}, ${this.ctx.clock.now()}::timestamptz)`.execute(this.ctx.db);
    const row = r.rows[0];
    if (!row) throw new Error('queues: koe_queue_enqueue returned no row');
    if (row.outcome === 'gone') return { target: null, campaignId: a.campaignId, did: a.did, reason: 'no_ready_agent' };
    return decisionOf(row, a.did);
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

export function nextOf(name: AnnouncementName): AnnouncementName | null {
  return name === 'notice' ? 'greeting' : name === 'greeting' ? 'music' : null;
}

export function decisionOf(e: Pick<Entry, 'campaign_id' | 'first_campaign_id' | 'end_announcement' | 'state'>, did: string): RouteDecision {
  if (e.end_announcement === 'overflow' && e.state === 'pending') return { target: null, campaignId: e.first_campaign_id, did, reason: 'queue_full', announce: 'overflow' };
  return { target: null, campaignId: e.campaign_id, did, reason: 'queued' };
}
