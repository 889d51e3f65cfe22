// The operator's keyboard shortcuts (issue 18 item 3): one table, read by the renderer (the
// window's keys, aria-keyshortcuts, the shortcuts list), by main (the global answer / hang-up
// through the OS) and by the README. Pure: no DOM, no Electron.
//
// Ctrl+Alt+<letter>, as Cisco Finesse and other agent desktops do: nothing in a text field or
// an IME types Ctrl+Alt+letter, and no browser or OS keeps it for itself (Ctrl+Shift+N, Ctrl+R,
// F5, F11, Alt+F are taken). Matched on the physical key (`code`), so the kana layout, the IME
// and Caps Lock change nothing. AltGr (Ctrl+Alt on European layouts, typing € or @) is never a
// shortcut: it reports the AltGraph modifier and is let through.

export const SHORTCUT_ACTIONS = ['answer', 'hangup', 'hold', 'mute', 'ready', 'notReady', 'notes', 'transfer', 'dial', 'raiseHand', 'help'] as const;
export type ShortcutAction = (typeof SHORTCUT_ACTIONS)[number];

/** The physical key (KeyboardEvent.code) of each action, pressed with Ctrl+Alt. */
const KEYS: Record<ShortcutAction, string> = {
  answer: 'KeyA',
  hangup: 'KeyE',
  hold: 'KeyH',
  mute: 'KeyM',
  ready: 'KeyR',
  notReady: 'KeyN',
  notes: 'KeyO',
  transfer: 'KeyT',
  dial: 'KeyD',
  // S for SOS: raise or lower the hand (asks a team lead for help; Ctrl+Alt+H is hold)
  raiseHand: 'KeyS',
  help: 'Slash',
};

/** Actions main may also register with the OS (a global shortcut), when policy allows. */
export const GLOBAL_SHORTCUT_ACTIONS: readonly ShortcutAction[] = ['answer', 'hangup'];

const keyName = (code: string) => (code === 'Slash' ? '/' : code.replace(/^Key/, ''));

/** As people read it: "Ctrl+Alt+A". */
export function shortcutLabel(action: ShortcutAction): string {
  return `Ctrl+Alt+${keyName(KEYS[action])}`;
}

/** The WAI-ARIA form for aria-keyshortcuts, and Electron's accelerator: "Control+Alt+A". */
export function shortcutAccelerator(action: ShortcutAction): string {
  return `Control+Alt+${keyName(KEYS[action])}`;
}

export interface KeyLike {
  code: string;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
  repeat?: boolean;
  isComposing?: boolean;
  /** KeyboardEvent.getModifierState('AltGraph'). */
  altGraph?: boolean;
}

const BY_CODE = new Map(Object.entries(KEYS).map(([action, code]) => [code, action as ShortcutAction]));

/**
 * The action a key press asks for, or null: exactly Ctrl+Alt+<key> (no Shift, no Meta), not
 * AltGr, not while an IME composes, not a held key's auto-repeat (a held Ctrl+Alt+A answers
 * one call, not the next one too).
 */
export function shortcutOf(e: KeyLike): ShortcutAction | null {
  if (!e.ctrlKey || !e.altKey || e.shiftKey || e.metaKey) return null;
  if (e.altGraph || e.isComposing || e.repeat) return null;
  return BY_CODE.get(e.code) ?? null;
}
