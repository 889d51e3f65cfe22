import type { Logger } from '../ipc/dispatcher';
import { GLOBAL_SHORTCUT_ACTIONS, shortcutAccelerator, type ShortcutAction } from '../../shared/rules/shortcuts';
import { logFailure } from '../best-effort';

/** The part of Electron's globalShortcut this service uses (the dev host has none: a browser cannot). */
export interface GlobalShortcutLike {
  register(accelerator: string, callback: () => void): boolean;
  unregister(accelerator: string): void;
}

/**
 * Answer and hang up from anywhere on the PC (issue 18 item 3), "where the OS allows": while a
 * user is signed in and the policy's `globalShortcuts` is on, main registers Ctrl+Alt+A and
 * Ctrl+Alt+E with the OS; a press is handed to the renderer (`shortcut:pressed`), which presses
 * the same control as the window's key would. Signed out or turned off: unregistered, so
 * the keys belong to the other applications again. A key another application holds is not
 * taken from it: the failure is logged and the in-window key still works.
 */
export class GlobalShortcutService {
  private readonly held = new Set<ShortcutAction>();
  private readonly listeners = new Set<(action: ShortcutAction) => void>();

  constructor(
    private readonly os: GlobalShortcutLike | null,
    private readonly wanted: () => boolean,
    private readonly log: Logger,
  ) {}

  /** Registers or unregisters to match `wanted()`; call on every session or policy change. */
  sync(): void {
    const want = this.os !== null && this.wanted();
    for (const action of GLOBAL_SHORTCUT_ACTIONS) {
      if (want && !this.held.has(action)) this.register(action);
      if (!want && this.held.has(action)) this.unregister(action);
    }
  }

  /** What main holds now (tests, the About view). */
  registered(): ShortcutAction[] {
    return GLOBAL_SHORTCUT_ACTIONS.filter((a) => this.held.has(a));
  }

  onPressed(listener: (action: ShortcutAction) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Unregisters everything (quit). */
  stop(): void {
    for (const action of [...this.held]) this.unregister(action);
  }

  private register(action: ShortcutAction): void {
    const accelerator = shortcutAccelerator(action);
    let ok = false;
    try {
      ok = this.os!.register(accelerator, () => {
        for (const l of this.listeners) l(action);
      });
    } catch (err) {
      logFailure(this.log, 'registering a global shortcut', err, { accelerator });
      return;
    }
    if (ok) this.held.add(action);
    else this.log.warn('a global shortcut is held by another application: only the in-window key works', { accelerator });
  }

  private unregister(action: ShortcutAction): void {
    this.held.delete(action);
    try {
      this.os!.unregister(shortcutAccelerator(action));
    } catch (err) {
      logFailure(this.log, 'unregistering a global shortcut', err, { accelerator: shortcutAccelerator(action) });
    }
  }
}
