// What a control carries to be a shortcut's target (features/shell/Shortcuts.tsx presses the
// last usable element with data-shortcut="<action>") and to tell assistive technology its key.
import { shortcutAccelerator, type ShortcutAction } from '../../../shared/rules/shortcuts';

export function shortcutProps(action: ShortcutAction): { 'data-shortcut': ShortcutAction; 'aria-keyshortcuts': string } {
  return { 'data-shortcut': action, 'aria-keyshortcuts': shortcutAccelerator(action) };
}

/**
 * A headset's button asks the shell to run a shortcut action (features/phone/HeadsetControl.tsx
 * dispatches it, features/shell/Shortcuts.tsx runs it like a key press): a window event, so the
 * phone feature does not import the shell.
 */
export const HEADSET_ACTION_EVENT = 'koe:headset-action';
export function requestShortcutAction(action: ShortcutAction): void {
  window.dispatchEvent(new CustomEvent(HEADSET_ACTION_EVENT, { detail: { action } }));
}
