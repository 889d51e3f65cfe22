// The gateway owns the operator model (shared/rules/operator-model.ts): every change of an
// operator's agent state and of their calls goes through AgentRegistry.apply, and nowhere else:
//   load the stored state -> step() -> check invariantProblems (a violation is reported and
//   NOT stored) -> store the new state, its transitions, the calls rows that follow the model
//   and the audit in ONE transaction -> tell the listeners (the operator's sockets, the board).
// Serialised per user twice: an in-process queue (one step at a time per operator in this
// process) and the row's version as an optimistic check (another gateway process on the same
// PostgreSQL that wrote in between makes this write miss: it reloads and steps again).
// Nothing that matters lives only in memory: the deadlines (ring, wrap-up, client grace) are in
// the state and in operator_states.next_deadline, which the sweeper polls (every second) to feed
// `tick`; a restarted gateway resumes them. The watchdog (every 30 s) asks rtpengine which calls
// it still has and feeds `reconcile` to operators the model thinks are in a call; Kamailio's
// call-ended report feeds `ended`. Failures of those loops are reported (server/background.ts).
import type { Transaction } from 'kysely';
import { sql } from 'kysely';
import { appendAudit } from '../audit/audit';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Database, Db } from '../db/schema';
import { jsonColumn } from '../db/json-column';
import { orgPolicy } from '../policy';
import { markCallEnded } from './ended-calls';
import {
  initialOperatorState, invariantProblems, nextDeadline, offerable, step,
  type CallState, type Effect, type EndCause, type ModelPolicy, type OperatorEvent, type OperatorState, type Refusal, type Transition,
} from '../../shared/rules/operator-model';
import type { OrgPolicy } from '../../shared/gateway/policy';
import type { LegacyAgentState } from '../../shared/gateway/sip';

export interface Who {
  userId: string;
  orgId: string;
  username: string;
}

/** The legacy view of an agent (listAgents, the board, the legacy agentState push). */
export interface AgentRecord extends Who {
  /** The old vocabulary: the model's `ringing` is `on_call` here. */
  state: LegacyAgentState;
  reason: string | null;
  since: Date;
  model: OperatorState;
}

export interface AgentChange extends Who {
  state: OperatorState;
  previous: OperatorState;
  transitions: Transition[];
  effects: Effect[];
  /** 'client' (an intent over /ws), 'gateway' (routing, sweeper, engines, connect/disconnect). */
  by: 'client' | 'gateway';
  origin: unknown;
}
export type AgentListener = (change: AgentChange) => void;

/** An event without its time: apply() stamps it with the clock when it steps. */
export type EventInput = OperatorEvent extends infer E ? (E extends OperatorEvent ? Omit<E, 'at'> : never) : never;

export type ApplyOutcome =
  | { kind: 'accepted'; state: OperatorState; previous: OperatorState; transitions: Transition[]; effects: Effect[] }
  /** A duplicate or stale fact: nothing changed. */
  | { kind: 'ignored'; state: OperatorState }
  | { kind: 'refused'; refusal: Refusal; state: OperatorState }
  /** The step would have broken an invariant (a bug): reported, nothing stored. */
  | { kind: 'invalid'; problems: string[]; state: OperatorState };

export interface ApplyOptions {
  by?: 'client' | 'gateway';
  /** Runs inside the storing transaction, only for an accepted step (e.g. routing's call row). */
  within?: (tx: Transaction<Database>, next: OperatorState) => Promise<void>;
  /** Extra audit detail for the agent transitions of this step. */
  detail?: Record<string, unknown>;
  /** Handed to the listeners with the change (a socket marks the step that answers its message). */
  origin?: unknown;
}

/** Koe username -> SIP user part: lower-cased; Koe usernames ([A-Za-z0-9._-]) are valid SIP user characters. */
export function sipUserOf(username: string): string {
  return username.toLowerCase();
}

export function modelPolicyOf(p: OrgPolicy): ModelPolicy {
  return { ringSeconds: p.agents.ringSeconds, wrapUpSeconds: p.agents.wrapUpSeconds, graceSeconds: p.agents.clientGraceSeconds };
}

export function parseState(value: unknown): OperatorState {
  return jsonColumn<OperatorState>(value);
}

export function legacyOf(s: OperatorState): { state: LegacyAgentState; reason: string | null; since: Date } {
  const state: LegacyAgentState = s.agent === 'ringing' ? 'on_call' : s.agent;
  return { state, reason: s.agent === 'not_ready' ? (s.reason ?? s.reasonCode) : null, since: new Date(s.since) };
}

/** calls.status for a model call state. */
function callStatus(state: CallState['state']): 'ringing' | 'answered' | 'ended' | 'wrapped_up' {
  if (state === 'offered' || state === 'ringing') return 'ringing';
  if (state === 'ended' || state === 'wrapped_up') return state;
  return 'answered';
}

const MAX_WRITE_ATTEMPTS = 5;

export class AgentRegistry {
  private readonly listeners = new Set<AgentListener>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private sweeper: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private recovering: Promise<void> | null = null;
  /** Refusals of intents by code: normal (an operator pressing "ready" while locked), so counted, not audited. */
  readonly refusals = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** The calls rtpengine knows to be live (its `list` command), or null when no engine is configured. */
    private readonly engineCalls: (() => Promise<string[]>) | null = null,
  ) {}

  /** Subscribe to every accepted step; returns the unsubscribe function. */
  subscribe(listener: AgentListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------ reads
  private recordOf(who: Who, s: OperatorState): AgentRecord {
    return { ...who, ...legacyOf(s), model: s };
  }

  async get(userId: string): Promise<AgentRecord | undefined> {
    return (await this.getMany([userId])).get(userId);
  }

  /** The stored state of each of these users that has one (offline users may have none). */
  async getMany(userIds: readonly string[]): Promise<Map<string, AgentRecord>> {
    const out = new Map<string, AgentRecord>();
    if (userIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('operator_states as o')
      .innerJoin('users as u', 'u.id', 'o.user_id')
      .select(['o.user_id', 'o.org_id', 'o.state', 'u.username'])
      .where('o.user_id', 'in', [...userIds])
      .execute();
    for (const r of rows) out.set(r.user_id, this.recordOf({ userId: r.user_id, orgId: r.org_id, username: r.username }, parseState(r.state)));
    return out;
  }

  /** Offerable operators among `userIds` (model `offerable`), longest ready first. */
  async offerCandidates(userIds: readonly string[]): Promise<AgentRecord[]> {
    const all = await this.getMany(userIds);
    return [...all.values()]
      .filter((a) => offerable(a.model))
      .sort((a, b) => a.model.since - b.model.since || a.userId.localeCompare(b.userId));
  }

  // ------------------------------------------------------------------ the one writer
  /** Feeds one event to one operator's model (queued per operator). Throws only on a storage failure. */
  apply(who: Who, ev: EventInput, opts: ApplyOptions = {}): Promise<ApplyOutcome> {
    const prev = this.queues.get(who.userId) ?? Promise.resolve();
    const run = prev.then(() => this.applyNow(who, ev, opts));
    // the caller gets run's failure; the queue only waits for it to settle before the next step
    const tail = Promise.allSettled([run]).then(() => undefined);
    this.queues.set(who.userId, tail);
    void tail.then(() => {
      if (this.queues.get(who.userId) === tail) this.queues.delete(who.userId);
    });
    return run;
  }

  private async applyNow(who: Who, ev: EventInput, opts: ApplyOptions): Promise<ApplyOutcome> {
    const policy = modelPolicyOf(await orgPolicy(this.db, who.orgId));
    for (let attempt = 1; ; attempt++) {
      // One transaction: the row is read FOR UPDATE (another process stepping this operator waits
      // here), stepped, and written back only if its version is still the one read.
      const result = await this.db.transaction().execute(async (tx): Promise<ApplyOutcome | 'raced'> => {
        const row = await tx.selectFrom('operator_states').select(['state', 'version']).where('user_id', '=', who.userId).forUpdate().executeTakeFirst();
        const at = this.clock.now().getTime();
        const current = row ? parseState(row.state) : initialOperatorState(at);
        const r = step(current, { ...ev, at } as OperatorEvent, policy);
        if (!r.ok) {
          this.refusals.set(r.refusal, (this.refusals.get(r.refusal) ?? 0) + 1);
          return { kind: 'refused', refusal: r.refusal, state: current };
        }
        if ('ignored' in r) return { kind: 'ignored', state: current };
        const problems = invariantProblems(r.state);
        if (problems.length) {
          reportBackgroundFailure(`operator model: ${ev.type} for user ${who.userId}`, new Error(`the step would break invariants: ${problems.join('; ')}`));
          return { kind: 'invalid', problems, state: current };
        }
        const next = r.state;
        const deadline = nextDeadline(next);
        const values = { state: JSON.stringify(next), version: next.version, next_deadline: deadline === null ? null : new Date(deadline), updated_at: this.clock.now() };
        if (row) {
          const u = await tx.updateTable('operator_states').set(values).where('user_id', '=', who.userId).where('version', '=', row.version).executeTakeFirst();
          if (Number(u.numUpdatedRows) === 0) return 'raced';
        } else {
          // the first step of this operator: two processes may both insert; the loser steps again
          const i = await tx
            .insertInto('operator_states')
            .values({ user_id: who.userId, org_id: who.orgId, ...values })
            .onConflict((oc) => oc.column('user_id').doNothing())
            .executeTakeFirst();
          if (Number(i.numInsertedOrUpdatedRows ?? 0) === 0) return 'raced';
        }
        if (r.transitions.length) {
          await tx
            .insertInto('operator_transitions')
            .values(r.transitions.map((t) => ({
              org_id: who.orgId, user_id: who.userId, sip_call_id: t.callId, subject: t.subject, from_state: t.from, to_state: t.to,
              event: t.event, cause: t.cause, at: new Date(t.at),
            })))
            .execute();
        }
        await opts.within?.(tx, next);
        await this.followCalls(tx, who, r.transitions, next);
        await this.auditStep(tx, who, r.transitions, r.effects, opts);
        return { kind: 'accepted', state: next, previous: current, transitions: r.transitions, effects: r.effects };
      });
      if (result === 'raced') {
        if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error(`operator state of ${who.userId}: lost the version race ${attempt} times`);
        continue;
      }
      if (result.kind === 'accepted') {
        const change: AgentChange = { ...who, state: result.state, previous: result.previous, transitions: result.transitions, effects: result.effects, by: opts.by ?? 'gateway', origin: opts.origin };
        for (const l of this.listeners) {
          try {
            l(change);
          } catch (err) {
            // a listener's failure is its own: the change stands and the other listeners still hear it
            reportBackgroundFailure('agents: state listener', err);
          }
        }
      }
      return result;
    }
  }

  /** The calls rows (CRM) follow the model: status, answered_at, ended_at, end cause. */
  private async followCalls(tx: Transaction<Database>, who: Who, transitions: Transition[], next: OperatorState): Promise<void> {
    const touched = new Set(transitions.filter((t) => t.subject === 'call' && t.callId).map((t) => t.callId!));
    for (const callId of touched) {
      const c = next.calls.find((x) => x.callId === callId);
      if (!c) continue;
      const wrapSeconds = c.state === 'wrapped_up' && c.endedAt !== null ? Math.max(0, Math.round((this.clock.now().getTime() - c.endedAt) / 1000)) : null;
      await tx
        .updateTable('calls')
        .set({
          status: callStatus(c.state),
          ...(c.answeredAt !== null ? { answered_at: new Date(c.answeredAt) } : {}),
          ...(c.endedAt !== null ? { ended_at: new Date(c.endedAt) } : {}),
          ...(c.cause ? { end_cause: c.cause } : {}),
          ...(wrapSeconds !== null ? { wrap_up_seconds: sql<number>`coalesce(wrap_up_seconds, ${wrapSeconds})` } : {}),
          updated_at: this.clock.now(),
        })
        .where('org_id', '=', who.orgId)
        .where('sip_call_id', '=', callId)
        .where('operator_id', '=', who.userId)
        .execute();
    }
  }

  private async auditStep(tx: Transaction<Database>, who: Who, transitions: Transition[], effects: Effect[], opts: ApplyOptions): Promise<void> {
    const by = opts.by ?? 'gateway';
    for (const t of transitions) {
      if (t.subject !== 'agent') continue;
      await appendAudit(tx, this.clock, {
        action: 'agent.state',
        orgId: who.orgId,
        actor: by === 'client' ? { userId: who.userId, username: who.username } : null,
        target: { type: 'user', id: who.userId },
        detail: { state: t.to, previous: t.from, by, event: t.event, ...(t.cause ? { cause: t.cause } : {}), ...opts.detail },
      });
    }
    for (const e of effects) {
      if (e.type !== 'repaired') continue;
      await appendAudit(tx, this.clock, {
        action: 'agent.repair',
        orgId: who.orgId,
        actor: null,
        target: { type: 'user', id: who.userId },
        detail: { callId: e.callId, was: e.was, cause: 'repair' },
      });
    }
  }

  // ------------------------------------------------------------------ the engines and the clock
  /** Feeds `tick` to every operator whose next deadline has passed; returns how many. */
  sweep(): Promise<number> {
    // one sweep at a time (a slow database must not stack sweeps up)
    this.sweeping ??= this.sweepNow().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepNow(): Promise<number> {
    const due = await this.db
      .selectFrom('operator_states as o')
      .innerJoin('users as u', 'u.id', 'o.user_id')
      .select(['o.user_id', 'o.org_id', 'u.username'])
      .where('o.next_deadline', '<=', this.clock.now())
      .orderBy('o.next_deadline')
      .limit(500)
      .execute();
    for (const r of due) {
      try {
        await this.apply({ userId: r.user_id, orgId: r.org_id, username: r.username }, { type: 'tick' });
      } catch (err) {
        // this operator's tick failed: the others still get theirs, and the deadline stays due
        reportBackgroundFailure('agents: sweeper tick', err);
      }
    }
    return due.length;
  }

  /** Operators the model thinks are in a call (ringing / on call). */
  private async inCall(): Promise<Who[]> {
    const rows = await this.db
      .selectFrom('operator_states as o')
      .innerJoin('users as u', 'u.id', 'o.user_id')
      .select(['o.user_id', 'o.org_id', 'u.username'])
      .where(sql<boolean>`o.state->>'agent' in ('ringing', 'on_call')`)
      .execute();
    return rows.map((r) => ({ userId: r.user_id, orgId: r.org_id, username: r.username }));
  }

  /**
   * The watchdog: the engines' live calls -> `reconcile` for every operator in a call (a call
   * the engines no longer have is ended "repair", audited agent.repair). Returns the repairs.
   * An engine that cannot be asked repairs nothing (an empty answer from a failed ask would
   * end every call): the failure is thrown to the caller, which reports it.
   */
  async watchdog(): Promise<number> {
    if (!this.engineCalls) return 0;
    const live = await this.engineCalls();
    let repaired = 0;
    for (const who of await this.inCall()) {
      try {
        const out = await this.apply(who, { type: 'reconcile', liveCallIds: live });
        if (out.kind === 'accepted') repaired += out.effects.filter((e) => e.type === 'repaired').length;
      } catch (err) {
        reportBackgroundFailure('agents: watchdog reconcile', err);
      }
    }
    return repaired;
  }

  /** Kamailio saw the call end (BYE): `ended` (completed) for every operator the call involved. */
  async callEnded(callId: string, cause: EndCause = 'completed'): Promise<number> {
    // first the end itself (a late offer of this call is refused from now on), then the
    // operators who were offered it before
    await markCallEnded(this.db, callId, this.clock.now());
    const rows = await this.db
      .selectFrom('operator_transitions as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.user_id', 't.org_id', 'u.username'])
      .distinct()
      .where('t.sip_call_id', '=', callId)
      .execute();
    let ended = 0;
    for (const r of rows) {
      const out = await this.apply({ userId: r.user_id, orgId: r.org_id, username: r.username }, { type: 'ended', callId, cause });
      if (out.kind === 'accepted') ended++;
    }
    return ended;
  }

  /**
   * A gateway that starts has no sockets yet: connections the stored states still count were
   * held by a process that is gone (a crash leaves no `disconnected`). Each is fed
   * `disconnected` so the grace starts now: a client that reconnects within it loses nothing,
   * one that does not goes offline (never a ghost "ready" after a restart). One gateway process
   * per database until issue 14 gives connections an owner.
   */
  recoverConnections(): Promise<number> {
    const run = this.recoverNow();
    this.recovering = run.then(() => undefined, () => undefined);
    return run;
  }

  private async recoverNow(): Promise<number> {
    const rows = await this.db
      .selectFrom('operator_states as o')
      .innerJoin('users as u', 'u.id', 'o.user_id')
      .select(['o.user_id', 'o.org_id', 'o.state', 'u.username'])
      .where(sql<boolean>`(o.state->>'connections')::int > 0`)
      .execute();
    for (const r of rows) {
      const who = { userId: r.user_id, orgId: r.org_id, username: r.username };
      for (let n = parseState(r.state).connections; n > 0; n--) await this.apply(who, { type: 'disconnected' });
    }
    return rows.length;
  }

  /** Starts the sweeper (deadlines) and, with an engine, the watchdog. */
  start(opts: { sweepMs?: number; watchdogMs?: number } = {}): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => void this.sweep().catch((err: unknown) => reportBackgroundFailure('agents: sweeper', err)), opts.sweepMs ?? 1000);
    this.sweeper.unref();
    if (this.engineCalls) {
      this.watchdogTimer = setInterval(() => void this.watchdog().catch((err: unknown) => reportBackgroundFailure('agents: watchdog', err)), opts.watchdogMs ?? 30_000);
      this.watchdogTimer.unref();
    }
  }

  /** Waits for the queued steps (tests, shutdown). */
  async idle(): Promise<void> {
    await this.recovering;
    while (this.queues.size) await Promise.all([...this.queues.values()]);
    await this.sweeping;
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.sweeper = null;
    this.watchdogTimer = null;
  }
}
