// The team lead's live board: every visible operator's state, call and registration. One set of
// queries per board, whatever the team's size (no query per operator): the operators, their
// states, their teams, their registrations, their live calls, the customer names in scope.
// Updates: an operator's change (AgentRegistry, from any instance), a call row that changed
// (`touch`) or a registration (server/supervision/sockets.ts) re-reads that operator's row
// for every subscribed lead who may see them, on every instance (the `board` bus topic).
import { reportBackgroundFailure } from '../background';
import type { EventBus } from '../bus/event-bus';
import type { Clock } from '../clock';
import { inScope, campaignScope } from '../crm/scope';
import type { Db } from '../db/schema';
import { parsePermissions, type Principal } from '../auth/principal-type';
import type { AgentRegistry } from '../sip/agents';
import type { BoardOperator } from '../../shared/gateway/supervision';

/** What decides a principal's board rows: its permissions and teams. */
const scopeKey = (p: Principal) => `${[...p.permissions].sort().join(',')}|${[...p.teamIds].sort().join(',')}`;
type OperatorRow = { id: string; username: string; display_name: string };

export class Board {
  private readonly listeners = new Set<(userId: string) => void>();
  private readonly unsubscribes: (() => void)[];

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
    for (const l of this.listeners) {
      try {
        l(userId);
      } catch (err) {
        reportBackgroundFailure('supervision: board listener', err);
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

  /** The board rows of these operators: five queries, whatever their number. */
  async rows(p: Principal, ops: OperatorRow[]): Promise<BoardOperator[]> {
    if (ops.length === 0) return [];
    const ids = ops.map((r) => r.id);
    const [agents, teams, registrations] = await Promise.all([
      this.agents.getMany(ids),
      this.db.selectFrom('team_members').select(['user_id', 'team_id']).where('user_id', 'in', ids).where('member_role', '=', 'operator').execute(),
      this.db.selectFrom('sip_registrations').select(['user_id', 'state']).where('user_id', 'in', ids).execute(),
    ]);
    const withCall = ids.filter((id) => ['on_call', 'wrap_up'].includes(agents.get(id)?.state ?? ''));
    // each operator's newest live call (DISTINCT ON: one row per operator)
    const calls = withCall.length
      ? await this.db
          .selectFrom('calls as t')
          .leftJoin('campaigns as c', 'c.id', 't.campaign_id')
          .select(['t.operator_id', 't.sip_call_id', 't.campaign_id', 'c.name as campaign_name', 't.status', 't.ringing_at', 't.answered_at', 't.customer_id', 't.direction'])
          .distinctOn('t.operator_id')
          .where('t.operator_id', 'in', withCall)
          .where('t.org_id', '=', p.orgId)
          .where('t.ended_at', 'is', null)
          .where('t.status', '<>', 'ended')
          .where('t.ringing_at', '>', new Date(this.clock.now().getTime() - 12 * 3600_000))
          .orderBy('t.operator_id')
          .orderBy('t.ringing_at', 'desc')
          .execute()
      : [];
    // the customer's name only where the call's campaign is in the lead's campaign scope (SQL, as everywhere)
    const named = calls.filter((c) => c.customer_id && agents.get(c.operator_id)?.state === 'on_call');
    const names = named.length
      ? await this.db
          .selectFrom('calls as t')
          .innerJoin('customers as k', 'k.id', 't.customer_id')
          .select(['t.operator_id', 't.sip_call_id', 'k.name_kanji'])
          .where('t.sip_call_id', 'in', named.map((c) => c.sip_call_id))
          .where('t.operator_id', 'in', named.map((c) => c.operator_id))
          .where(inScope(campaignScope(p), 't'))
          .execute()
      : [];
    const nameOf = new Map(names.map((n) => [`${n.operator_id} ${n.sip_call_id}`, n.name_kanji]));
    const callOf = new Map(calls.map((c) => [c.operator_id, c]));
    const regOf = new Map(registrations.map((r) => [r.user_id, r.state]));
    const teamsOf = new Map<string, string[]>();
    for (const t of teams) teamsOf.set(t.user_id, [...(teamsOf.get(t.user_id) ?? []), t.team_id]);
    return ops.map((r) => {
      const a = agents.get(r.id);
      const row = a?.state === 'on_call' ? callOf.get(r.id) : undefined;
      return {
        userId: r.id,
        username: r.username,
        displayName: r.display_name,
        teamIds: (teamsOf.get(r.id) ?? []).sort(),
        state: a?.state ?? 'offline',
        reason: a?.reason ?? null,
        since: a ? a.since.toISOString() : null,
        // a report stands while the operator's client is connected somewhere (a crashed instance's are not)
        registration: a && a.model.connections > 0 ? (regOf.get(r.id) ?? null) : null,
        call: row
          ? {
              callId: row.sip_call_id,
              campaignId: row.campaign_id,
              campaignName: row.campaign_name ?? null,
              direction: row.direction,
              status: row.status === 'answered' || row.answered_at ? 'answered' : 'ringing',
              since: (row.answered_at ?? row.ringing_at).toISOString(),
              customerName: nameOf.get(`${r.id} ${row.sip_call_id}`) ?? null,
            }
          : null,
      };
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
   * await, so nothing is sent for a principal that ended. Which operators are visible is read
   * again whenever the principal changes (new teams, new permissions), and each update's row
   * is read from the database at push time, so a lead moved off a team stops getting its rows.
   */
  async subscribe(current: () => Principal | null, send: (m: Record<string, unknown>) => void): Promise<() => void> {
    let scopeOf: Principal | null = null;
    let visible = new Set<string>();
    const visibleFor = async (p: Principal) => {
      if (scopeOf !== p) {
        visible = new Set((await this.visibleOperators(p)).map((r) => r.id));
        scopeOf = p;
      }
      return visible;
    };
    let active = true;
    const listener = (userId: string) => {
      if (!active || !current()) return;
      void (async () => {
        const p = current();
        if (!p || !(await visibleFor(p)).has(userId)) return;
        const [row] = await this.rows(p, await this.visibleOperators(p, userId));
        const now = current();
        if (row && active && now && scopeKey(now) === scopeKey(p)) send({ type: 'boardUpdate', operator: row });
      })().catch((err: unknown) => reportBackgroundFailure('supervision: board update', err));
    };
    this.listeners.add(listener);
    const p = current();
    if (p) {
      await visibleFor(p);
      const operators = await this.board(p);
      const now = current();
      if (active && now && scopeKey(now) === scopeKey(p)) send({ type: 'board', operators });
    }
    return () => {
      active = false;
      this.listeners.delete(listener);
    };
  }

  close(): void {
    for (const u of this.unsubscribes) u();
    this.listeners.clear();
  }
}
