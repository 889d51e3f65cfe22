// Notes: written once per client note id (a retry returns the same note), closed and reopened.
// The stored body never holds a card number, whatever the client did.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { containsCardNumber, redactCardNumbers } from '../../shared/rules/card-redaction';
import { appendAudit, eventBy } from '../audit/audit';
import { notFound } from '../auth/tenancy';
import type { GatewayContext } from '../context';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { route, type HandlerInput } from '../http';
import type { Principal } from '../auth/principal-type';
import { callsInScope, notesInScope, notesQuery, scopedCustomer } from './queries';
import { campaignScope, type CampaignScope } from './scope';
import { noteView, NOT_FOUND, type CallRow, type NoteRow } from './views';

type NoteBody = HandlerInput<'createNote'>['body'];

/** Whether the note body the client sent held a card number (the schema masked it before the handler ran). */
function rawNoteHadCard(raw: unknown): boolean {
  const b = raw && typeof raw === 'object' ? (raw as { body?: unknown }).body : undefined;
  return typeof b === 'string' && containsCardNumber(b);
}

const reusedClientId = () => new GatewayError('conflict', 'clientNoteId was already used for another note');

/**
 * What the note is about: the caller's own call (in scope) and/or a customer in scope, both in
 * one campaign. A call no campaign took (unknown DID) needs the customer it is about.
 */
async function subjectOf(tx: Executor, p: Principal, scope: CampaignScope, body: NoteBody) {
  const call: CallRow | undefined = body.callId
    ? await callsInScope(tx, scope).where('t.sip_call_id', '=', body.callId).where('t.operator_id', '=', p.userId).executeTakeFirst()
    : undefined;
  if (body.callId && !call) throw NOT_FOUND.call();
  const customer = body.customerId ? await scopedCustomer(tx, scope, body.customerId, p) : undefined;
  if (call && customer && call.campaign_id !== customer.campaign_id) throw NOT_FOUND.customer();
  const campaignId = customer?.campaign_id ?? call?.campaign_id ?? null;
  if (!campaignId) {
    throw new GatewayError('validation_failed', 'this call has no campaign: give the customerId the note is about', {
      issues: [{ path: 'body.customerId', message: 'required for a call without a campaign' }],
    });
  }
  return { call, customer, campaignId, customerId: customer?.id ?? call?.customer_id ?? null };
}

export function registerNoteRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'createNote', async ({ principal, body, req }) => {
    const scope = campaignScope(principal);
    const text = redactCardNumbers(body.body);
    const byClientId = (ex: Executor) =>
      notesQuery(ex).where('t.author_id', '=', principal.userId).where('t.client_note_id', '=', body.clientNoteId).executeTakeFirst();
    const sameNote = (n: NoteRow) =>
      n.body === text && (body.customerId === undefined || n.customer_id === body.customerId) && (body.callId === undefined || n.sip_call_id === body.callId);

    const note = await db.transaction().execute(async (tx) => {
      const existing = await byClientId(tx);
      if (existing) {
        if (!sameNote(existing)) throw reusedClientId();
        return existing;
      }
      const { call, customer, campaignId, customerId } = await subjectOf(tx, principal, scope, body);
      if (call && customer && !call.customer_id) {
        await tx.updateTable('calls').set({ customer_id: customer.id, updated_at: clock.now() }).where('id', '=', call.id).execute();
      }
      const now = clock.now();
      const id = randomUUID();
      const inserted = await tx
        .insertInto('notes')
        .values({
          id, org_id: principal.orgId, campaign_id: campaignId, customer_id: customerId, call_id: call?.id ?? null, author_id: principal.userId,
          client_note_id: body.clientNoteId, body: text, open: body.open, created_at: now, updated_at: now,
        })
        .onConflict((oc) => oc.columns(['author_id', 'client_note_id']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
        // a concurrent retry of the same note won the race
        const raced = await byClientId(tx);
        if (!raced || !sameNote(raced)) throw reusedClientId();
        return raced;
      }
      await appendAudit(tx, clock, eventBy(principal, 'note.created', { type: 'note', id }, {
        campaignId, customerId, callId: call?.sip_call_id ?? null, length: text.length, redacted: rawNoteHadCard(req.body),
      }));
      return (await byClientId(tx))!;
    });
    return noteView(note);
  });

  route(app, ctx, 'patchNote', async ({ principal, params, body }) => {
    const note = await db.transaction().execute(async (tx) => {
      const row = await notesInScope(tx, campaignScope(principal)).where('t.id', '=', params.id).executeTakeFirst();
      if (!row) throw await notFound(tx, principal, 'notes', params.id, NOT_FOUND.note());
      if (row.open !== body.open) {
        await tx.updateTable('notes').set({ open: body.open, updated_at: clock.now() }).where('id', '=', row.id).execute();
        await appendAudit(tx, clock, eventBy(principal, body.open ? 'note.reopened' : 'note.closed', { type: 'note', id: row.id }, { campaignId: row.campaign_id }));
      }
      return (await notesQuery(tx).where('t.id', '=', params.id).executeTakeFirst())!;
    });
    return noteView(note);
  });
}
