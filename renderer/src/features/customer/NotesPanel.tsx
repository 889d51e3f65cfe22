import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAgentStore, type Availability } from '../phone/agent-store';
import { useCustomerStore } from './store';
import { useFocusCall } from './CustomerCard';
import { useCustomerRecords } from './CustomerSession';
import { useRedactingText } from './use-redacting-text';
import { NoteText } from './NoteEdit';
import { shortcutProps } from '../../app/shortcut-props';
import { finishWrapUp } from './wrap-up';
import { WrapUpCountdown } from '../phone/WrapUpCountdown';

/**
 * Notes (redacted as typed, and at the commit of an IME composition), disposition and the end
 * of wrap-up for the call in focus. In wrap-up the disposition comes first (no scrolling to
 * find it) with the time left (the agent panel says what was saved once
 * the gateway accepts the end of the wrap-up: this panel goes with the call).
 */
export function NotesPanel() {
  const { t } = useTranslation();
  const focus = useFocusCall();
  const records = useCustomerRecords();
  const pop = useCustomerStore((s) => (focus ? s.pops[focus.sipCallId] : undefined));
  const notes = useCustomerStore((s) => s.notes);
  const wrapUp = useCustomerStore((s) => s.wrapUp);
  const unsent = useCustomerStore((s) => s.unsent);
  const unreadable = useCustomerStore((s) => s.unreadable);
  const wrapUpCallId = useAgentStore((s) => s.view?.wrapUp?.callId ?? null);
  const [next, setNext] = useState<Availability>('ready');
  const note = useRedactingText();
  if (!focus) return null;

  const save = () => {
    // Whatever the textarea holds (even mid-composition), saveNote redacts it before it is queued.
    note.endComposition();
    if (records.saveNote(focus.sipCallId, note.text)) note.reset();
  };
  const dispositions = pop?.status === 'ready' ? (pop.pop.campaign?.dispositions ?? []) : [];
  const mine = notes.filter((n) => n.sipCallId === focus.sipCallId);
  // Open iff the gateway has this call in wrap-up (its timer closes it; so does the operator's finish).
  const inWrapUp = wrapUpCallId === focus.sipCallId && wrapUp?.sipCallId === focus.sipCallId;

  return (
    <section className="card notes sensitive" data-testid="notes-panel" aria-labelledby="notes-h">
      <h2 id="notes-h">{t('notes.heading')}</h2>
      {inWrapUp && wrapUp && (
        <div className="wrapup" data-testid="wrapup">
          <WrapUpCountdown testId="notes-wrapup-countdown" />
          <label htmlFor="disposition">{t('notes.disposition')}</label>
          <select
            id="disposition"
            data-testid="disposition"
            data-focus-home="3"
            value={wrapUp.disposition ?? ''}
            onChange={(e) => useCustomerStore.setState({ wrapUp: { ...wrapUp, disposition: e.target.value || null } })}
          >
            <option value="">{t('notes.chooseDisposition')}</option>
            {dispositions.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
          <label htmlFor="wrapup-next">{t('notes.next')}</label>
          <select id="wrapup-next" data-testid="wrapup-next" value={next} onChange={(e) => setNext(e.target.value as Availability)}>
            {(['ready', 'not_ready', 'break'] as const).map((n) => (
              <option key={n} value={n}>
                {t(`notes.nextState.${n}`)}
              </option>
            ))}
          </select>
          <button
            type="button"
            data-testid="finish-wrapup"
            data-status={wrapUp.status}
            aria-busy={wrapUp.status === 'saving'}
            disabled={(dispositions.length > 0 && !wrapUp.disposition) || wrapUp.status === 'saving'}
            onClick={() => void finishWrapUp(records, next)}
          >
            {wrapUp.status === 'saving' ? t('notes.finishingWrapUp') : t('notes.finishWrapUp')}
          </button>
        </div>
      )}
      <label htmlFor="note-text" className="sr-only">
        {t('notes.label')}
      </label>
      <textarea
        id="note-text"
        data-testid="note-text"
        {...shortcutProps('notes')}
        rows={4}
        maxLength={4000}
        {...note.inputProps}
        placeholder={t('notes.placeholder')}
      />
      <p role="status" className="note" data-testid="note-masked">
        {note.masked ? t('notes.cardMasked') : ''}
      </p>
      <button type="button" data-testid="note-save" disabled={!note.text.trim()} onClick={save}>
        {t('notes.save')}
      </button>
      {unsent > 0 && (
        <p className="note" data-testid="outbox-pending" data-count={unsent}>
          {t('notes.outboxPending', { count: unsent })}
        </p>
      )}
      {unreadable > 0 && (
        <p className="note" role="alert" data-testid="outbox-unreadable">
          {t('notes.outboxUnreadable', { count: unreadable })}
        </p>
      )}
      <ul data-testid="note-list">
        {mine.map((n) => (
          <li key={n.clientNoteId} data-testid="note-item" data-status={n.status}>
            {n.status === 'saved' && n.stored ? (
              // saved: its text with "Edit" while the org's policy allows it (NoteEdit.tsx)
              <NoteText
                note={{ ...n.stored, body: n.body }}
                badge={<span className="badge">{t('notes.saved')}</span>}
                onChanged={(view) => records.noteChanged(n.clientNoteId, view)}
              />
            ) : (
              <>
                {n.body} <span className="badge">{t(`notes.${n.status}`)}</span>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
