// Notes: written once per client note id (a retry returns the same note), closed and reopened,
// and corrected by their author within the org's policy (notes.editWindowMinutes,
// notes.closedNotesEditable: shared/rules/note-editing.ts), each replaced text kept in
// note_edits. The stored body never holds a card number, whatever the client did: a new note
// and an edit go through the same schema (NoteBody, which masks them) and the same redaction.
import { createHash, randomUUID } from 'node:crypto';
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
import { noteEditability, type NoteEditRefusal } from '../../shared/rules/note-editing';
import { orgPolicy } from '../policy';
import { iso } from '../db/rows';
import { noteView, NOT_FOUND, type CallRow, type NoteRow } from './views';

type NoteBody = HandlerInput<'createNote'>['body'];

/** Whether the note body the client sent held a card number (the schema masked it before the handler ran). */
function rawNoteHadCard(raw: unknown): boolean {
  const b = raw && typeof raw === 'object' ? (raw as { body?: unknown }).body : undefined;
  return typeof b === 'string' && containsCardNumber(b);
}

/** For the audit entry of an edit: the text's digest (never the text: it is customer data). */
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const EDIT_REFUSED: Record<NoteEditRefusal, () => GatewayError> = {
  not_author: () => new GatewayError('forbidden', 'only the note\'s author can edit it'),
  disabled: () => new GatewayError('edit_window_expired', 'your organisation does not allow notes to be edited after they are saved'),
  expired: () => new GatewayError('edit_window_expired', 'the time to edit this note has passed'),
  closed: () => new GatewayError('note_closed', 'a closed note cannot be edited'),
};

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

  route(app, ctx, 'editNote', async ({ principal, params, body, req }) => {
    const text = redactCardNumbers(body.body);
    const policy = (await orgPolicy(db, principal.orgId)).notes;
    const note = await db.transaction().execute(async (tx) => {
      // locked: two edits of one note queue up, and the second sees the first's version
      const row = await notesInScope(tx, campaignScope(principal)).where('t.id', '=', params.id).forUpdate('t').executeTakeFirst();
      if (!row) throw await notFound(tx, principal, 'notes', params.id, NOT_FOUND.note());
      if (row.author_id !== principal.userId) throw EDIT_REFUSED.not_author();
      // a retry of this very edit whose answer was lost: the note as it made it
      if (row.version === body.version + 1 && row.body === text) {
        const mine = await tx.selectFrom('note_edits').select('id').where('note_id', '=', row.id).where('version', '=', body.version).where('editor_id', '=', principal.userId).executeTakeFirst();
        if (mine) return row;
      }
      // the policy first: reloading a note whose time has passed would not help
      const allowed = noteEditability(policy, { authorId: row.author_id, open: row.open, createdAt: row.created_at }, principal.userId, clock.now().getTime());
      if (!allowed.editable) throw EDIT_REFUSED[allowed.reason]();
      if (row.version !== body.version) {
        throw new GatewayError('conflict', `this note was changed since you opened it (now version ${row.version}): reload it and edit again`);
      }
      if (row.body === text) return row; // nothing changed: nothing written, nothing audited
      const now = clock.now();
      await tx
        .insertInto('note_edits')
        .values({ id: randomUUID(), org_id: row.org_id, note_id: row.id, version: row.version, body: row.body, editor_id: principal.userId, edited_at: now })
        .execute();
      const updated = await tx
        .updateTable('notes')
        .set({ body: text, version: row.version + 1, edited_at: now, updated_at: now })
        .where('id', '=', row.id)
        .where('version', '=', row.version)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new GatewayError('conflict', 'this note was changed since you opened it: reload it and edit again');
      // ids, sizes and digests only: the texts are in note_edits and notes, never in the audit log
      await appendAudit(tx, clock, eventBy(principal, 'note.edited', { type: 'note', id: row.id }, {
        campaignId: row.campaign_id, customerId: row.customer_id, version: row.version + 1,
        previousLength: row.body.length, previousSha256: sha256(row.body), length: text.length, sha256: sha256(text), redacted: rawNoteHadCard(req.body),
      }));
      return (await notesQuery(tx).where('t.id', '=', row.id).executeTakeFirst())!;
    });
    return noteView(note);
  });

  route(app, ctx, 'noteEdits', async ({ principal, params }) => {
    const row = await notesInScope(db, campaignScope(principal)).where('t.id', '=', params.id).executeTakeFirst();
    if (!row) throw await notFound(db, principal, 'notes', params.id, NOT_FOUND.note());
    const edits = await db
      .selectFrom('note_edits as e')
      .innerJoin('users as u', 'u.id', 'e.editor_id')
      .select(['e.version', 'e.body', 'e.editor_id', 'e.edited_at', 'u.display_name'])
      .where('e.note_id', '=', row.id)
      .orderBy('e.version')
      .execute();
    return {
      note: noteView(row),
      edits: edits.map((e) => ({ version: e.version, body: e.body, editorId: e.editor_id, editorName: e.display_name, editedAt: iso(e.edited_at) })),
    };
  });
}
