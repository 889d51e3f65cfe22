// Issue 18 item 5: the org policy's notes section (shared/gateway/policy.ts NotesPolicySchema:
// editWindowMinutes, closedNotesEditable), the one rule that decides whether a note may be
// edited (shared/rules/note-editing.ts: the gateway refuses with it, the notes panel offers
// "Edit" by it), and the edit request's schema (the same NoteBody, card numbers masked, as a
// new note's). Also main's outbox telling the renderer what the gateway stored for a saved note.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY, NotesPolicySchema, OrgPolicyPatchSchema, OrgPolicySchema } from '../../../shared/gateway/policy';
import { NoteCreateRequest, NoteEditRequest } from '../../../shared/gateway/crm';
import { editWindowEnd, minutesLeft, noteEditability } from '../../../shared/rules/note-editing';
import { OutboxSettled, type OutboxSettled as Settled } from '../../../shared/ipc/contract';
import { OutboxService } from '../../../main/outbox/outbox';
import { MemoryVault } from '../../support/memory-vault';
import { recordingLogger } from '../helpers';

const issuesOf = (notes: unknown) => {
  const r = OrgPolicySchema.safeParse({ notes });
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('the policy: notes', () => {
  it('defaults to a 30-minute window and closed notes kept as they are, also in every stored policy that never set it', () => {
    expect(DEFAULT_ORG_POLICY.notes).toEqual({ editWindowMinutes: 30, closedNotesEditable: false });
    expect(OrgPolicySchema.parse({ agents: { wrapUpSeconds: 45 } }).notes).toEqual({ editWindowMinutes: 30, closedNotesEditable: false });
    expect(OrgPolicySchema.parse({ notes: { closedNotesEditable: true } }).notes).toEqual({ editWindowMinutes: 30, closedNotesEditable: true });
  });

  it('accepts 0 (no edits) to 1440 minutes; refuses anything else, and unknown keys', () => {
    for (const editWindowMinutes of [0, 1, 30, 1440]) expect(issuesOf({ editWindowMinutes })).toEqual([]);
    for (const editWindowMinutes of [-1, 1441, 2.5, '30', null, Number.NaN, Infinity]) {
      expect(issuesOf({ editWindowMinutes }), String(editWindowMinutes)).toEqual(['notes.editWindowMinutes']);
    }
    for (const closedNotesEditable of ['true', 1, null]) expect(issuesOf({ closedNotesEditable })).toEqual(['notes.closedNotesEditable']);
    expect(issuesOf({ editWindow: 10 })).toEqual(['notes']);
    expect(NotesPolicySchema.safeParse({ editWindowMinutes: 10, closedNotesEditable: false, authorOnly: false }).success).toBe(false);
  });

  it('a PATCH of one field carries only that field (the other keeps what the admin set)', () => {
    expect(OrgPolicyPatchSchema.parse({ notes: { editWindowMinutes: 5 } })).toEqual({ notes: { editWindowMinutes: 5 } });
    expect(OrgPolicyPatchSchema.safeParse({ notes: { editWindowMinutes: 1441 } }).success).toBe(false);
    expect(OrgPolicyPatchSchema.safeParse({ notes: { other: true } }).success).toBe(false);
  });
});

describe('whether a note may be edited', () => {
  const policy = { editWindowMinutes: 30, closedNotesEditable: false };
  const createdAt = '2026-04-01T09:00:00.000Z';
  const t0 = Date.parse(createdAt);
  const me = 'u-me';
  const note = { authorId: me, open: true, createdAt };
  const min = 60_000;

  it('by its author, strictly before createdAt + editWindowMinutes; an edit does not restart the window', () => {
    expect(noteEditability(policy, note, me, t0)).toEqual({ editable: true, until: t0 + 30 * min });
    expect(noteEditability(policy, note, me, t0 + 30 * min - 1)).toEqual({ editable: true, until: t0 + 30 * min });
    expect(noteEditability(policy, note, me, t0 + 30 * min)).toEqual({ editable: false, reason: 'expired' });
    expect(editWindowEnd(policy, new Date(createdAt))).toBe(t0 + 30 * min);
    expect(editWindowEnd(policy, t0)).toBe(t0 + 30 * min);
  });

  it('refuses, in this order: another author, no edits at all (0), a closed note, the window passed', () => {
    expect(noteEditability(policy, note, 'someone-else', t0)).toEqual({ editable: false, reason: 'not_author' });
    expect(noteEditability({ ...policy, editWindowMinutes: 0 }, note, 'someone-else', t0)).toEqual({ editable: false, reason: 'not_author' });
    expect(noteEditability({ ...policy, editWindowMinutes: 0 }, { ...note, open: false }, me, t0)).toEqual({ editable: false, reason: 'disabled' });
    expect(noteEditability(policy, { ...note, open: false }, me, t0 + 40 * min)).toEqual({ editable: false, reason: 'closed' });
    expect(noteEditability({ ...policy, closedNotesEditable: true }, { ...note, open: false }, me, t0 + min)).toMatchObject({ editable: true });
    expect(noteEditability({ ...policy, closedNotesEditable: true }, { ...note, open: false }, me, t0 + 40 * min)).toEqual({ editable: false, reason: 'expired' });
  });

  it('minutes left are rounded up ("1 more minute" until the end) and never negative', () => {
    const until = t0 + 30 * min;
    expect(minutesLeft(until, t0)).toBe(30);
    expect(minutesLeft(until, t0 + 1)).toBe(30);
    expect(minutesLeft(until, until - 1)).toBe(1);
    expect(minutesLeft(until, until)).toBe(0);
    expect(minutesLeft(until, until + 5 * min)).toBe(0);
  });
});

describe('the edit request', () => {
  it('masks a card number exactly as a new note does (one schema: NoteBody)', () => {
    const typed = 'カード ４１１１－１１１１－１１１１－１１１１ 12/28\r\n折り返し';
    const edited = NoteEditRequest.parse({ body: typed, version: 1 }).body;
    expect(edited).toBe(NoteCreateRequest.parse({ clientNoteId: randomUUID(), callId: 'a@b', body: typed }).body);
    expect(edited).toBe('カード ****－****－****－１１１１ 12/28\n折り返し');
  });

  it('refuses what is not a body and a version: strict, bounded, typed', () => {
    const ok = (v: unknown) => NoteEditRequest.safeParse(v).success;
    expect(ok({ body: 'あ'.repeat(4000), version: 1 })).toBe(true);
    for (const bad of [
      { body: 'あ'.repeat(4001), version: 1 }, { body: '', version: 1 }, { body: 'x\u0000', version: 1 }, { body: 'x', version: 0 }, { body: 'x', version: 1.5 },
      { body: 'x', version: '1' }, { body: 'x' }, { version: 1 }, { body: 'x', version: 1, open: false }, { body: 'x', version: 2_000_000 },
    ]) {
      expect(ok(bad), JSON.stringify(bad).slice(0, 60)).toBe(false);
    }
  });
});

describe("main's outbox: a saved note tells what the gateway stored (no text)", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('the settled event of a note carries its id, author, version, state and creation; a call patch none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koe-outbox-saved-'));
    dirs.push(dir);
    const stored = { id: randomUUID(), authorId: randomUUID(), version: 1, open: true, createdAt: '2026-04-01T09:00:00.000Z' };
    const outbox = new OutboxService({
      dir, vault: new MemoryVault(), now: () => Date.now(), log: recordingLogger().log,
      send: async (item) => (item.kind === 'note' ? stored : undefined),
    });
    const settled: Settled[] = [];
    outbox.onSettled((s) => settled.push(s));
    await outbox.open('user-1');
    const noteId = randomUUID();
    const patchId = randomUUID();
    await outbox.enqueue({ kind: 'note', id: noteId, sipCallId: 'a@10.0.0.1', customerId: null, body: '住所変更' });
    await outbox.enqueue({ kind: 'callPatch', id: patchId, sipCallId: 'a@10.0.0.1', patch: { disposition: '解決' } });
    await expect.poll(() => settled.length).toBe(2);
    expect(settled).toEqual([{ id: noteId, kind: 'note', outcome: 'saved', note: stored }, { id: patchId, kind: 'callPatch', outcome: 'saved' }]);
    for (const s of settled) expect(OutboxSettled.parse(s)).toEqual(s);
    expect(JSON.stringify(settled)).not.toContain('住所変更');
    await outbox.close();
  });
});
