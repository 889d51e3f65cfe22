// A saved note's text, and its correction by its author within the org's policy (issue 18
// item 5; shared/rules/note-editing.ts decides what is offered, the gateway decides what is
// saved). "Edit" opens the text in place (redacted as typed, like a new note); Ctrl+Enter saves,
// Esc cancels, focus goes back to "Edit". A refused edit keeps what was typed and says why:
// the window has passed, the note is closed, it was changed elsewhere (its current text is
// shown, a second save replaces it), it is out of reach, or the gateway cannot be reached
// (edits are not queued offline: note-edit-api.ts).
import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useNow } from '../../app/clock';
import { useSessionStore, workspaceUserId } from '../../app/session-store';
import { formatDateTime } from '../../i18n/format';
import { logFailure } from '../../log';
import type { NoteView } from '../../../../shared/gateway/crm';
import { DEFAULT_ORG_POLICY, type NotesPolicy } from '../../../../shared/gateway/policy';
import { redactCardNumbers } from '../../../../shared/rules/card-redaction';
import { minutesLeft, noteEditability } from '../../../../shared/rules/note-editing';
import { currentNote, editNoteBody, editRefusalOf, loadNotePolicy, type EditRefusal } from './note-edit-api';
import { useCustomerStore, type StoredNote } from './store';
import { useRedactingText } from './use-redacting-text';

export type NoteTextData = StoredNote & { body: string };

/**
 * The org's note policy once read (the defaults if it could not be); null while it is being
 * read. Read the first time it is `needed` (a note of this operator's is on screen).
 */
function useNotePolicy(needed: boolean): NotesPolicy | null {
  const policy = useCustomerStore((s) => s.notePolicy);
  const status = useCustomerStore((s) => s.notePolicyStatus);
  useEffect(() => {
    if (needed && status === 'idle') void loadNotePolicy();
  }, [needed, status]);
  if (status === 'ready') return policy;
  return status === 'failed' ? DEFAULT_ORG_POLICY.notes : null;
}

/**
 * One note's text with its "edited" mark and, for its author, "Edit" (or why it cannot be
 * edited). `onChanged`: the gateway's note after a saved edit, or as it is now after a refusal.
 */
export function NoteText({ note, badge, onChanged }: { note: NoteTextData; badge?: ReactNode; onChanged: (view: NoteView) => void }) {
  const { t, i18n } = useTranslation();
  const me = useSessionStore((s) => workspaceUserId(s.session));
  const policy = useNotePolicy(me !== null && me === note.authorId);
  const now = useNow(10_000);
  const draft = useRedactingText();
  const [editing, setEditing] = useState(false);
  const [saving, setSaving] = useState(false);
  const [refusal, setRefusal] = useState<EditRefusal | null>(null);
  const [savedNotice, setSavedNotice] = useState(false);
  /** The version the operator is editing: the edit's precondition (moved only when a conflict showed the newer text). */
  const [base, setBase] = useState(note.version);
  const editButton = useRef<HTMLButtonElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  const focusBack = useRef(false);
  const busy = useRef(false);
  const id = useId();

  useLayoutEffect(() => {
    if (editing) {
      const area = draft.area.current;
      area?.focus();
      area?.setSelectionRange(area.value.length, area.value.length);
    } else if (focusBack.current) {
      focusBack.current = false;
      (editButton.current && !editButton.current.disabled ? editButton.current : text.current)?.focus();
    }
  }, [editing]); // only when the editor opens or closes

  const may = policy && me ? noteEditability(policy, note, me, now) : null;
  // someone else's note, or an org that allows no edits: nothing to offer; the policy still being read: nothing yet
  const offered = may !== null && (may.editable || (may.reason !== 'not_author' && may.reason !== 'disabled'));
  const hintId = `${id}-hint`;
  const hint = !offered ? null : may.editable ? t('notes.edit.minutesLeft', { count: minutesLeft(may.until, now) }) : t(`notes.edit.cannot.${may.reason as 'closed' | 'expired'}`);

  const start = () => {
    draft.reset(note.body);
    setBase(note.version);
    setRefusal(null);
    setSavedNotice(false);
    setEditing(true);
  };
  const close = () => {
    draft.reset();
    setRefusal(null);
    focusBack.current = true;
    setEditing(false);
  };
  const save = async () => {
    // whatever the textarea holds (even mid-composition) is redacted again, as a new note is
    draft.endComposition();
    const body = redactCardNumbers(draft.text).trim();
    if (!body || busy.current) return;
    busy.current = true;
    setSaving(true);
    setRefusal(null);
    try {
      onChanged(await editNoteBody(note.id, body, base));
      setSavedNotice(true);
      close();
    } catch (err) {
      const why = editRefusalOf(err);
      if (why === 'failed' || why === 'invalid') logFailure('editing a note', err);
      setRefusal(why);
      // the policy may have changed under the client: read it again
      if (why === 'expired' || why === 'closed') void loadNotePolicy();
      if (why === 'conflict' || why === 'closed') {
        try {
          const current = await currentNote(note.id);
          onChanged(current);
          // the operator has seen the newer text now: saving again replaces it deliberately
          if (why === 'conflict') setBase(current.version);
        } catch (e) {
          logFailure('reading a note after a refused edit', e);
        }
      }
    } finally {
      busy.current = false;
      setSaving(false);
    }
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // the IME's own Enter and Escape (commit, cancel the conversion) are not ours
    if (e.nativeEvent.isComposing || draft.composing()) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void save();
    }
  };

  const edited = note.editedAt && (
    <span className="badge" data-testid="note-edited">
      {t('notes.edit.edited', { time: formatDateTime(note.editedAt, i18n.language) })}
    </span>
  );
  const changed = redactCardNumbers(draft.text).trim() !== note.body;

  return (
    <div className="note-text" data-testid="note-text-view" data-note-id={note.id} data-version={note.version}>
      {!editing && (
        <span ref={text} tabIndex={-1} data-testid="note-body">
          {note.body}
        </span>
      )}{' '}
      {badge} {edited}
      {savedNotice && !editing && (
        <span role="status" className="note" data-testid="note-edit-saved">
          {' '}
          {t('notes.edit.saved')}
        </span>
      )}
      {offered && !editing && (
        <span className="note-edit-offer">
          {' '}
          <button ref={editButton} type="button" className="secondary" data-testid="note-edit" disabled={!may.editable} aria-describedby={hintId} onClick={start}>
            {t('notes.edit.edit')}
          </button>{' '}
          <span id={hintId} className="note" data-testid="note-edit-hint" data-reason={may.editable ? 'editable' : may.reason}>
            {hint}
          </span>
        </span>
      )}
      {editing && (
        <div className="note-editor" data-testid="note-editor">
          <label htmlFor={`${id}-text`} className="sr-only">
            {t('notes.edit.label')}
          </label>
          <textarea
            id={`${id}-text`}
            data-testid="note-edit-text"
            rows={4}
            maxLength={4000}
            {...draft.inputProps}
            onKeyDown={onKeyDown}
            aria-describedby={`${id}-keys ${hintId}${refusal ? ` ${id}-error` : ''}`}
            aria-invalid={refusal !== null || undefined}
          />
          <p className="note">
            <span id={`${id}-keys`}>{t('notes.edit.keys')}</span>{' '}
            {hint && (
              <span id={hintId} data-testid="note-edit-hint">
                {hint}
              </span>
            )}
          </p>
          <p role="status" className="note" data-testid="note-edit-masked">
            {draft.masked ? t('notes.cardMasked') : ''}
          </p>
          {refusal && (
            <p role="alert" id={`${id}-error`} className="error" data-testid="note-edit-error" data-code={refusal}>
              {t(`notes.edit.refused.${refusal}`)}
              {refusal === 'conflict' && (
                <span className="note-edit-current" data-testid="note-edit-current">
                  {' '}
                  {t('notes.edit.current', { text: note.body })}
                </span>
              )}
            </p>
          )}
          <div className="note-editor-actions">
            <button type="button" data-testid="note-edit-save" disabled={saving || !draft.text.trim() || !changed} aria-busy={saving} onClick={() => void save()}>
              {saving ? t('notes.edit.saving') : t('notes.edit.save')}
            </button>{' '}
            <button type="button" className="secondary" data-testid="note-edit-cancel" onClick={close}>
              {t('notes.edit.cancel')}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
