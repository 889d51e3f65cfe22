// The gateway owns the operator model (shared/rules/operator-model.ts): every change of an
// operator's agent state and of their calls goes through AgentRegistry.apply, and nowhere else:
//   load the stored state -> step() -> check invariantProblems (a violation is reported and
//   NOT stored) -> store the new state, its transitions, the calls rows that follow the model,
//   the connection's owner (server/sip/connections.ts), the audit and the bus message (`agent`:
//   user id, version, effects) in ONE transaction -> tell this process's listeners (the
//   operator's sockets, the board). Other instances hear the message once it commits, re-read
//   the state and tell theirs.
// Serialised per user twice: an in-process queue, and the row read FOR UPDATE + its version
// as an optimistic check (another instance that wrote in between makes this write retry).
// The deadlines (ring, wrap-up, client grace) are in the state and in next_deadline, which
// every instance's sweeper polls (every second); the tick claims the row FOR UPDATE SKIP
// LOCKED and only while the deadline is due (server/sip/agent-loops.ts), so one instance fires
// each deadline, once. The watchdog feeds `reconcile`, Kamailio's call-ended report `ended`.
import { reportBackgroundFailure } from '../background';
import type { EventBus } from '../bus/event-bus';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import type { OrgPolicy } from '../../shared/gateway/policy';
import * as loops from './agent-loops';
import { heartbeat, recoverGone, recoverOrphans } from './connections';
import { legacyOf, parseState } from './agent-state';
import { anyOfferable, ModelPolicies, pickRow, storeStep, type RowPick } from './agent-rows';
import type { AgentChange, AgentListener, AgentRecord, ApplyOptions, ApplyOutcome, EventInput, OfferRequest, Who } from './agent-types';
import { holdConnection } from './connections';
import { auditStep, followCalls } from './agent-writes';
import {
  initialOperatorState, invariantProblems, step,
  type Effect, type EndCause, type ModelPolicy, type OperatorEvent, type OperatorState,
} from '../../shared/rules/operator-model';

export { legacyOf, modelPolicyOf, parseState, sipUserOf } from './agent-state';

export type { AgentChange, AgentListener, AgentRecord, ApplyOptions, ApplyOutcome, EventInput, Who } from './agent-types';

const MAX_WRITE_ATTEMPTS = 5;
const HEARTBEAT_MS = 5_000;

class NotOwned extends Error {
  constructor(readonly state: OperatorState) {
    super('the connection is not held by that instance');
  }
}

export class AgentRegistry implements loops.LoopHost {
  private readonly listeners = new Set<AgentListener>();
  private readonly userListeners = new Map<string, Set<AgentListener>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Re-reads of changes heard from other instances, one at a time per operator (their order). */
  private readonly remoteReads = new Map<string, Promise<void>>();
  private sweeper: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private recovering: Promise<void> | null = null;
  private readonly unsubscribeBus: () => void;
  /** Refusals of intents by code: normal (an operator pressing "ready" while locked), so counted, not audited. */
  readonly refusals = new Map<string, number>();
  private readonly policies: ModelPolicies;

  constructor(
    readonly db: Db,
    readonly clock: Clock,
    private readonly bus: EventBus,
    /** The calls rtpengine knows to be live (its `list` command), or null when no engine is configured. */
    private readonly engineCalls: (() => Promise<string[]>) | null = null,
  ) {
    this.policies = new ModelPolicies(db, bus);
    this.unsubscribeBus = bus.subscribe('agent', (m, d) => {
      if (!d.local) this.heardRemote(m);
    });
  }

  /** Subscribe to every accepted step (this process's and, re-read, other instances'); returns the unsubscribe. */
  subscribe(listener: AgentListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Subscribe to one operator's steps (their sockets): indexed by user, so a change is not
   * offered to every connected operator's listener (2,000 sockets: 2,000 calls per change).
   */
  subscribeUser(userId: string, listener: AgentListener): () => void {
    let set = this.userListeners.get(userId);
    if (!set) this.userListeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.userListeners.get(userId) === set) this.userListeners.delete(userId);
    };
  }

  private emit(change: AgentChange): void {
    for (const l of [...this.listeners, ...(this.userListeners.get(change.userId) ?? [])]) {
      try {
        l(change);
      } catch (err) {
        // a listener's failure is its own: the change stands and the other listeners still hear it
        reportBackgroundFailure('agents: state listener', err);
      }
    }
  }

  /** Another instance stepped this operator: re-read the stored state (the authority) and tell the listeners. */
  private heardRemote(m: { userId: string; orgId: string; username: string; version: number; effects: Effect[] }): void {
    const prev = this.remoteReads.get(m.userId) ?? Promise.resolve();
    const run = prev.then(async () => {
      const a = await this.get(m.userId);
      if (!a) return;
      this.emit({ userId: m.userId, orgId: m.orgId, username: m.username, state: a.model, previous: a.model, transitions: [], effects: m.effects, by: 'gateway', origin: undefined, remote: true });
    }).catch((err: unknown) => reportBackgroundFailure('agents: re-reading a change made on another instance', err));
    this.remoteReads.set(m.userId, run);
    void run.then(() => {
      if (this.remoteReads.get(m.userId) === run) this.remoteReads.delete(m.userId);
    });
  }

  // ------------------------------------------------------------------ reads
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
    for (const r of rows) {
      const s = parseState(r.state);
      out.set(r.user_id, { userId: r.user_id, orgId: r.org_id, username: r.username, ...legacyOf(s), model: s });
    }
    return out;
  }

  // ------------------------------------------------------------------ the one writer
  /** Feeds one event to one operator's model (queued per operator). Throws only on a storage failure. */
  apply(who: Who, ev: EventInput, opts: ApplyOptions = {}): Promise<ApplyOutcome> {
    return this.queued(who, () =>
      (this.applyNow({ kind: 'user', who }, ev, opts) as Promise<ApplyOutcome>).catch((err: unknown) => {
        if (err instanceof NotOwned) return { kind: 'ignored' as const, state: err.state };
        throw err;
      }),
    );
  }

  /** The sweeper's `tick`: stepped only if this process claims the row while its deadline is due. */
  tickIfDue(who: Who): Promise<ApplyOutcome | 'not_due'> {
    return this.queued(who, () => this.applyNow({ kind: 'due', who, now: () => this.clock.now() }, { type: 'tick' }, {}).then((r) => r ?? 'not_due'));
  }

  /** The org's operator-model policy (cached per org, dropped when the org's policy changes). */
  modelPolicy(orgId: string): Promise<ModelPolicy> {
    return this.policies.get(orgId);
  }

  /** The org's agent policy section (cached like the model policy): what the intent path checks before the model. */
  agentPolicy(orgId: string): Promise<OrgPolicy['agents']> {
    return this.policies.agents(orgId);
  }

  /**
   * Routing's claim (server/sip/agent-rows.ts): offers `callId` to the longest-offerable
   * operator assigned to `campaignId`, chosen and locked in SQL (SKIP LOCKED: concurrent
   * lookups claim different operators). Not queued per operator in this process: the row
   * lock serialises it with every other step of that operator, here or on another instance.
   * Null: no operator could be claimed. A claimed operator whose offer is not accepted
   * (refused: their state changed under the column; ignored: an ended call of theirs had this
   * Call-ID) is left out and the next one is claimed.
   */
  async offerNext(o: OfferRequest, opts: ApplyOptions = {}): Promise<{ who: Who; outcome: ApplyOutcome & { kind: 'accepted' } } | null> {
    const exclude: string[] = [...(o.exclude ?? [])];
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS * 4; attempt++) {
      const pick = { kind: 'offer' as const, orgId: o.orgId, campaignId: o.campaignId, exclude };
      if (attempt === 0 && !(o.anyOfferable ?? (await anyOfferable(this.db, pick)))) return null;
      const picked: { who?: Who } = {};
      const ev = { type: 'offer' as const, callId: o.callId, ...(o.ringSeconds !== undefined ? { ringSeconds: o.ringSeconds } : {}) };
      const outcome = await this.applyNow(pick, ev, opts, picked);
      if (!outcome || !picked.who) return null;
      if (outcome.kind === 'accepted') return { who: picked.who, outcome };
      exclude.push(picked.who.userId);
    }
    return null;
  }

  private queued<T>(who: Who, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(who.userId) ?? Promise.resolve();
    const run = prev.then(fn);
    // the caller gets run's failure; the queue only waits for it to settle before the next step
    const tail = Promise.allSettled([run]).then(() => undefined);
    this.queues.set(who.userId, tail);
    void tail.then(() => {
      if (this.queues.get(who.userId) === tail) this.queues.delete(who.userId);
    });
    return run;
  }

  /** One step of the row `pick` finds (null: nothing to step); `picked.who` tells the caller whose row it was. */
  private async applyNow(pick: RowPick, ev: EventInput, opts: ApplyOptions, picked: { who?: Who } = {}): Promise<ApplyOutcome | null> {
    const policy = await this.policies.get(pick.kind === 'offer' ? pick.orgId : pick.who.orgId);
    for (let attempt = 1; ; attempt++) {
      // One transaction: the row is read FOR UPDATE (another process stepping this operator waits
      // here), stepped, and written back only if its version is still the one read. The
      // sweeper's tick does not wait: a row another instance holds is skipped (that instance
      // is stepping it), and a row whose deadline is no longer due (fired elsewhere) is left.
      // Routing's offer skips rows other lookups hold and claims the next operator.
      const result = await this.db.transaction().execute(async (tx): Promise<(ApplyOutcome & { who: Who }) | 'raced' | null> => {
        const found = await pickRow(tx, pick);
        if (!found) return null;
        const { who, row } = found;
        const at = this.clock.now().getTime();
        const current = row ? parseState(row.state) : initialOperatorState(at);
        const r = step(current, { ...ev, at } as OperatorEvent, policy);
        if (!r.ok) {
          this.refusals.set(r.refusal, (this.refusals.get(r.refusal) ?? 0) + 1);
          return { kind: 'refused', refusal: r.refusal, state: current, who };
        }
        if ('ignored' in r) return { kind: 'ignored', state: current, who };
        const problems = invariantProblems(r.state);
        if (problems.length) {
          reportBackgroundFailure(`operator model: ${ev.type} for user ${who.userId}`, new Error(`the step would break invariants: ${problems.join('; ')}`));
          return { kind: 'invalid', problems, state: current, who };
        }
        const next = r.state;
        if (!(await storeStep(tx, this.clock, who, row?.version ?? null, next, r.transitions))) return 'raced';
        if (ev.type === 'connected' || ev.type === 'disconnected') {
          // not held by that instance (another released it first): nothing of this step is stored
          if (!(await holdConnection(tx, this.bus.origin, who.userId, ev.type, opts.connectionOf, current.connections))) throw new NotOwned(current);
        }
        await opts.within?.(tx, next, who);
        await followCalls(tx, this.clock, who, r.transitions, next);
        await this.bus.publishIn(tx, 'agent', { userId: who.userId, orgId: who.orgId, username: who.username, version: next.version, effects: r.effects });
        // the step's audit entries: written to audit_pending without a lock and chained at COMMIT by
        // the deferred trigger (migration 0016), so the chain's head is held only for the commit
        await auditStep(tx, this.clock, who, r.transitions, r.effects, opts);
        return { kind: 'accepted', state: next, previous: current, transitions: r.transitions, effects: r.effects, who };
      });
      if (result === 'raced') {
        if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error(`operator state of ${pick.kind === 'offer' ? 'a claimed operator' : pick.who.userId}: lost the version race ${attempt} times`);
        continue;
      }
      if (result === null) return null;
      const { who, ...outcome } = result;
      picked.who = who;
      if (outcome.kind === 'accepted') {
        this.emit({ ...who, state: outcome.state, previous: outcome.previous, transitions: outcome.transitions, effects: outcome.effects, by: opts.by ?? 'gateway', origin: opts.origin });
      }
      return outcome as ApplyOutcome;
    }
  }

  // ------------------------------------------------------------------ the engines and the clock
  /** Feeds `tick` to every operator whose next deadline has passed; returns how many were due. */
  sweep(): Promise<number> {
    // one sweep at a time (a slow database must not stack sweeps up)
    this.sweeping ??= loops.sweepDue(this).finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** The watchdog (server/sip/agent-loops.ts); 0 without an engine. */
  async watchdog(): Promise<number> {
    return this.engineCalls ? loops.watchdog(this, this.engineCalls) : 0;
  }

  /** Kamailio saw the call end (BYE: `answered`, CANCEL...): `ended` for every operator the call involved. */
  callEnded(callId: string, cause: EndCause = 'completed', opts: { answered?: boolean } = {}): Promise<number> {
    return loops.callEnded(this, callId, cause, opts.answered === true);
  }

  /** Joins the instances (heartbeat every 5 s) and releases what gone instances held (server/sip/connections.ts). */
  recoverConnections(opts: { staleSeconds?: number } = {}): Promise<number> {
    const pass = () => heartbeat(this.db, this.bus.origin).then(() => recoverGone(this, opts.staleSeconds));
    this.heartbeatTimer ??= setInterval(() => void pass().catch((err: unknown) => reportBackgroundFailure('agents: heartbeat, gone instances', err)), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
    const run = pass().then(async (n) => n + (await recoverOrphans(this)));
    this.recovering = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Leaves the instances (shutdown, after the sockets' last steps): what is still held is recovered by the others. */
  async retire(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.unsubscribeBus();
    this.policies.close();
    await this.db.deleteFrom('gateway_instances').where('id', '=', this.bus.origin).execute();
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
    while (this.queues.size || this.remoteReads.size) await Promise.all([...this.queues.values(), ...this.remoteReads.values()]);
    await this.sweeping;
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.sweeper = null;
    this.watchdogTimer = null;
  }
}
