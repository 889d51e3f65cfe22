import { redactCardNumbersMapped } from '../../../../shared/rules/card-redaction';

/**
 * Redaction as the operator types: the textarea always shows the redacted text. Redaction
 * replaces each masked digit by one "*", so the length only changes where a digit took two
 * UTF-16 units (𝟒 and the other astral digits); the caret is moved back by those, so it stays
 * where the operator is typing.
 */
export function redactAsTyped(value: string, selectionStart: number | null, selectionEnd: number | null) {
  const { text, shrunkAt } = redactCardNumbersMapped(value);
  const map = (caret: number) => caret - shrunkAt.filter((p) => p < caret).length;
  const start = selectionStart ?? value.length;
  const end = selectionEnd ?? selectionStart ?? value.length;
  return { text, selectionStart: map(start), selectionEnd: map(end), changed: text !== value };
}

/**
 * The textarea's part in IME input. While an input method composes (compositionstart until
 * compositionend), the text being composed must stay as the IME has it (changing it cancels
 * the composition), so it is shown as typed; it is redacted at commit (compositionend) and, in
 * browsers that send the committing input event after compositionend, by that event too.
 * Nothing is sent while composing: saving redacts again whatever the textarea holds.
 */
export interface CompositionState {
  composing: boolean;
}

/** What to show for an input event: redacted, unless an IME is composing. */
export function textForInput(state: CompositionState, value: string, selectionStart: number | null, selectionEnd: number | null, nativeComposing = false) {
  if (state.composing || nativeComposing) return { text: value, selectionStart, selectionEnd, changed: false };
  return redactAsTyped(value, selectionStart, selectionEnd);
}
