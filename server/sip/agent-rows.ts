// How AgentRegistry's one writer (server/sip/agents.ts) finds the row it steps, and what it
// reads besides the row (issue 14, routing at scale):
//   - `user`: one operator's row, FOR UPDATE (a step of a known operator; waits for another
//     process stepping the same operator);
//   - `due`: the sweeper's tick, FOR UPDATE SKIP LOCKED and only while the deadline is due;
//   - `offer`: routing's claim: the longest-offerable operator assigned to a campaign, chosen in
//     SQL from the `offerable_since` column (indexed, partial: only offerable rows are in it)
//     and locked FOR UPDATE SKIP LOCKED, so concurrent lookups each claim a different operator
//     instead of queueing on the same one. The column is derived from the model's `offerable`
//     (shared/rules/operator-model.ts) by the same write that stores the state, so it is never
//     a second rule; the claimed row is still stepped by the model (which refuses an operator
//     who is not offerable), so a stale column could only cost a retry, never a double offer.
// The org's model policy (ring, wrap-up, grace seconds, extensions; the not-ready reasons) is cached per org and dropped on the
// `policy_changed` session event (local at once, other instances through the bus).
import type { Expression, Transaction } from 'kysely';
import type { EventBus } from '../bus/event-bus';
import type { Clock } from '../clock';
import type { Database, Executor } from '../db/schema';
import { orgPolicy } from '../policy';
import type { OrgPolicy } from '../../shared/gateway/policy';
import { modelPolicyOf } from './agent-state';
import type { Who } from './agent-types';
import { nextDeadline, offerable, type ModelPolicy, type OperatorState, type Transition } from '../../shared/rules/operator-model';

export type RowPick =
  | { kind: 'user'; who: Who }
  | { kind: 'due'; who: Who; now: () => Date }
  /** The longest-offerable operator of `campaignId` in `orgId`, not one of `exclude`. */
  | { kind: 'offer'; orgId: string; campaignId: string; exclude: readonly string[] };

export interface PickedRow {
  who: Who;
  /** Undefined: the operator has no stored state yet (their first step). */
  row: { state: unknown; version: number } | undefined;
}

/** The column routing's claim orders by: the state's `since` while the model says offerable, else null. */
export function offerableSince(s: OperatorState): number | null {
  return offerable(s) ? s.since : null;
}

/**
 * Whose offerable operators: an org and a campaign given as values, or as columns of an outer
 * statement (routing's DID statement asks "anyone offerable?" in the same read: offerableExists).
 */
type OfferablePick = { orgId: string | Expression<string>; campaignId: string | Expression<string>; exclude: readonly string[] };

/**
 * The offerable operators of the claim's campaign (not locked, not ordered: the claim's filter).
 * The operator's assignment to the campaign and their user row are asked per offerable row
 * (scalar subqueries, which PostgreSQL never turns into joins), so the statement walks the
 * partial index of offerable rows (few in a busy centre, in the claim's order) rather than every
 * operator assigned to the campaign or every user: as joins, the planner drove it from the
 * campaign's 2,000 assignments (or the org's users) whenever their statistics were stale (just
 * assigned) and a claim cost 8-10 ms of PostgreSQL CPU (issue 14 bench, auto_explain).
 */
function offerableOf(db: Executor, pick: OfferablePick) {
  let q = db
    .selectFrom('operator_states as o')
    .where('o.offerable_since', 'is not', null)
    .where('o.org_id', '=', pick.orgId)
    .where((eb) =>
      eb.and([
        eb(eb.selectFrom('campaign_assignments as a').select('a.user_id').whereRef('a.user_id', '=', 'o.user_id').where('a.campaign_id', '=', pick.campaignId).limit(1), 'is not', null),
        eb(eb.selectFrom('users as u').select('u.disabled').whereRef('u.id', '=', 'o.user_id'), '=', false),
      ]),
    );
  if (pick.exclude.length) q = q.where('o.user_id', 'not in', [...pick.exclude]);
  return q;
}

/**
 * Whether the claim may find anyone, without a transaction or a lock (one statement): when
 * every operator is busy (what Kamailio asks most during a queue) the lookup ends here.
 */
export async function anyOfferable(db: Executor, pick: RowPick & { kind: 'offer' }): Promise<boolean> {
  return (await offerableOf(db, pick).select('o.user_id').limit(1).executeTakeFirst()) !== undefined;
}

/**
 * The same question as a subquery for `exists (...)` inside another statement (the org and the
 * campaign as that statement's columns): one rule for "anyone offerable", one round trip less.
 */
export function offerableExists(db: Executor, orgId: Expression<string>, campaignId: Expression<string>) {
  return offerableOf(db, { orgId, campaignId, exclude: [] }).select('o.user_id');
}

export async function pickRow(tx: Executor, pick: RowPick): Promise<PickedRow | null> {
  if (pick.kind === 'offer') {
    const q = offerableOf(tx, pick).select(['o.user_id', 'o.org_id', 'o.state', 'o.version']).select((eb) => eb.selectFrom('users as u').select('u.username').whereRef('u.id', '=', 'o.user_id').as('username'))
      // the filter asked for the user row (not disabled), so the username is there
      .$narrowType<{ username: string }>();
    // `of o`: only the operator's row is locked (never the users or assignments rows)
    const r = await q.orderBy('o.offerable_since').orderBy('o.user_id').limit(1).forUpdate(['o']).skipLocked().executeTakeFirst();
    return r ? { who: { userId: r.user_id, orgId: r.org_id, username: r.username }, row: { state: r.state, version: r.version } } : null;
  }
  let q = tx.selectFrom('operator_states').select(['state', 'version']).where('user_id', '=', pick.who.userId);
  if (pick.kind === 'due') q = q.where('next_deadline', '<=', pick.now());
  const row = await (pick.kind === 'due' ? q.forUpdate().skipLocked() : q.forUpdate()).executeTakeFirst();
  if (pick.kind === 'due' && !row) return null;
  return { who: pick.who, row };
}

/** The org's model policy, read once per org and dropped when the org's policy changes. */
export class ModelPolicies {
  private readonly cache = new Map<string, Promise<OrgPolicy>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly db: Executor, bus: EventBus) {
    this.unsubscribe = bus.subscribe('session', (e) => {
      if (e.kind === 'policy_changed') this.cache.delete(e.orgId);
    });
  }

  get(orgId: string): Promise<ModelPolicy> {
    return this.org(orgId).then(modelPolicyOf);
  }

  /** The org's agent section (the not-ready reasons the gateway checks intents against). */
  agents(orgId: string): Promise<OrgPolicy['agents']> {
    return this.org(orgId).then((p) => p.agents);
  }

  private org(orgId: string): Promise<OrgPolicy> {
    let p = this.cache.get(orgId);
    if (!p) {
      p = orgPolicy(this.db, orgId);
      this.cache.set(orgId, p);
      // a failed read is not kept: the next step reads again
      p.catch(() => {
        if (this.cache.get(orgId) === p) this.cache.delete(orgId);
      });
    }
    return p;
  }

  close(): void {
    this.unsubscribe();
  }
}

/**
 * Stores a step's new state (with its deadline and `offerable_since`, derived here and nowhere
 * else) and its transitions. `version`: the version read (null: no row yet). False: another
 * process wrote the row in between (or inserted it first): the caller steps again.
 */
export async function storeStep(tx: Transaction<Database>, clock: Clock, who: Who, version: number | null, next: OperatorState, transitions: readonly Transition[]): Promise<boolean> {
  const deadline = nextDeadline(next);
  const values = {
    state: JSON.stringify(next), version: next.version, next_deadline: deadline === null ? null : new Date(deadline),
    offerable_since: offerableSince(next), updated_at: clock.now(),
  };
  if (version !== null) {
    const u = await tx.updateTable('operator_states').set(values).where('user_id', '=', who.userId).where('version', '=', version).executeTakeFirst();
    if (Number(u.numUpdatedRows) === 0) return false;
  } else {
    // the first step of this operator: two processes may both insert; the loser steps again
    const i = await tx
      .insertInto('operator_states')
      .values({ user_id: who.userId, org_id: who.orgId, ...values })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .executeTakeFirst();
    if (Number(i.numInsertedOrUpdatedRows ?? 0) === 0) return false;
  }
  if (transitions.length) {
    await tx
      .insertInto('operator_transitions')
      .values(transitions.map((t) => ({
        org_id: who.orgId, user_id: who.userId, sip_call_id: t.callId, subject: t.subject, from_state: t.from, to_state: t.to,
        event: t.event, cause: t.cause, at: new Date(t.at),
      })))
      .execute();
  }
  return true;
}
