// What a lead does to an operator of their teams beside supervising a call (issue 18 item 9):
// set them not ready with one of the org's reasons. Who may: the board's own rule (the lead
// sees the operator on their board: SupervisionService.mayLead). What happens: the operator
// model's setAvailability (refused on a call and in wrap-up, as for the operator; the lead
// asks again once the operator is free), which tells the operator. Every request is audited.
import { appendAudit } from '../audit/audit';
import { actorOf, type Principal } from '../auth/principal-type';
import { GatewayError } from '../errors';
import type { GatewayContext } from '../context';
import { legacyOf } from '../sip/agents';

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
