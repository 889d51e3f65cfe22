import { useLayoutEffect, useRef, useState, type ChangeEvent, type CompositionEvent } from 'react';
import { redactAsTyped, textForInput, type CompositionState } from './redacting-input';

/**
 * A textarea's text redacted as typed and at the commit of an IME composition
 * (redacting-input.ts), with the caret kept where the operator is typing: the new note's
 * textarea and a note's editor (NoteEdit.tsx) use the same one. `masked`: a card number was
 * masked since the last reset.
 */
export function useRedactingText(initial = '') {
  const [text, setText] = useState(initial);
  const [masked, setMasked] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const caret = useRef<{ start: number; end: number } | null>(null);
  const composition = useRef<CompositionState>({ composing: false });
  // Restore the caret in the same commit as the redacted value (before the next keystroke).
  useLayoutEffect(() => {
    if (!caret.current || !area.current) return;
    area.current.setSelectionRange(caret.current.start, caret.current.end);
    caret.current = null;
  }, [text]);

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
  return {
    text,
    masked,
    area,
    /** An IME is composing now (keys such as Enter and Escape are the IME's then). */
    composing: () => composition.current.composing,
    /** Whatever the textarea holds is taken as it is (saving redacts it again): the composition is over for us. */
    endComposition: () => {
      composition.current.composing = false;
    },
    reset: (value = '') => {
      composition.current.composing = false;
      setText(value);
      setMasked(false);
    },
    inputProps: { ref: area, value: text, onChange, onCompositionStart, onCompositionEnd },
  };
}
