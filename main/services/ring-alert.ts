import type { Logger } from '../ipc/dispatcher';
import type { Language } from '../../shared/ipc/contract';
import { logFailure } from '../best-effort';
import { bringToFront } from './window-front';

/** The part of an Electron Notification this service uses. */
export interface NotificationLike {
  show(): void;
  close(): void;
  on(event: 'click', listener: () => void): unknown;
}
/** Makes an OS notification (Electron's `new Notification(...)`); null: the OS has none. */
export type NotificationFactory = (options: { title: string; body: string; silent: boolean }) => NotificationLike;

/** The part of the BrowserWindow this service uses. */
export interface AlertWindowLike {
  isDestroyed(): boolean;
  isFocused(): boolean;
  isVisible(): boolean;
  isMinimized(): boolean;
  flashFrame(flag: boolean): void;
  restore(): void;
  show(): void;
  focus(): void;
}

const TEXT: Record<Language, { title: string; ringing: string; ringingFrom: (caller: string) => string }> = {
  ja: {
    title: 'Koe',
    ringing: '着信があります',
    ringingFrom: (caller) => `${caller} から着信があります`,
  },
  en: {
    title: 'Koe',
    ringing: 'Incoming call',
    ringingFrom: (caller) => `Incoming call from ${caller}`,
  },
};

/**
 * A ringing call reaches the operator when Koe is not in front (issue 18 item 7): while the
 * window is minimised, hidden or unfocused, main shows an OS notification (the caller only when
 * `showsCaller()`: the org's policy; otherwise "着信があります") and flashes the taskbar / dock
 * until the ring ends; clicking the notification brings the window back. The tray icon says the
 * operator's state (tray.ts). The renderer says when a call rings and when it stops (IPC
 * `phone.ringing`).
 */
export class RingAlertService {
  private window: AlertWindowLike | null = null;
  private readonly ringing = new Map<string, NotificationLike | null>();
  private flashing = false;

  constructor(
    private readonly notify: NotificationFactory | null,
    private readonly language: () => Language,
    private readonly showsCaller: () => boolean,
    private readonly log: Logger,
  ) {}

  /** The app's window (made after the services). */
  attach(window: AlertWindowLike): void {
    this.window = window;
  }

  /** A call rings (`caller`: its name or number as the operator would see it; null: withheld). True: the operator was alerted by the OS. */
  ring(callId: string, caller: string | null): boolean {
    if (this.ringing.has(callId)) return this.ringing.get(callId) !== null;
    const w = this.window && !this.window.isDestroyed() ? this.window : null;
    if (w && w.isVisible() && !w.isMinimized() && w.isFocused()) {
      this.ringing.set(callId, null); // in front: the ringing panel is enough
      return false;
    }
    const text = TEXT[this.language()];
    let n: NotificationLike | null = null;
    if (this.notify) {
      try {
        n = this.notify({ title: text.title, body: this.showsCaller() && caller ? text.ringingFrom(caller) : text.ringing, silent: true });
        n.on('click', () => this.bringBack());
        n.show();
      } catch (err) {
        // the taskbar still flashes and the ringtone rings
        logFailure(this.log, 'showing the OS notification of a ringing call', err);
        n = null;
      }
    }
    this.ringing.set(callId, n);
    this.flash(true);
    return n !== null;
  }

  /** The call was answered, declined or ended: its notification goes; the flashing stops with the last ring. */
  stop(callId: string): void {
    if (!this.ringing.has(callId)) return;
    this.ringing.get(callId)?.close();
    this.ringing.delete(callId);
    if (this.ringing.size === 0 && this.flashing) this.flash(false);
  }

  stopAll(): void {
    for (const id of [...this.ringing.keys()]) this.stop(id);
  }

  private flash(on: boolean): void {
    this.flashing = on;
    const w = this.window;
    if (!w || w.isDestroyed()) return;
    try {
      w.flashFrame(on);
    } catch (err) {
      logFailure(this.log, 'flashing the taskbar for a ringing call', err);
    }
  }

  private bringBack(): void {
    bringToFront(this.window);
  }
}
