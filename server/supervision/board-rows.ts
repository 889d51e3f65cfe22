// The board's shared read (server/supervision/board.ts): an operator's row, and what decides who
// may see it, read once per change per instance for every socket there. Six queries whatever the
// number of operators (the users, their states, their teams and those teams' leads, their
// registrations, their live calls); the customer name is not in it (read per campaign scope).
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { parsePermissions, type Principal } from '../auth/principal-type';
import type { AgentRegistry } from '../sip/agents';
import type { BoardHand, BoardOperator } from '../../shared/gateway/supervision';
import { handView, type HandState } from '../../shared/rules/operator-model';

/** The hand as the board shows it (ISO times; the acknowledging lead by display name). */
export function boardHand(h: HandState | null | undefined): BoardHand | null {
  const v = handView(h);
  return v ? { raisedAt: new Date(v.raisedAt).toISOString(), acknowledgedAt: v.acknowledgedAt === null ? null : new Date(v.acknowledgedAt).toISOString(), acknowledgedBy: v.acknowledgedBy } : null;
}

/** An operator's board row as read once for every socket, with what decides who may see it. */
export interface SharedRow {
  row: BoardOperator;
  orgId: string;
  disabled: boolean;
  handlesCalls: boolean;
  /** The leads of the teams the operator is an operator of (who, besides users:read, may see the row). */
  leadIds: Set<string>;
  /** The live call's customer (the name is read under each principal's campaign scope). */
  named: { callId: string } | null;
}

/** May this principal see this operator's row? The rule of visibleOperators, on the row read. */
export function visibleTo(p: Principal, s: SharedRow): boolean {
  return (
    s.orgId === p.orgId && !s.disabled && s.handlesCalls && s.row.userId !== p.userId && (p.permissions.has('users:read') || s.leadIds.has(p.userId))
  );
}

/**
 * These operators' rows and what decides who may see them, for any principal: six queries,
 * whatever their number (the users, their states, their teams and those teams' leads, their
 * registrations, their live calls). The customer name is not in it (names(), per scope).
 */
export async function readShared(db: Db, clock: Clock, agents: AgentRegistry, ids: string[]): Promise<SharedRow[]> {
  if (ids.length === 0) return [];
  const [users, states, teams, registrations] = await Promise.all([
    db
      .selectFrom('users')
      .innerJoin('roles', 'roles.id', 'users.role_id')
      .select(['users.id', 'users.org_id', 'users.username', 'users.display_name', 'users.disabled', 'roles.permissions'])
      .where('users.id', 'in', ids)
      .execute(),
    agents.getMany(ids),
    db
      .selectFrom('team_members as op')
      .leftJoin('team_members as ld', (j) => j.onRef('ld.team_id', '=', 'op.team_id').on('ld.member_role', '=', 'lead'))
      .select(['op.user_id', 'op.team_id', 'ld.user_id as lead_id'])
      .where('op.user_id', 'in', ids)
      .where('op.member_role', '=', 'operator')
      .execute(),
    db.selectFrom('sip_registrations').select(['user_id', 'state']).where('user_id', 'in', ids).execute(),
  ]);
  const withCall = users.filter((u) => states.get(u.id)?.state === 'on_call');
  // each operator's newest live call in the operator's org (DISTINCT ON: one row per operator)
  const calls = withCall.length
    ? await db
        .selectFrom('calls as t')
        .innerJoin('users as u', (j) => j.onRef('u.id', '=', 't.operator_id').onRef('u.org_id', '=', 't.org_id'))
        .leftJoin('campaigns as c', 'c.id', 't.campaign_id')
        .select(['t.operator_id', 't.sip_call_id', 't.campaign_id', 'c.name as campaign_name', 't.status', 't.ringing_at', 't.answered_at', 't.customer_id', 't.direction', 't.quality_mos', 't.quality_jitter_ms', 't.quality_loss_pct', 't.quality_rtt_ms', 't.quality_at'])
        .distinctOn('t.operator_id')
        .where('t.operator_id', 'in', withCall.map((u) => u.id))
        .where('t.ended_at', 'is', null)
        .where('t.status', '<>', 'ended')
        .where('t.ringing_at', '>', new Date(clock.now().getTime() - 12 * 3600_000))
        .orderBy('t.operator_id')
        .orderBy('t.ringing_at', 'desc')
        .execute()
    : [];
  const callOf = new Map(calls.map((c) => [c.operator_id, c]));
  const regOf = new Map(registrations.map((r) => [r.user_id, r.state]));
  const teamsOf = new Map<string, Set<string>>();
  const leadsOf = new Map<string, Set<string>>();
  for (const t of teams) {
    teamsOf.set(t.user_id, (teamsOf.get(t.user_id) ?? new Set()).add(t.team_id));
    if (t.lead_id) leadsOf.set(t.user_id, (leadsOf.get(t.user_id) ?? new Set()).add(t.lead_id));
  }
  return users.map((u) => {
    const a = states.get(u.id);
    const call = a?.state === 'on_call' ? callOf.get(u.id) : undefined;
    return {
      orgId: u.org_id,
      disabled: Boolean(u.disabled),
      handlesCalls: parsePermissions(u.permissions).includes('calls:handle'),
      leadIds: leadsOf.get(u.id) ?? new Set(),
      named: call?.customer_id ? { callId: call.sip_call_id } : null,
      row: {
        userId: u.id,
        username: u.username,
        displayName: u.display_name,
        teamIds: [...(teamsOf.get(u.id) ?? [])].sort(),
        state: a?.state ?? 'offline',
        reason: a?.reason ?? null,
        since: a ? a.since.toISOString() : null,
        // a report stands while the operator's client is connected somewhere (a crashed instance's are not)
        registration: a && a.model.connections > 0 ? (regOf.get(u.id) ?? null) : null,
        hand: boardHand(a?.model.hand),
        call: call
          ? {
              callId: call.sip_call_id,
              campaignId: call.campaign_id,
              campaignName: call.campaign_name ?? null,
              direction: call.direction,
              status: call.status === 'answered' || call.answered_at ? 'answered' : 'ringing',
              since: (call.answered_at ?? call.ringing_at).toISOString(),
              customerName: null,
              quality:
                call.quality_mos !== null && call.quality_at
                  ? { mos: call.quality_mos, jitterMs: call.quality_jitter_ms ?? 0, lossPct: call.quality_loss_pct ?? 0, rttMs: call.quality_rtt_ms, at: call.quality_at.toISOString() }
                  : null,
            }
          : null,
      },
    };
  });
}
