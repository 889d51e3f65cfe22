import { useLayoutEffect, useRef, useState, type ChangeEvent, type CompositionEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAgentStore, type Availability } from '../phone/agent-store';
import { useCustomerStore } from './store';
import { useFocusCall } from './CustomerCard';
import { useCustomerRecords } from './CustomerSession';
import { redactAsTyped, textForInput, type CompositionState } from './redacting-input';
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
  const [text, setText] = useState('');
  const area = useRef<HTMLTextAreaElement>(null);
  const caret = useRef<{ start: number; end: number } | null>(null);
  const composition = useRef<CompositionState>({ composing: false });
  const [masked, setMasked] = useState(false);
  // Restore the caret in the same commit as the redacted value (before the next keystroke).
  useLayoutEffect(() => {
    if (!caret.current || !area.current) return;
    area.current.setSelectionRange(caret.current.start, caret.current.end);
    caret.current = null;
  }, [text]);
  if (!focus) return null;

  const show = (r: { text: string; selectionStart: number | null; selectionEnd: number | null; changed: boolean }, value: string) => {
    // Same length (or shorter by the astral digits masked): the caret stays where the operator is typing.
    if (r.text !== value && r.selectionStart !== null && r.selectionEnd !== null) caret.current = { start: r.selectionStart, end: r.selectionEnd };
    if (r.changed) setMasked(true);
    setText(r.text);
  };
  const onChange = (e: ChangeEvent<HTMLTextAreaElement>) => {
    const el = e.target;
    const native = e.nativeEvent as Event & { isComposing?: boolean };
    show(textForInput(composition.current, el.value, el.selectionStart, el.selectionEnd, native.isComposing === true), el.value);
  };
  const onCompositionStart = () => {
    composition.current.composing = true;
  };
  // The IME committed its text (a whole card number can arrive here at once): redact it now.
  const onCompositionEnd = (e: CompositionEvent<HTMLTextAreaElement>) => {
    composition.current.composing = false;
    const el = e.currentTarget;
    show(redactAsTyped(el.value, el.selectionStart, el.selectionEnd), el.value);
  };
  const save = () => {
    // Whatever the textarea holds (even mid-composition), saveNote redacts it before it is queued.
    composition.current.composing = false;
    if (records.saveNote(focus.sipCallId, text)) {
      setText('');
      setMasked(false);
    }
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
        ref={area}
        data-testid="note-text"
        {...shortcutProps('notes')}
        rows={4}
        maxLength={4000}
        value={text}
        onChange={onChange}
        onCompositionStart={onCompositionStart}
        onCompositionEnd={onCompositionEnd}
        placeholder={t('notes.placeholder')}
      />
      <p role="status" className="note" data-testid="note-masked">
        {masked ? t('notes.cardMasked') : ''}
      </p>
      <button type="button" data-testid="note-save" disabled={!text.trim()} onClick={save}>
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
            {n.body} <span className="badge">{t(`notes.${n.status}`)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
