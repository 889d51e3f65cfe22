// The board's queue statistics (issue 15 item 6), computed from the database only (no counter
// in memory: a restarted or another gateway instance computes the same figures):
//   per campaign: calls waiting now and the longest wait; today's offered / answered /
//   abandoned; the service level (answered within the campaign's target, 0012
//   service_level_seconds, over answered + abandoned); the average handle time;
//   per operator: calls answered, missed (let ring out), handle time, seconds in each agent
//   state today (operator_transitions, the model's history).
// A call is counted once per SIP Call-ID, whatever the number of operators it rang (a re-routed
// call has a row per operator); its wait runs from its first ring to its answer.
// "Today" is the campaign's IANA zone for a campaign, the org's (policy `timeZone`) for operators.
// Waiting: waitingByCampaign() below: calls rows still ringing and the callers waiting in the
// campaigns' queues (call_queue, server/sip/queue*.ts).
import { sql } from 'kysely';
import type { AgentStateName } from '../../shared/rules/operator-model';
import type { CampaignStats, OperatorStats, QueueStats } from '../../shared/gateway/queue-stats';
import type { Db } from '../db/schema';
import { orgPolicy } from '../policy';


/** The instant the day of `now` began in `zone` (a zone whose offset changes within the day: the offset at `now`). */
export function startOfDay(now: Date, zone: string): Date {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(now).map((x) => [x.type, x.value])) as Record<string, string>;
  const localAsUtc = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  const offset = localAsUtc - Math.floor(now.getTime() / 1000) * 1000;
  return new Date(Date.UTC(+p.year!, +p.month! - 1, +p.day!) - offset);
}

export interface Waiting {
  waiting: number;
  oldestSince: Date | null;
}

/**
 * Calls waiting per campaign of an org: in the campaign's queue (call_queue) or ringing, not
 * answered, not ended. The one function the board asks.
 */
export async function waitingByCampaign(db: Db, orgId: string, now: Date): Promise<Map<string, Waiting>> {
  const rows = await db
    .selectFrom('calls')
    .select(['campaign_id', 'sip_call_id', sql<Date>`min(ringing_at)`.as('since'), sql<boolean>`bool_or(answered_at is not null or ended_at is not null or status <> 'ringing')`.as('done')])
    .where('org_id', '=', orgId)
    .where('direction', '=', 'inbound')
    .where('campaign_id', 'is not', null)
    .where('ringing_at', '>', new Date(now.getTime() - 86_400_000))
    .groupBy(['campaign_id', 'sip_call_id'])
    .execute();
  // and the callers waiting in a campaign's queue (server/sip/queue.ts: call_queue, live rows;
  // a message played before hanging up is no wait): one count per call, from when it first waited
  const queued = await db
    .selectFrom('call_queue')
    .select(['campaign_id', 'sip_call_id', 'enqueued_at'])
    .where('org_id', '=', orgId)
    .where('ended_at', 'is', null)
    .where('end_announcement', 'is', null)
    .where('state', 'in', ['pending', 'waiting', 'dispatching'])
    .execute();
  const byCall = new Map<string, { campaignId: string; since: Date }>();
  for (const r of rows) if (!r.done) byCall.set(r.sip_call_id, { campaignId: r.campaign_id!, since: new Date(r.since) });
  for (const r of queued) {
    const seen = byCall.get(r.sip_call_id);
    byCall.set(r.sip_call_id, { campaignId: seen?.campaignId ?? r.campaign_id, since: seen && seen.since < r.enqueued_at ? seen.since : r.enqueued_at });
  }
  const out = new Map<string, Waiting>();
  for (const { campaignId, since } of byCall.values()) {
    const w = out.get(campaignId) ?? { waiting: 0, oldestSince: null };
    w.waiting++;
    if (!w.oldestSince || since < w.oldestSince) w.oldestSince = since;
    out.set(campaignId, w);
  }
  return out;
}

const secondsBetween = (a: Date, b: Date) => Math.max(0, (b.getTime() - a.getTime()) / 1000);

/** The org's statistics now (every campaign, every operator with history today); the board filters them per lead. */
export async function queueStats(db: Db, orgId: string, now: Date): Promise<QueueStats> {
  const campaigns = await db.selectFrom('campaigns').select(['id', 'name', 'time_zone', 'service_level_seconds']).where('org_id', '=', orgId).orderBy('name').execute();
  const orgDay = startOfDay(now, (await orgPolicy(db, orgId)).timeZone);
  // the earliest "today" of any zone (a day is at most 26 h behind now)
  const since = new Date(Math.min(orgDay.getTime(), ...campaigns.map((c) => startOfDay(now, c.time_zone).getTime())));
  const rows = await db
    .selectFrom('calls')
    .select(['campaign_id', 'sip_call_id', 'operator_id', 'ringing_at', 'queued_at', 'answered_at', 'ended_at', 'status', 'end_cause', 'wrap_up_seconds', 'direction'])
    .where('org_id', '=', orgId)
    .where('ringing_at', '>=', since)
    .where('ringing_at', '<=', now)
    .execute();
  const waiting = await waitingByCampaign(db, orgId, now);

  const campaignStats: CampaignStats[] = campaigns.map((c) => {
    const day = startOfDay(now, c.time_zone);
    const calls = new Map<string, { first: Date; answeredAt: Date | null; allEnded: boolean; abandoned: boolean }>();
    const handles: number[] = [];
    for (const r of rows) {
      // a blocked caller was refused at the door (server/sip/route-policy.ts): never offered
      if (r.campaign_id !== c.id || r.direction !== 'inbound' || r.end_cause === 'blocked') continue;
      const ended = r.ended_at !== null || r.status === 'ended' || r.status === 'wrapped_up';
      // a call that waited in the queue counts from when it began to wait (service level)
      const first = r.queued_at && r.queued_at < r.ringing_at ? r.queued_at : r.ringing_at;
      const k = calls.get(r.sip_call_id) ?? { first, answeredAt: null, allEnded: true, abandoned: false };
      if (first < k.first) k.first = first;
      if (r.answered_at && (!k.answeredAt || r.answered_at < k.answeredAt)) k.answeredAt = r.answered_at;
      k.allEnded &&= ended;
      // hung up while it rang, or while it waited in the queue (server/sip/queue-store.ts)
      k.abandoned ||= r.end_cause === 'caller_abandoned' || r.end_cause === 'abandoned';
      calls.set(r.sip_call_id, k);
      if (r.answered_at && r.ended_at && r.ended_at >= day) handles.push(secondsBetween(r.answered_at, r.ended_at) + (r.wrap_up_seconds ?? 0));
    }
    let offered = 0;
    let answered = 0;
    let abandoned = 0;
    let withinTarget = 0;
    for (const k of calls.values()) {
      if (k.first < day) continue;
      offered++;
      if (k.answeredAt) {
        answered++;
        if (secondsBetween(k.first, k.answeredAt) <= c.service_level_seconds) withinTarget++;
      } else if (k.allEnded && k.abandoned) abandoned++;
    }
    const w = waiting.get(c.id);
    return {
      campaignId: c.id,
      name: c.name,
      waiting: w?.waiting ?? 0,
      oldestWaitingSince: w?.oldestSince ? w.oldestSince.getTime() : null,
      offered,
      answered,
      abandoned,
      serviceLevel: answered + abandoned > 0 ? withinTarget / (answered + abandoned) : null,
      targetSeconds: c.service_level_seconds,
      averageHandleSeconds: handles.length ? handles.reduce((a, b) => a + b, 0) / handles.length : null,
    };
  });

  // per operator: their rows today, and the agent-state history clipped to [orgDay, now]
  const ops = new Map<string, OperatorStats>();
  const opOf = (userId: string) => {
    let o = ops.get(userId);
    if (!o) ops.set(userId, (o = { userId, calls: 0, missed: 0, handleSeconds: 0, stateSeconds: {} }));
    return o;
  };
  for (const r of rows) {
    if (r.ringing_at < orgDay || !r.operator_id) continue; // (a queued call nobody took has no operator)
    const o = opOf(r.operator_id);
    if (r.answered_at) {
      o.calls++;
      if (r.ended_at) o.handleSeconds += secondsBetween(r.answered_at, r.ended_at) + (r.wrap_up_seconds ?? 0);
    } else if (r.end_cause === 'no_answer') o.missed++;
  }
  const transitions = await db
    .selectFrom('operator_transitions')
    .select(['user_id', 'from_state', 'to_state', 'at'])
    .where('org_id', '=', orgId)
    .where('subject', '=', 'agent')
    .where('at', '>=', orgDay)
    .where('at', '<=', now)
    .orderBy('user_id')
    .orderBy('at')
    .orderBy('id')
    .execute();
  const byUser = new Map<string, typeof transitions>();
  for (const t of transitions) byUser.set(t.user_id, [...(byUser.get(t.user_id) ?? []), t]);
  for (const [userId, list] of byUser) {
    const o = opOf(userId);
    const add = (state: string, from: Date, to: Date) => {
      const s = state as AgentStateName;
      o.stateSeconds[s] = (o.stateSeconds[s] ?? 0) + secondsBetween(from, to);
    };
    // before the first change today: the state it left, since the day began
    add(list[0]!.from_state, orgDay, list[0]!.at);
    for (let i = 0; i < list.length; i++) add(list[i]!.to_state, list[i]!.at, list[i + 1]?.at ?? now);
  }
  // operators with no change today were in their current state all day
  const still = await db
    .selectFrom('operator_states')
    .select(['user_id', sql<string>`state->>'agent'`.as('agent')])
    .where('org_id', '=', orgId)
    .execute();
  for (const s of still) {
    if (byUser.has(s.user_id) || !s.agent || s.agent === 'offline') continue;
    const o = opOf(s.user_id);
    o.stateSeconds[s.agent as AgentStateName] = secondsBetween(orgDay, now);
  }
  return { at: now.getTime(), campaigns: campaignStats, operators: [...ops.values()].sort((a, b) => a.userId.localeCompare(b.userId)) };
}
