import { describe, expect, it } from 'vitest';
import { GLOBAL_SHORTCUT_ACTIONS, SHORTCUT_ACTIONS, shortcutAccelerator, shortcutLabel, shortcutOf, type KeyLike } from '../../../shared/rules/shortcuts';

const key = (code: string, over: Partial<KeyLike> = {}): KeyLike => ({ code, ctrlKey: true, altKey: true, shiftKey: false, metaKey: false, ...over });

describe('the shortcut table (shared/rules/shortcuts.ts)', () => {
  it('every action has its own key, label and accelerator', () => {
    const labels = SHORTCUT_ACTIONS.map(shortcutLabel);
    expect(new Set(labels).size).toBe(SHORTCUT_ACTIONS.length);
    expect(shortcutLabel('answer')).toBe('Ctrl+Alt+A');
    expect(shortcutAccelerator('hangup')).toBe('Control+Alt+E');
    expect(shortcutAccelerator('help')).toBe('Control+Alt+/');
    for (const a of SHORTCUT_ACTIONS) expect(shortcutAccelerator(a)).toMatch(/^Control\+Alt\+[A-Z/]$/);
    expect(GLOBAL_SHORTCUT_ACTIONS).toEqual(['answer', 'hangup']);
  });

  it('Ctrl+Alt+<key> gives its action, on the physical key', () => {
    for (const a of SHORTCUT_ACTIONS) {
      const code = a === 'help' ? 'Slash' : `Key${shortcutLabel(a).slice(-1)}`;
      expect(shortcutOf(key(code))).toBe(a);
    }
  });

  it('anything else is typing, not a shortcut: no Ctrl or no Alt, Shift, Meta, AltGr, a held key, an IME composition, an unbound key', () => {
    expect(shortcutOf(key('KeyA', { ctrlKey: false }))).toBeNull();
    expect(shortcutOf(key('KeyA', { altKey: false }))).toBeNull();
    expect(shortcutOf(key('KeyA', { shiftKey: true }))).toBeNull();
    expect(shortcutOf(key('KeyA', { metaKey: true }))).toBeNull();
    expect(shortcutOf(key('KeyA', { altGraph: true }))).toBeNull();
    expect(shortcutOf(key('KeyA', { repeat: true }))).toBeNull();
    expect(shortcutOf(key('KeyA', { isComposing: true }))).toBeNull();
    expect(shortcutOf(key('KeyQ'))).toBeNull();
    expect(shortcutOf(key('Digit1'))).toBeNull();
    expect(shortcutOf(key(''))).toBeNull();
  });

  it('random key events: a shortcut only for exactly Ctrl+Alt and a bound key', () => {
    const codes = ['KeyA', 'KeyE', 'KeyH', 'KeyM', 'KeyR', 'KeyN', 'KeyO', 'KeyT', 'KeyD', 'KeyS', 'Slash', 'KeyZ', 'Enter', 'Space', 'F5', 'Backquote', 'IntlYen'];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5_000; i++) {
      const e: KeyLike = { code: codes[Math.floor(rnd() * codes.length)]!, ctrlKey: rnd() < 0.6, altKey: rnd() < 0.6, shiftKey: rnd() < 0.2, metaKey: rnd() < 0.1, repeat: rnd() < 0.1, isComposing: rnd() < 0.1, altGraph: rnd() < 0.1 };
      const exact = e.ctrlKey && e.altKey && !e.shiftKey && !e.metaKey && !e.repeat && !e.isComposing && !e.altGraph;
      const got = shortcutOf(e);
      if (!exact || ['KeyZ', 'Enter', 'Space', 'F5', 'Backquote', 'IntlYen'].includes(e.code)) expect(got).toBeNull();
      else expect(got).not.toBeNull();
    }
  });
});
