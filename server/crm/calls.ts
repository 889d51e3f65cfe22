// Calls: the operator's own call record after the pop (disposition, customer, times, wrap-up).
import type { FastifyInstance } from 'fastify';
import { appendAudit, eventBy } from '../audit/audit';
import type { GatewayContext } from '../context';
import { jsonColumn } from '../db/json-column';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route, type HandlerInput } from '../http';
import type { Principal } from '../auth/principal-type';
import { ownCallRow } from './queries';
import { campaignScope, inScope, type CampaignScope } from './scope';
import { callView, NOT_FOUND, type CallRow } from './views';

type CallPatch = HandlerInput<'patchCall'>['body'];

async function ownCall(ex: Executor, p: Principal, sipCallId: string): Promise<CallRow> {
  const row = await ownCallRow(ex, p, sipCallId);
  if (!row) throw NOT_FOUND.call();
  return row;
}

/** A disposition must be one of the call's campaign's. */
async function assertDisposition(tx: Executor, call: CallRow, disposition: string): Promise<void> {
  const campaign = call.campaign_id ? await tx.selectFrom('campaigns').select('dispositions').where('id', '=', call.campaign_id).executeTakeFirst() : undefined;
  if (!campaign || !jsonColumn<string[]>(campaign.dispositions).includes(disposition)) {
    throw new GatewayError('validation_failed', 'not a disposition of this call\'s campaign', { issues: [{ path: 'body.disposition', message: 'unknown disposition' }] });
  }
}

/** The customer to link: in scope and in the call's campaign, else not_found. */
async function linkableCustomer(tx: Executor, scope: CampaignScope, call: CallRow, customerId: string): Promise<string> {
  const customer = await tx.selectFrom('customers as t').select(['t.id', 't.campaign_id']).where('t.id', '=', customerId).where(inScope(scope, 't')).executeTakeFirst();
  if (!customer || customer.campaign_id !== call.campaign_id) throw NOT_FOUND.customer();
  return customer.id;
}

const RANK = { ringing: 0, answered: 1, ended: 2, wrapped_up: 3, abandoned: 4 } as const;

/** The client's times (answered before ended) and the status they imply, never moved back. */
function timesOf(call: CallRow, body: CallPatch): Partial<CallRow> {
  const answeredAt = body.answeredAt ? new Date(body.answeredAt) : call.answered_at;
  const endedAt = body.endedAt ? new Date(body.endedAt) : call.ended_at;
  if (answeredAt && endedAt && endedAt < answeredAt) {
    throw new GatewayError('validation_failed', 'endedAt is before answeredAt', { issues: [{ path: 'body.endedAt', message: 'before answeredAt' }] });
  }
  // the gateway's model moves the status on (server/sip/agents.ts): a client's times never move it back
  const reported = endedAt ? 'ended' : answeredAt ? 'answered' : call.status;
  return {
    ...(body.answeredAt ? { answered_at: answeredAt } : {}),
    ...(body.endedAt ? { ended_at: endedAt } : {}),
    status: RANK[reported] > RANK[call.status] ? reported : call.status,
  };
}

/** Whether setting these columns changes the row (updated_at aside). */
function changesSomething(call: CallRow, next: Partial<CallRow>): boolean {
  const same = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);
  return Object.entries(next).some(([k, v]) => k !== 'updated_at' && !same(v, call[k as keyof CallRow]));
}

export function registerCallRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'patchCall', async ({ principal, params, body }) => {
    const scope = campaignScope(principal);
    const updated = await db.transaction().execute(async (tx) => {
      const call = await ownCall(tx, principal, params.callId);
      const changes: Partial<CallRow> = { updated_at: clock.now() };
      if (body.disposition !== undefined) {
        await assertDisposition(tx, call, body.disposition);
        changes.disposition = body.disposition;
      }
      if (body.customerId !== undefined) changes.customer_id = await linkableCustomer(tx, scope, call, body.customerId);
      const times = timesOf(call, body);
      if (body.wrapUpSeconds !== undefined) changes.wrap_up_seconds = body.wrapUpSeconds;
      // Idempotent: a patch that changes nothing (a client's resend after a lost answer, its
      // outbox replaying after a crash) writes nothing and audits nothing.
      if (!changesSomething(call, { ...changes, ...times })) return call;
      await tx.updateTable('calls').set({ ...changes, ...times }).where('id', '=', call.id).execute();
      const target = { type: 'call', id: call.id };
      if (body.disposition !== undefined && (body.disposition !== call.disposition || (body.wrapUpSeconds !== undefined && body.wrapUpSeconds !== call.wrap_up_seconds))) {
        await appendAudit(tx, clock, eventBy(principal, 'call.dispositioned', target, {
          callId: call.sip_call_id, campaignId: call.campaign_id, disposition: body.disposition, wrapUpSeconds: body.wrapUpSeconds ?? call.wrap_up_seconds,
        }));
      }
      if (changes.customer_id && changes.customer_id !== call.customer_id) await appendAudit(tx, clock, eventBy(principal, 'call.customer_linked', target, { customerId: changes.customer_id }));
      return ownCall(tx, principal, params.callId);
    });
    ctx.supervision.touch(principal.userId); // the lead's board shows the call's new status
    return callView(updated);
  });
}
