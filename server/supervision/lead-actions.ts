// What a lead does to an operator of their teams beside supervising a call (issue 18 item 9):
// set them not ready with one of the org's reasons, and answer their raised hand (acknowledge:
// "I'm coming", or lower it). Who may: the board's own rule (the lead sees the operator on their
// board: SupervisionService.mayLead). What happens: the operator model's setAvailability
// (refused on a call and in wrap-up, as for the operator; the lead asks again once the operator
// is free), or its acknowledgeHand / lowerHand (refused when no hand is up), which tell the
// operator. Every request is audited (an accepted hand change in the model's own transaction:
// agent.hand_*; a refusal here: supervision.hand_refused).
import { appendAudit } from '../audit/audit';
import { actorOf, type Principal } from '../auth/principal-type';
import { GatewayError } from '../errors';
import type { GatewayContext } from '../context';
import { legacyOf } from '../sip/agents';
import { boardHand } from './board-rows';

export async function leadSetNotReady(ctx: GatewayContext, p: Principal, operatorId: string, reason: string) {
  const audit = (action: 'supervision.set_not_ready' | 'supervision.set_not_ready_refused', detail: Record<string, unknown>) =>
    ctx.db.transaction().execute((tx) =>
      appendAudit(tx, ctx.clock, {
        action, orgId: p.orgId, actor: actorOf(p), target: { type: 'user', id: operatorId }, sourceIp: p.sourceIp, deviceId: p.deviceId,
        detail: { leadId: p.userId, lead: p.username, operatorId, reason, ...detail },
      }),
    );
  const refuse = async (why: string, error: GatewayError): Promise<never> => {
    await audit('supervision.set_not_ready_refused', { refusal: why });
    throw error;
  };
  // not on the lead's board: the same answer whether the user exists elsewhere or not
  if (!(await ctx.supervision.mayLead(p, operatorId))) return refuse('not_in_team', new GatewayError('not_found', 'no operator of your teams has this id'));
  const policy = await ctx.agents.agentPolicy(p.orgId);
  if (!policy.notReadyReasons.some((r) => r.code === reason)) return refuse('unknown_reason', new GatewayError('validation_failed', "this reason is not one of the org's not-ready reasons"));
  const current = await ctx.agents.get(operatorId);
  if (!current) return refuse('offline', new GatewayError('conflict', 'the operator is offline'));
  const who = { userId: operatorId, orgId: p.orgId, username: current.username };
  const outcome = await ctx.agents.apply(who, { type: 'setAvailability', state: 'not_ready', reason, byLead: true }, { detail: { setBy: p.username } });
  if (outcome.kind === 'refused') return refuse(outcome.refusal, new GatewayError('conflict', `the operator cannot be set not ready now (${outcome.refusal})`));
  if (outcome.kind === 'invalid') throw new GatewayError('internal_error', 'the operator state could not be changed');
  if (outcome.kind === 'accepted') await audit('supervision.set_not_ready', {});
  const legacy = legacyOf(outcome.state);
  return { userId: operatorId, state: legacy.state, reason: legacy.reason };
}

/** A lead acknowledges ("I'm coming") or lowers an operator's raised hand. */
export async function leadHand(ctx: GatewayContext, p: Principal, operatorId: string, action: 'acknowledge' | 'lower') {
  const refuse = async (why: string, error: GatewayError): Promise<never> => {
    await ctx.db.transaction().execute((tx) =>
      appendAudit(tx, ctx.clock, {
        action: 'supervision.hand_refused', orgId: p.orgId, actor: actorOf(p), target: { type: 'user', id: operatorId }, sourceIp: p.sourceIp, deviceId: p.deviceId,
        detail: { leadId: p.userId, lead: p.username, operatorId, action, refusal: why },
      }),
    );
    throw error;
  };
  // not on the lead's board: the same answer whether the user exists elsewhere or not (as setting not ready)
  if (!(await ctx.supervision.mayLead(p, operatorId))) return refuse('not_in_team', new GatewayError('not_found', 'no operator of your teams has this id'));
  const current = await ctx.agents.get(operatorId);
  if (!current || current.model.agent === 'offline') return refuse('offline', new GatewayError('conflict', 'the operator is offline'));
  const who = { userId: operatorId, orgId: p.orgId, username: current.username };
  const byLead = { userId: p.userId, username: p.username, displayName: p.displayName };
  const source = { sourceIp: p.sourceIp, deviceId: p.deviceId };
  const outcome = await ctx.agents.apply(who, action === 'acknowledge' ? { type: 'acknowledgeHand', byLead } : { type: 'lowerHand', byLead }, { source });
  if (outcome.kind === 'refused') return refuse(outcome.refusal, new GatewayError('conflict', `the operator's hand is not raised (${outcome.refusal})`));
  if (outcome.kind === 'invalid') throw new GatewayError('internal_error', "the operator's hand could not be changed");
  // accepted (audited in the step), or ignored: already acknowledged by a lead (the first stands; the answer says whose)
  return { userId: operatorId, hand: boardHand(outcome.state.hand) };
}
