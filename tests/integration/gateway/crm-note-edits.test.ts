// Editing a note (issue 18 item 5) on PGlite and PostgreSQL: only its author, within the org's
// edit window (notes.editWindowMinutes, the injected clock: no sleeping) and open unless
// notes.closedNotesEditable; a stale version is 409, never an overwrite; card numbers masked by
// the same schema as a new note; every replaced text kept (GET /notes/:id/edits) and every edit
// audited with ids, lengths and digests but never the text; hostile bodies refused by the schema;
// outside the caller's campaigns it answers exactly like a missing note.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] } };
const DEFAULT_NOTES_POLICY = { editWindowMinutes: 30, closedNotesEditable: false };

describe.each(BACKENDS)('editing notes on %s', (backend) => {
  let h: Harness;
  let campaignId: string;
  let customerId: string;
  let colleague: TestUser;
  let outsider: TestUser;
  /** A fresh token (the tests move the clock past token lifetimes and idle limits). */
  const tok = (u: TestUser) => h.token(u);
  const op = () => h.users.operator;
  const newNote = async (body = '折り返し希望。午後3時以降', author = op()) =>
    h.ok('POST', '/notes', await tok(author), { clientNoteId: randomUUID(), customerId, body });
  const edit = async (id: string, body: unknown, who: TestUser = op()) => h.req('PUT', `/notes/${id}/body`, { token: await tok(who), body });
  const stored = (id: string) => h.db.selectFrom('notes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const history = (id: string) => h.db.selectFrom('note_edits').selectAll().where('note_id', '=', id).orderBy('version').execute();
  const audit = (id: string) => h.db.selectFrom('audit_log').select(['action', 'detail', 'actor_user_id']).where('target_id', '=', id).orderBy('seq').execute();
  const setNotesPolicy = (notes: Partial<typeof DEFAULT_NOTES_POLICY>) => h.patchPolicy({ notes });

  beforeAll(async () => {
    h = await setup(backend);
    const admin = await tok(h.users.admin);
    campaignId = (await h.ok('POST', '/campaigns', admin, { name: 'ひかり通販 受注窓口', dids: ['0120-777-100'], hours: HOURS, dispositions: ['解決'] })).id;
    colleague = await h.newUser('operator', 'colleague');
    outsider = await h.newUser('operator', 'outsider');
    await h.ok('PUT', `/campaigns/${campaignId}/assignments`, admin, { userIds: [h.users.operator.id, colleague.id] });
    customerId = (await h.ok('POST', '/customers', admin, { campaignId, nameKanji: '山田 花子', nameKana: 'ヤマダ ハナコ', phones: ['090-5555-0101'] })).id;
  });
  afterAll(async () => h?.close());

  it('the author corrects a note within the window: new text, version 2, the replaced text kept, audited without any text', async () => {
    const original = 'お届け希望日 11月21日 午前中。置き配不可';
    const corrected = 'お届け希望日 11月22日 午前中。置き配不可（11/21 は不在）';
    const note = await newNote(original);
    expect(note).toMatchObject({ version: 1, editedAt: null, open: true });
    h.clock.advanceMinutes(10);
    const res = await edit(note.id, { body: corrected, version: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const at = h.clock.now().toISOString();
    expect(res.body).toMatchObject({ id: note.id, clientNoteId: note.clientNoteId, body: corrected, version: 2, editedAt: at, updatedAt: at, createdAt: note.createdAt, authorId: op().id });
    expect(await stored(note.id)).toMatchObject({ body: corrected, version: 2 });
    // the history: the text it had at version 1, who replaced it and when
    const edits = await h.ok('GET', `/notes/${note.id}/edits`, await tok(op()));
    expect(edits).toEqual({ note: res.body, edits: [{ version: 1, body: original, editorId: op().id, editorName: expect.any(String), editedAt: at }] });
    // a colleague of the campaign reads the same history (disputes), and the note as it is now
    expect((await h.ok('GET', `/notes/${note.id}/edits`, await tok(colleague))).edits).toHaveLength(1);
    const listed = await h.ok('GET', `/customers/${customerId}/notes`, await tok(colleague));
    expect(listed.notes.find((n: { id: string }) => n.id === note.id)).toMatchObject({ body: corrected, version: 2, editedAt: at });

    // audited: ids, version, lengths and digests; the texts are nowhere in the entry
    const entries = await audit(note.id);
    expect(entries.map((e) => e.action)).toEqual(['note.created', 'note.edited']);
    expect(entries[1]!.actor_user_id).toBe(op().id);
    expect(entries[1]!.detail).toEqual({
      campaignId, customerId, version: 2, previousLength: original.length, previousSha256: sha(original), length: corrected.length, sha256: sha(corrected), redacted: false,
    });
    const detail = JSON.stringify(entries[1]!.detail);
    for (const fragment of ['お届け', '置き配', '11月', '不在']) expect(detail).not.toContain(fragment);

    // the same edit again (its answer lost): the note as it made it, nothing written twice
    const retry = await edit(note.id, { body: corrected, version: 1 });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(res.body);
    // the same text at the current version: nothing changes, nothing is audited
    expect((await edit(note.id, { body: corrected, version: 2 })).body).toEqual(res.body);
    expect(await history(note.id)).toHaveLength(1);
    expect((await audit(note.id)).map((e) => e.action)).toEqual(['note.created', 'note.edited']);
  });

  it('only the author edits: a colleague and an admin are refused (forbidden); outside the scope it answers like a missing note', async () => {
    const note = await newNote('在庫確認後に折り返し');
    for (const who of [colleague, h.users.admin]) {
      const res = await edit(note.id, { body: '書き換え', version: 1 }, who);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    // an operator of another campaign: the same answer as an id that does not exist
    const missing = randomUUID();
    const foreign = await edit(note.id, { body: '書き換え', version: 1 }, outsider);
    const none = await edit(missing, { body: '書き換え', version: 1 }, outsider);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(none.body);
    const token = await tok(outsider);
    const foreignEdits = await h.req('GET', `/notes/${note.id}/edits`, { token });
    expect(foreignEdits.status).toBe(404);
    expect(foreignEdits.body).toEqual((await h.req('GET', `/notes/${missing}/edits`, { token })).body);
    expect(await stored(note.id)).toMatchObject({ body: '在庫確認後に折り返し', version: 1 });
    expect(await history(note.id)).toEqual([]);
    expect((await audit(note.id)).map((e) => e.action)).toEqual(['note.created']);
  });

  it('the window runs from creation: editable before editWindowMinutes, refused at it; the policy is read at each edit; 0 allows no edits', async () => {
    const note = await newNote('見積書を再送');
    h.clock.advanceMinutes(29);
    expect((await edit(note.id, { body: '見積書を再送（メール）', version: 1 })).status).toBe(200);
    // an edit does not restart the window: 30 minutes after creation it is over
    h.clock.advanceMinutes(1);
    const late = await edit(note.id, { body: '見積書を再送（FAX）', version: 2 });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('edit_window_expired');
    expect((await stored(note.id)).body).toBe('見積書を再送（メール）');
    try {
      // a longer window set by the admin applies to the next edit at once
      await setNotesPolicy({ editWindowMinutes: 60 });
      expect((await edit(note.id, { body: '見積書を再送（FAX）', version: 2 })).status).toBe(200);
      await setNotesPolicy({ editWindowMinutes: 0 });
      const fresh = await newNote('当日中に再連絡');
      const refused = await edit(fresh.id, { body: '明日再連絡', version: 1 });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'edit_window_expired', message: expect.stringContaining('does not allow') });
      expect((await stored(fresh.id)).body).toBe('当日中に再連絡');
    } finally {
      await setNotesPolicy(DEFAULT_NOTES_POLICY);
    }
  });

  it('a closed note is refused (note_closed) unless notes.closedNotesEditable; reopened, it is editable again', async () => {
    const note = await newNote('解約手続き案内済み');
    await h.ok('PATCH', `/notes/${note.id}`, await tok(op()), { open: false });
    const refused = await edit(note.id, { body: '解約手続き案内済み（書類送付）', version: 1 });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('note_closed');
    try {
      await setNotesPolicy({ closedNotesEditable: true });
      const ok = await edit(note.id, { body: '解約手続き案内済み（書類送付）', version: 1 });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ open: false, version: 2 });
    } finally {
      await setNotesPolicy(DEFAULT_NOTES_POLICY);
    }
    expect((await edit(note.id, { body: 'もう一度', version: 2 })).body.error.code).toBe('note_closed');
    await h.ok('PATCH', `/notes/${note.id}`, await tok(op()), { open: true });
    // closing and reopening do not change the version: the edit the client started still applies
    expect((await edit(note.id, { body: '解約手続き案内済み（書類送付・返送待ち）', version: 2 })).status).toBe(200);
  });

  it('a card number in an edit is masked exactly as in a new note, and the audit entry says it was', async () => {
    const typed = 'カード番号 ４１１１－１１１１－１１１１－１１１１ 有効期限 12/28 で決済希望。注文 ORD-2026-000123';
    const asNew = await newNote(typed);
    const note = await newNote('決済方法を確認');
    const res = await edit(note.id, { body: typed, version: 1 });
    expect(res.status).toBe(200);
    expect(res.body.body).toBe(asNew.body);
    expect(res.body.body).toBe('カード番号 ****－****－****－１１１１ 有効期限 12/28 で決済希望。注文 ORD-2026-000123');
    expect((await stored(note.id)).body).not.toMatch(/[4４][1１]{3}/);
    const entries = await audit(note.id);
    expect(entries[1]!.detail).toMatchObject({ redacted: true, length: asNew.body.length, sha256: sha(asNew.body) });
    expect(JSON.stringify(entries[1]!.detail)).not.toMatch(/[4４][1１]{3}|カード/);
    // and the card number in a replaced text is masked too: every body stored went through the schema
    const again = await edit(note.id, { body: '決済はコンビニ払いに変更', version: 2 });
    expect(again.status).toBe(200);
    expect((await history(note.id)).map((e) => e.body)).toEqual(['決済方法を確認', asNew.body]);
  });

  it('concurrent edits: the second edit of the same version is refused 409 conflict, nothing is overwritten', async () => {
    const note = await newNote('配達時間の変更依頼');
    expect((await edit(note.id, { body: '配達時間を夜間に変更', version: 1 })).status).toBe(200);
    // another window (or PC) of the author still had version 1 open
    const stale = await edit(note.id, { body: '配達時間を午前に変更', version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('conflict');
    expect((await stored(note.id)).body).toBe('配達時間を夜間に変更');
    // two edits of version 2 at once: one wins, the other is refused
    const token = await tok(op());
    const both = await Promise.all(['A案', 'B案'].map((b) => h.req('PUT', `/notes/${note.id}/body`, { token, body: { body: `配達時間 ${b}`, version: 2 } })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = both.find((r) => r.status === 200)!.body;
    expect(both.find((r) => r.status === 409)!.body.error.code).toBe('conflict');
    expect(await stored(note.id)).toMatchObject({ body: winner.body, version: 3 });
    expect((await history(note.id)).map((e) => [e.version, e.body])).toEqual([[1, '配達時間の変更依頼'], [2, '配達時間を夜間に変更']]);
    expect((await audit(note.id)).map((e) => e.action)).toEqual(['note.created', 'note.edited', 'note.edited']);
  });

  it('hostile inputs are refused by the schema (400), and nothing changes', async () => {
    const note = await newNote('資料送付済み');
    const bad: unknown[] = [
      { body: 'あ'.repeat(4001), version: 1 },
      { body: '', version: 1 },
      { body: '   ', version: 1 },
      { body: 'NUL\u0000入り', version: 1 },
      { body: 'lone \ud800 surrogate', version: 1 },
      { body: 42, version: 1 },
      { body: ['配列'], version: 1 },
      { body: '型違い', version: '1' },
      { body: '小数', version: 1.5 },
      { body: 'ゼロ', version: 0 },
      { body: '負', version: -1 },
      { body: '大きすぎ', version: 1e12 },
      { body: '版なし' },
      { version: 1 },
      { body: '余分', version: 1, open: false },
      { body: '余分', version: 1, authorId: colleague.id },
      { body: 'proto', version: 1, __proto__: { admin: true }, constructor: {} },
      null,
      [],
      '文字列',
    ];
    const token = await tok(op());
    for (const body of bad) {
      const res = await h.req('PUT', `/notes/${note.id}/body`, { token, body });
      expect(res.status, JSON.stringify(body)?.slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await h.req('PUT', '/notes/not-a-uuid/body', { token, body: { body: 'x', version: 1 } })).status).toBe(400);
    // the limit itself is fine
    expect((await h.req('PUT', `/notes/${note.id}/body`, { token, body: { body: 'あ'.repeat(4000), version: 1 } })).status).toBe(200);
    const row = await stored(note.id);
    expect(row.version).toBe(2);
    expect((await audit(note.id)).map((e) => e.action)).toEqual(['note.created', 'note.edited']);
  });

  it('the policy: GET /me/note-policy serves the section; an admin changes one field at a time; out-of-range values are refused', async () => {
    expect(await h.ok('GET', '/me/note-policy', await tok(op()))).toEqual(DEFAULT_NOTES_POLICY);
    const admin = await tok(h.users.admin);
    for (const notes of [{ editWindowMinutes: -1 }, { editWindowMinutes: 1441 }, { editWindowMinutes: 2.5 }, { editWindowMinutes: '30' }, { closedNotesEditable: 'yes' }, { unknown: 1 }]) {
      const res = await h.req('PATCH', '/admin/policy', { token: admin, body: { notes } });
      expect(res.status, JSON.stringify(notes)).toBe(400);
    }
    // an operator cannot change it
    expect((await h.req('PATCH', '/admin/policy', { token: await tok(op()), body: { notes: { editWindowMinutes: 5 } } })).status).toBe(403);
    try {
      await setNotesPolicy({ closedNotesEditable: true });
      await setNotesPolicy({ editWindowMinutes: 5 });
      expect(await h.ok('GET', '/me/note-policy', await tok(op()))).toEqual({ editWindowMinutes: 5, closedNotesEditable: true });
      expect((await h.ok('GET', '/admin/policy', admin)).policy.notes).toEqual({ editWindowMinutes: 5, closedNotesEditable: true });
    } finally {
      await setNotesPolicy(DEFAULT_NOTES_POLICY);
    }
  });

  it('the routes are in /openapi.json with their permissions', async () => {
    const doc = (await h.req('GET', '/openapi.json')).body;
    expect(doc.paths['/notes/{id}/body'].put).toMatchObject({ operationId: 'editNote', 'x-koe-permission': 'notes:write' });
    expect(doc.paths['/notes/{id}/body'].put.requestBody.content['application/json'].schema.required.sort()).toEqual(['body', 'version']);
    expect(doc.paths['/notes/{id}/edits'].get).toMatchObject({ operationId: 'noteEdits', 'x-koe-permission': 'customers:read' });
    expect(doc.paths['/me/note-policy'].get).toMatchObject({ operationId: 'notePolicy', 'x-koe-permission': 'authenticated' });
  });
});
