// The loops that feed the operator model besides the clients (server/sip/agents.ts): the
// sweeper (deadlines), the watchdog (the engines' live calls), Kamailio's call-ended report and
// (server/sip/connections.ts: the connections a gone instance left counted). Each goes through the registry's
// one writer (apply); the sweeper's tick claims the row (`FOR UPDATE SKIP LOCKED`, only while
// its deadline is still due), so of several instances that see a deadline due, one fires it.
import { sql } from 'kysely';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { markCallEnded } from './ended-calls';
import type { EndCause } from '../../shared/rules/operator-model';
import type { ApplyOptions, ApplyOutcome, EventInput, Who } from './agent-types';

export interface LoopHost {
  db: Db;
  clock: Clock;
  apply(who: Who, ev: EventInput, opts?: ApplyOptions): Promise<ApplyOutcome>;
  /** The sweeper's tick: stepped only if this process claims the row while it is due. */
  tickIfDue(who: Who): Promise<ApplyOutcome | 'not_due'>;
}

export const whoOf = (r: { user_id: string; org_id: string; username: string }): Who => ({ userId: r.user_id, orgId: r.org_id, username: r.username });

/** Feeds `tick` to every operator whose next deadline has passed; returns how many were due (`fired`: stepped here). */
export async function sweepDue(h: LoopHost, fired = { n: 0 }): Promise<number> {
  const due = await h.db
    .selectFrom('operator_states as o')
    .innerJoin('users as u', 'u.id', 'o.user_id')
    .select(['o.user_id', 'o.org_id', 'u.username'])
    .where('o.next_deadline', '<=', h.clock.now())
    .orderBy('o.next_deadline')
    .limit(500)
    .execute();
  for (const r of due) {
    try {
      const out = await h.tickIfDue(whoOf(r));
      if (out !== 'not_due' && out.kind === 'accepted') fired.n++;
    } catch (err) {
      // this operator's tick failed: the others still get theirs, and the deadline stays due
      reportBackgroundFailure('agents: sweeper tick', err);
    }
  }
  return due.length;
}

/**
 * The watchdog: the engines' live calls -> `reconcile` for every operator in a call (a call
 * the engines no longer have is ended "repair", audited agent.repair). Returns the repairs.
 * An engine that cannot be asked repairs nothing (an empty answer from a failed ask would
 * end every call): the failure is thrown to the caller, which reports it.
 */
export async function watchdog(h: LoopHost, engineCalls: () => Promise<string[]>): Promise<number> {
  const live = await engineCalls();
  const rows = await h.db
    .selectFrom('operator_states as o')
    .innerJoin('users as u', 'u.id', 'o.user_id')
    .select(['o.user_id', 'o.org_id', 'u.username'])
    .where(sql<boolean>`o.state->>'agent' in ('ringing', 'on_call')`)
    .execute();
  let repaired = 0;
  for (const r of rows) {
    try {
      const out = await h.apply(whoOf(r), { type: 'reconcile', liveCallIds: live });
      if (out.kind === 'accepted') repaired += out.effects.filter((e) => e.type === 'repaired').length;
    } catch (err) {
      reportBackgroundFailure('agents: watchdog reconcile', err);
    }
  }
  return repaired;
}

/** Kamailio saw the call end (BYE: `answered`, CANCEL...): `ended` for every operator the call involved. */
export async function callEnded(h: LoopHost, callId: string, cause: EndCause, answered = false): Promise<number> {
  // first the end itself (a late offer of this call is refused from now on), then the
  // operators who were offered it before
  await markCallEnded(h.db, callId, h.clock.now());
  const rows = await h.db
    .selectFrom('operator_transitions as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.user_id', 't.org_id', 'u.username'])
    .distinct()
    .where('t.sip_call_id', '=', callId)
    .execute();
  let ended = 0;
  for (const r of rows) {
    const out = await h.apply(whoOf(r), { type: 'ended', callId, cause, ...(answered ? { answered: true as const } : {}) });
    if (out.kind === 'accepted') ended++;
  }
  return ended;
}
