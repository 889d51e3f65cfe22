// Supervision routes (team leads; docs/telephony.md "Supervision"): the board snapshot, start,
// the listening connection's answer, mode switches, stop; and Kamailio's call-ended
// notification (shared secret, like /sip/route).
import type { FastifyInstance } from 'fastify';
import { endCauseOfSipStatus } from '../../shared/rules/operator-model';
import type { GatewayContext } from '../context';
import { route } from '../http';
import { orgPolicy } from '../policy';
import { leadHand, leadSetNotReady } from './lead-actions';

export function registerSupervisionRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const sup = ctx.supervision;
  route(app, ctx, 'board', async ({ principal }) => ({ operators: await sup.board(principal) }));
  // the thresholds the lead's board highlights rows by (the org's, as the admin set them)
  route(app, ctx, 'boardPolicy', async ({ principal }) => (await orgPolicy(ctx.db, principal.orgId)).board);
  route(app, ctx, 'leadSetNotReady', async ({ principal, params, body }) => leadSetNotReady(ctx, principal, params.id, body.reason));
  route(app, ctx, 'leadHand', async ({ principal, params, body }) => leadHand(ctx, principal, params.id, body.action));
  route(app, ctx, 'startSupervision', async ({ principal, body }) => sup.start(principal, body.callId));
  route(app, ctx, 'supervisionListenAnswer', async ({ principal, params, body }) => sup.listenAnswer(principal, params.id, body.sdp));
  route(app, ctx, 'supervisionMode', async ({ principal, params, body }) => sup.switchMode(principal, params.id, body.mode, body.publishOffer));
  route(app, ctx, 'stopSupervision', async ({ principal, params }) => ({ supervisionId: params.id, ended: await sup.stop(principal, params.id) }));
  route(app, ctx, 'sipCallEnded', async ({ query }) => {
    // the operators of that call: `ended` (completed) through their model, like every change
    // a BYE ("200") proves the call was answered, even when the phone's own "answered" has not
    // reached the gateway yet (a caller who hangs up at once): the operator goes to wrap-up
    const byeAfterAnswer = query.status === '200';
    await ctx.agents.callEnded(query.callId, byeAfterAnswer ? 'completed' : endCauseOfSipStatus(!query.status || query.status === '000' ? null : Number(query.status)), { answered: byeAfterAnswer });
    // a caller who hung up while queued: abandoned (server/sip/queue.ts)
    await ctx.queues.callEnded(query.callId);
    return { closed: await sup.callEnded(query.callId) };
  });
}
