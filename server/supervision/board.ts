// The team lead's live board: every visible operator's state, call and registration. One set of
// queries per board, whatever the team's size (no query per operator): the operators, their
// states, their teams, their registrations, their live calls, the customer names in scope.
// Updates: an operator's change (AgentRegistry, from any instance), a call row that changed
// (`touch`) or a registration (server/supervision/sockets.ts) re-reads that operator's row
// on every instance (the `board` bus topic).
// Fan-out (issue 14, 2,000 operators / 200 leads): ONE read per change per instance, shared by
// every board socket on it. Changes are collected for COALESCE_MS (a burst of one operator's
// changes is one read; several operators' changes are one batched read), one read runs at a
// time (a change during it is read again after it), and the rows read are sent to each socket
// whose principal may see them. Who may see a row is decided per socket, on the row as read
// from the database at push time (the operator's org, enabled, calls:handle, and the LEADS of
// the operator's teams: the same rule as visibleOperators' SQL), so a lead moved off a team or
// a socket whose principal ended (current() null) gets nothing, exactly as when each socket
// read its own row. The customer name stays in SQL under the principal's campaign scope: one
// query per distinct scope per batch, and only for rows with a named live call.
import { reportBackgroundFailure } from '../background';
import type { EventBus } from '../bus/event-bus';
import type { Clock } from '../clock';
import { inScope, campaignScope } from '../crm/scope';
import type { Db } from '../db/schema';
import { parsePermissions, type Principal } from '../auth/principal-type';
import type { AgentRegistry } from '../sip/agents';
import type { BoardOperator } from '../../shared/gateway/supervision';
import { readShared, visibleTo, type SharedRow } from './board-rows';
import { once } from '../ws/wire';

/** What decides a principal's board rows: its permissions and teams. */
const scopeKey = (p: Principal) => `${[...p.permissions].sort().join(',')}|${[...p.teamIds].sort().join(',')}`;
/** The campaign scope a customer name depends on (server/crm/scope.ts): principals with the same key see the same names. */
const nameScopeKey = (p: Principal) => {
  const s = campaignScope(p);
  return s.kind === 'org' ? `org ${s.orgId}` : `assigned ${s.orgId} ${s.userId} ${s.viaTeams}`;
};
type OperatorRow = { id: string; username: string; display_name: string };
/** Changes of the next few ms are read together (a burst of one operator's changes: one read). */
const COALESCE_MS = 5;

interface Subscriber {
  current: () => Principal | null;
  send: (m: Record<string, unknown>) => void;
  active: boolean;
  /** The operators visibleOperators gave for `scopeOf` (a change of anyone else is not read for this socket). */
  visible: Set<string>;
  scopeOf: Principal | null;
}

export class Board {
  private readonly subscribers = new Set<Subscriber>();
  private readonly unsubscribes: (() => void)[];
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;
  /** Shared reads done (the bench and tests: one per batch, not one per socket). */
  readonly stats = { reads: 0, changes: 0 };

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly agents: AgentRegistry,
    private readonly bus: EventBus,
  ) {
    this.unsubscribes = [agents.subscribe((c) => this.changed(c.userId)), bus.subscribe('board', (m) => this.changed(m.userId))];
  }

  /** Something about this operator's call changed (routed, answered, ended): their row, on every instance. */
  touch(userId: string): void {
    this.bus.publish('board', { userId });
  }

  private changed(userId: string): void {
    // read only if some socket here may watch this operator (or its principal changed: asked again in flush)
    let watched = false;
    for (const s of this.subscribers) {
      const p = s.active ? s.current() : null;
      if (p && (s.scopeOf !== p || s.visible.has(userId))) {
        watched = true;
        break;
      }
    }
    if (!watched) return;
    this.stats.changes++;
    this.pending.add(userId);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = true;
      this.flush()
        .catch((err: unknown) => reportBackgroundFailure('supervision: board update', err))
        .finally(() => {
          this.flushing = false;
          this.schedule(); // what changed during the read is read again now
        });
    }, COALESCE_MS);
  }

  /** One read of every pending operator's row, sent to each socket that may see it. */
  private async flush(): Promise<void> {
    const ids = [...this.pending];
    this.pending.clear();
    const subs = [...this.subscribers].filter((s) => s.active && s.current());
    if (subs.length === 0) return;
    this.stats.reads++;
    const [shared] = await Promise.all([
      readShared(this.db, this.clock, this.agents, ids),
      // a new principal (re-validated, new teams): which operators it sees, read again (as the snapshot did)
      ...subs.map(async (sub) => {
        const p = sub.current();
        if (!p || sub.scopeOf === p) return;
        try {
          const visible = new Set((await this.visibleOperators(p)).map((r) => r.id));
          if (sub.current() !== p) return; // changed again meanwhile: not pushed to now (below), read at its next change
          sub.visible = visible;
          sub.scopeOf = p;
        } catch (err) {
          reportBackgroundFailure('supervision: a board socket\'s operators', err); // that socket gets nothing this time
        }
      }),
    ]);
    // customer names per campaign scope, for every named call of the batch (the SQL scopes them)
    const named = shared.flatMap((s) => (s.named ? [{ operatorId: s.row.userId, callId: s.named.callId }] : []));
    const names = new Map<string, Promise<Map<string, string>>>();
    // one message per row (and customer name) for every socket of the batch, serialised once (server/ws/wire.ts)
    const messages = new Map<string, Record<string, unknown>>();
    const messageOf = (s: SharedRow, nameOf: Map<string, string>): Record<string, unknown> => {
      const operator = withCustomer(s, nameOf);
      const key = `${s.row.userId}\n${String(JSON.stringify(operator.call?.customerName))}`; // no call, no name, a name
      let m = messages.get(key);
      if (!m) messages.set(key, (m = once({ type: 'boardUpdate', operator })));
      return m;
    };
    for (const sub of subs) {
      try {
        const p = sub.current();
        if (!sub.active || !p || sub.scopeOf !== p) continue;
        // both: in the socket's scope (as subscribed) and allowed by the row as read now
        const mine = shared.filter((s) => sub.visible.has(s.row.userId) && visibleTo(p, s));
        if (mine.length === 0) continue;
        let nameOf = new Map<string, string>();
        if (mine.some((s) => s.named)) {
          const key = nameScopeKey(p);
          if (!names.has(key)) names.set(key, this.names(p, named));
          nameOf = await names.get(key)!;
        }
        const now = sub.current();
        if (!sub.active || !now || scopeKey(now) !== scopeKey(p)) continue;
        for (const s of mine) sub.send(messageOf(s, nameOf));
      } catch (err) {
        reportBackgroundFailure('supervision: board update of one socket', err);
      }
    }
  }

  /** The operators a principal may see and supervise: their led teams' operators (users:read: the org). */
  async visibleOperators(p: Principal, only?: string): Promise<OperatorRow[]> {
    let q = this.db
      .selectFrom('users')
      .innerJoin('roles', 'roles.id', 'users.role_id')
      .select(['users.id', 'users.username', 'users.display_name', 'roles.permissions'])
      .where('users.org_id', '=', p.orgId)
      .where('users.disabled', '=', false)
      .where('users.id', '<>', p.userId);
    if (only) q = q.where('users.id', '=', only);
    if (!p.permissions.has('users:read')) {
      const led = this.db.selectFrom('team_members').select('team_id').where('user_id', '=', p.userId).where('member_role', '=', 'lead');
      q = q.where('users.id', 'in', this.db.selectFrom('team_members').select('user_id').where('team_id', 'in', led).where('member_role', '=', 'operator'));
    }
    const rows = await q.orderBy('users.username').execute();
    return rows.filter((r) => parsePermissions(r.permissions).includes('calls:handle'));
  }

  /** The customer names of these live calls that the principal's campaign scope allows (SQL, as everywhere). */
  private async names(p: Principal, calls: { operatorId: string; callId: string }[]): Promise<Map<string, string>> {
    if (calls.length === 0) return new Map();
    const names = await this.db
      .selectFrom('calls as t')
      .innerJoin('customers as k', 'k.id', 't.customer_id')
      .select(['t.operator_id', 't.sip_call_id', 'k.name_kanji'])
      .where('t.sip_call_id', 'in', calls.map((c) => c.callId))
      .where('t.operator_id', 'in', calls.map((c) => c.operatorId))
      .where(inScope(campaignScope(p), 't'))
      .execute();
    return new Map(names.map((n) => [`${n.operator_id} ${n.sip_call_id}`, n.name_kanji]));
  }

  /** The board rows of these operators (already the principal's visible ones): the shared read, and names in the principal's scope. */
  async rows(p: Principal, ops: OperatorRow[]): Promise<BoardOperator[]> {
    if (ops.length === 0) return [];
    const shared = new Map((await readShared(this.db, this.clock, this.agents, ops.map((r) => r.id))).map((s) => [s.row.userId, s]));
    const named = [...shared.values()].filter((s) => s.named);
    const nameOf = await this.names(p, named.map((s) => ({ operatorId: s.row.userId, callId: s.named!.callId })));
    return ops.flatMap((r) => {
      const s = shared.get(r.id);
      return s ? [withCustomer(s, nameOf)] : [];
    });
  }

  async board(p: Principal): Promise<BoardOperator[]> {
    return this.rows(p, await this.visibleOperators(p));
  }

  /**
   * Pushes a snapshot now and an update for every change of a visible operator; returns the
   * unsubscribe. `current` is the subscriber's principal as of the moment (the /ws keeps it
   * current from session events and re-validation, and answers null once the socket may no
   * longer be served or lost team:supervise): it is asked before every push and after every
   * await, so nothing is sent for a principal that ended. Each update's row, and who may see
   * it (the operator's teams' leads), is read from the database at push time, once for every
   * socket on this instance (flush), so a lead moved off a team stops getting its rows.
   */
  async subscribe(current: () => Principal | null, send: (m: Record<string, unknown>) => void): Promise<() => void> {
    const sub: Subscriber = { current, send, active: true, visible: new Set(), scopeOf: null };
    this.subscribers.add(sub);
    const p = current();
    if (p) {
      const ops = await this.visibleOperators(p);
      if (sub.scopeOf === null) {
        sub.visible = new Set(ops.map((r) => r.id));
        sub.scopeOf = p;
      }
      const operators = await this.rows(p, ops);
      const now = current();
      if (sub.active && now && scopeKey(now) === scopeKey(p)) send({ type: 'board', operators });
    }
    return () => {
      sub.active = false;
      this.subscribers.delete(sub);
    };
  }

  close(): void {
    for (const u of this.unsubscribes) u();
    this.subscribers.clear();
    this.pending.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The row with the customer's name where the principal's scope allowed it (nameOf: names()). */
function withCustomer(s: SharedRow, nameOf: Map<string, string>): BoardOperator {
  if (!s.row.call || !s.named) return s.row;
  return { ...s.row, call: { ...s.row.call, customerName: nameOf.get(`${s.row.userId} ${s.named.callId}`) ?? null } };
}
