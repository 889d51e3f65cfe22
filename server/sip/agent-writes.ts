// What one accepted step of the operator model writes besides the state row, inside the same
// transaction (server/sip/agents.ts AgentRegistry.apply is the only caller): the calls rows
// (CRM) that follow the model, and the audit of agent transitions and repairs.
import type { Transaction } from 'kysely';
import { sql } from 'kysely';
import { appendAudit } from '../audit/audit';
import type { Clock } from '../clock';
import type { Database } from '../db/schema';
import type { CallState, Effect, OperatorState, Transition } from '../../shared/rules/operator-model';

export interface StepWho {
  userId: string;
  orgId: string;
  username: string;
}

/** calls.status for a model call state. */
function callStatus(state: CallState['state']): 'ringing' | 'answered' | 'ended' | 'wrapped_up' {
  if (state === 'offered' || state === 'ringing') return 'ringing';
  if (state === 'ended' || state === 'wrapped_up') return state;
  return 'answered';
}

/** The calls rows (CRM) follow the model: status, answered_at, ended_at, end cause. */
export async function followCalls(tx: Transaction<Database>, clock: Clock, who: StepWho, transitions: Transition[], next: OperatorState): Promise<void> {
  const touched = new Set(transitions.filter((t) => t.subject === 'call' && t.callId).map((t) => t.callId!));
  for (const callId of touched) {
    const c = next.calls.find((x) => x.callId === callId);
    if (!c) continue;
    const wrapSeconds = c.state === 'wrapped_up' && c.endedAt !== null ? Math.max(0, Math.round((clock.now().getTime() - c.endedAt) / 1000)) : null;
    await tx
      .updateTable('calls')
      .set({
        status: callStatus(c.state),
        ...(c.answeredAt !== null ? { answered_at: new Date(c.answeredAt) } : {}),
        ...(c.endedAt !== null ? { ended_at: new Date(c.endedAt) } : {}),
        ...(c.cause ? { end_cause: c.cause } : {}),
        ...(wrapSeconds !== null ? { wrap_up_seconds: sql<number>`coalesce(wrap_up_seconds, ${wrapSeconds})` } : {}),
        updated_at: clock.now(),
      })
      .where('org_id', '=', who.orgId)
      .where('sip_call_id', '=', callId)
      .where('operator_id', '=', who.userId)
      .execute();
  }
}

export async function auditStep(
  tx: Transaction<Database>,
  clock: Clock,
  who: StepWho,
  transitions: Transition[],
  effects: Effect[],
  opts: { by?: 'client' | 'gateway'; detail?: Record<string, unknown>; source?: { sourceIp: string | null; deviceId: string | null } },
): Promise<void> {
  const by = opts.by ?? 'gateway';
  for (const t of transitions) {
    if (t.subject !== 'agent') continue;
    await appendAudit(tx, clock, {
      action: 'agent.state',
      orgId: who.orgId,
      actor: by === 'client' ? { userId: who.userId, username: who.username } : null,
      target: { type: 'user', id: who.userId },
      detail: { state: t.to, previous: t.from, by, event: t.event, ...(t.cause ? { cause: t.cause } : {}), ...opts.detail },
    });
  }
  for (const e of effects) {
    if (e.type === 'hand') {
      // the raised hand (issue 18 item 9): who raised, acknowledged or lowered it, and when it was raised
      await appendAudit(tx, clock, {
        action: `agent.hand_${e.change}`,
        orgId: who.orgId,
        actor: e.by === 'operator' ? { userId: who.userId, username: who.username } : e.lead ? { userId: e.lead.userId, username: e.lead.username } : null,
        target: { type: 'user', id: who.userId },
        sourceIp: e.by === 'gateway' ? null : (opts.source?.sourceIp ?? null),
        deviceId: e.by === 'gateway' ? null : (opts.source?.deviceId ?? null),
        detail: {
          operatorId: who.userId, operator: who.username, by: e.by, raisedAt: new Date(e.raisedAt).toISOString(),
          ...(e.lead ? { leadId: e.lead.userId, lead: e.lead.username } : {}), ...(e.cause ? { cause: e.cause } : {}),
        },
      });
      continue;
    }
    if (e.type !== 'repaired') continue;
    await appendAudit(tx, clock, {
      action: 'agent.repair',
      orgId: who.orgId,
      actor: null,
      target: { type: 'user', id: who.userId },
      detail: { callId: e.callId, was: e.was, cause: 'repair' },
    });
  }
}
