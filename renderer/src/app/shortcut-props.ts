// What a control carries to be a shortcut's target (features/shell/Shortcuts.tsx presses the
// last usable element with data-shortcut="<action>") and to tell assistive technology its key.
import { shortcutAccelerator, type ShortcutAction } from '../../../shared/rules/shortcuts';

export function shortcutProps(action: ShortcutAction): { 'data-shortcut': ShortcutAction; 'aria-keyshortcuts': string } {
  return { 'data-shortcut': action, 'aria-keyshortcuts': shortcutAccelerator(action) };
}
