import { redactCardNumbers } from '../../../../shared/rules/card-redaction';

/**
 * Redaction as the operator types: the textarea always shows the redacted text. Redaction
 * replaces digits one for one (a digit becomes "*"), so the length never changes and the
 * caret stays where it was.
 */
export function redactAsTyped(value: string, selectionStart: number | null, selectionEnd: number | null) {
  const text = redactCardNumbers(value);
  return { text, selectionStart: selectionStart ?? text.length, selectionEnd: selectionEnd ?? selectionStart ?? text.length };
}
