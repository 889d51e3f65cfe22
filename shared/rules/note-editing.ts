// Whether a saved note may still be corrected (issue 18 item 5), by the org policy's notes
// section (shared/gateway/policy.ts NotesPolicySchema). One rule for both sides: the gateway
// refuses an edit with it (server/crm/notes.ts), the notes panel decides with it whether to
// offer "Edit" and says why not (renderer/src/features/customer/NoteEdit.tsx). The gateway's
// answer is the one that counts: the client's clock may be off, and the policy may change.
//
//   - only the note's author edits it (a lead or a colleague writes a note of their own);
//   - editWindowMinutes 0: no note can be edited once saved;
//   - a closed note only with closedNotesEditable;
//   - otherwise until createdAt + editWindowMinutes (an edit does not restart the window).

export interface NotesEditPolicy {
  editWindowMinutes: number;
  closedNotesEditable: boolean;
}

export interface EditableNote {
  authorId: string;
  open: boolean;
  /** ISO instant, Date or epoch ms. */
  createdAt: string | Date | number;
}

/** Why an edit is refused: not the author; the org allows no edits; closed; the window has passed. */
export type NoteEditRefusal = 'not_author' | 'disabled' | 'closed' | 'expired';

export type NoteEditability = { editable: true; until: number } | { editable: false; reason: NoteEditRefusal };

const ms = (t: string | Date | number) => (typeof t === 'number' ? t : new Date(t).getTime());

/** The instant (epoch ms) the note's edit window ends; the note is editable strictly before it. */
export function editWindowEnd(policy: NotesEditPolicy, createdAt: string | Date | number): number {
  return ms(createdAt) + policy.editWindowMinutes * 60_000;
}

/** May `userId` edit `note` at `now` (epoch ms) under `policy`? The first reason that applies, in the order above. */
export function noteEditability(policy: NotesEditPolicy, note: EditableNote, userId: string, now: number): NoteEditability {
  if (note.authorId !== userId) return { editable: false, reason: 'not_author' };
  if (policy.editWindowMinutes <= 0) return { editable: false, reason: 'disabled' };
  if (!note.open && !policy.closedNotesEditable) return { editable: false, reason: 'closed' };
  const until = editWindowEnd(policy, note.createdAt);
  if (!(now < until)) return { editable: false, reason: 'expired' };
  return { editable: true, until };
}

/** Whole minutes left (rounded up: "1 more minute" until the very end), never below 0. */
export function minutesLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 60_000));
}
