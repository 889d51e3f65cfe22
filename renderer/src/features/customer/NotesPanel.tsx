import { useLayoutEffect, useRef, useState, type ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useCustomerStore } from '../../stores/customer';
import { phoneActions } from '../phone/phone-service';
import { saveNote } from './crm-service';
import { useFocusCall } from './CustomerCard';
import { redactAsTyped } from './redacting-input';

/** Notes (redacted as typed), disposition and the end of wrap-up for the call in focus. */
export function NotesPanel() {
  const { t } = useTranslation();
  const focus = useFocusCall();
  const pop = useCustomerStore((s) => (focus ? s.pops[focus.sipCallId] : undefined));
  const notes = useCustomerStore((s) => s.notes);
  const wrapUp = useCustomerStore((s) => s.wrapUp);
  const [text, setText] = useState('');
  const area = useRef<HTMLTextAreaElement>(null);
  const caret = useRef<{ start: number; end: number } | null>(null);
  // Restore the caret in the same commit as the redacted value (before the next keystroke).
  useLayoutEffect(() => {
    if (!caret.current || !area.current) return;
    area.current.setSelectionRange(caret.current.start, caret.current.end);
    caret.current = null;
  }, [text]);
  if (!focus) return null;

  const onChange = (e: ChangeEvent<HTMLTextAreaElement>) => {
    const el = e.target;
    const r = redactAsTyped(el.value, el.selectionStart, el.selectionEnd);
    // Same length: the caret stays where the operator is typing.
    if (r.text !== el.value) caret.current = { start: r.selectionStart, end: r.selectionEnd };
    setText(r.text);
  };
  const save = () => {
    if (saveNote(focus.sipCallId, text)) setText('');
  };
  const dispositions = pop?.status === 'ready' ? (pop.pop.campaign?.dispositions ?? []) : [];
  const mine = notes.filter((n) => n.sipCallId === focus.sipCallId);
  const inWrapUp = wrapUp?.sipCallId === focus.sipCallId;

  return (
    <section className="card notes sensitive" data-testid="notes-panel" aria-labelledby="notes-h">
      <h2 id="notes-h">{t('notes.heading')}</h2>
      <label htmlFor="note-text" className="sr-only">
        {t('notes.label')}
      </label>
      <textarea id="note-text" ref={area} data-testid="note-text" rows={4} maxLength={4000} value={text} onChange={onChange} placeholder={t('notes.placeholder')} />
      <button type="button" data-testid="note-save" disabled={!text.trim()} onClick={save}>
        {t('notes.save')}
      </button>
      <ul data-testid="note-list">
        {mine.map((n) => (
          <li key={n.clientNoteId} data-testid="note-item" data-status={n.status}>
            {n.body} <span className="badge">{t(`notes.${n.status}`)}</span>
          </li>
        ))}
      </ul>
      {inWrapUp && wrapUp && (
        <div className="wrapup" data-testid="wrapup">
          <label htmlFor="disposition">{t('notes.disposition')}</label>
          <select
            id="disposition"
            data-testid="disposition"
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
          <button type="button" data-testid="finish-wrapup" disabled={dispositions.length > 0 && !wrapUp.disposition} onClick={() => phoneActions.finishWrapUp()}>
            {t('notes.finishWrapUp')}
          </button>
        </div>
      )}
    </section>
  );
}
