import type { Logger } from '../ipc/dispatcher';
import type { AgentSnapshot, Language } from '../../shared/ipc/contract';
import { logFailure } from '../best-effort';
import { trayIcon, type TrayIconImage, type TrayState } from './tray-icons';
import { bringToFront, type FrontWindowLike } from './window-front';

/** One item of the tray's menu (Electron's MenuItemConstructorOptions, the part used here). */
export interface TrayMenuItem {
  label: string;
  enabled: boolean;
  click?: () => void;
}

/** The part of Electron's Tray this service uses (main/index.ts adapts nativeImage and Menu). */
export interface TrayLike {
  setImage(icon: TrayIconImage): void;
  setToolTip(text: string): void;
  setContextMenu(items: TrayMenuItem[]): void;
  onClick(listener: () => void): void;
  destroy(): void;
}
/** Makes the tray icon (Electron's `new Tray(image)`); null: the OS or the dev host has none. */
export type TrayFactory = (icon: TrayIconImage) => TrayLike;

/** The part of the BrowserWindow the tray brings back. */
export type TrayWindowLike = FrontWindowLike;

const TEXT: Record<Language, { state: Record<TrayState, string>; link: Partial<Record<AgentSnapshot['link'], string>>; show: string }> = {
  ja: {
    state: { offline: 'オフライン', not_ready: '受付不可', ready: '受付可', break: '休憩', ringing: '着信中', on_call: '通話中', wrap_up: '後処理' },
    link: { connecting: '接続中', unreachable: '再接続しています' },
    show: 'Koe を表示',
  },
  en: {
    state: { offline: 'Offline', not_ready: 'Not ready', ready: 'Ready', break: 'Break', ringing: 'Ringing', on_call: 'On a call', wrap_up: 'Wrap-up' },
    link: { connecting: 'connecting', unreachable: 'reconnecting' },
    show: 'Show Koe',
  },
};

/**
 * The tray icon (issue 18 item 7): the operator's agent state from main's own snapshot (the
 * gateway's model: main never makes one up), as an icon whose colour and shape differ per state
 * (tray-icons.ts) and as words in the tooltip and the menu's first line, in the UI language;
 * "reconnecting" while the gateway link is down. A click (or the menu's "Show Koe") brings the
 * window back. It shows the state only, never a caller; when the session ends it goes back to
 * offline. No tray on the OS (or a tray that fails): logged once, Koe works without it.
 */
export class TrayService {
  private tray: TrayLike | null = null;
  private window: TrayWindowLike | null = null;
  private snapshot: AgentSnapshot | null = null;
  private shown: { state: TrayState; text: string } | null = null;
  /** The state whose icon the tray has (set at creation and by each setImage). */
  private imageOf: TrayState | null = null;

  constructor(
    private readonly make: TrayFactory | null,
    private readonly language: () => Language,
    private readonly log: Logger,
  ) {}

  /** Creates the tray icon for the app's window (made after the services). */
  attach(window: TrayWindowLike): void {
    this.window = window;
    if (!this.make || this.tray) return;
    try {
      this.imageOf = this.state();
      this.tray = this.make(trayIcon(this.imageOf));
      this.tray.onClick(() => this.bringBack());
    } catch (err) {
      logFailure(this.log, 'creating the tray icon', err);
      this.tray = null;
      return;
    }
    this.render();
  }

  /** Main's agent snapshot changed. */
  agent(snapshot: AgentSnapshot | null): void {
    this.snapshot = snapshot;
    this.render();
  }

  /** The UI language changed: the words follow. */
  languageChanged(): void {
    this.shown = null;
    this.render();
  }

  /** The session ended: the tray says offline. */
  reset(): void {
    this.agent(null);
  }

  destroy(): void {
    try {
      this.tray?.destroy();
    } catch (err) {
      logFailure(this.log, 'removing the tray icon', err);
    }
    this.tray = null;
  }

  /** What the tray shows now (null: no tray). */
  current(): { state: TrayState; text: string } | null {
    return this.tray ? this.shown : null;
  }

  private state(): TrayState {
    return this.snapshot?.view?.agent ?? 'offline';
  }

  private render(): void {
    if (!this.tray) return;
    const text = TEXT[this.language()];
    const state = this.state();
    const link = this.snapshot && this.snapshot.view ? text.link[this.snapshot.link] : undefined;
    const words = `${text.state[state]}${link ? ` (${link})` : ''}`;
    const tooltip = `Koe — ${words}`;
    if (this.shown && this.shown.state === state && this.shown.text === tooltip) return;
    try {
      if (this.imageOf !== state) {
        this.tray.setImage(trayIcon(state));
        this.imageOf = state;
      }
      this.tray.setToolTip(tooltip);
      this.tray.setContextMenu([
        { label: words, enabled: false },
        { label: text.show, enabled: true, click: () => this.bringBack() },
      ]);
      this.shown = { state, text: tooltip };
    } catch (err) {
      logFailure(this.log, 'updating the tray icon', err);
    }
  }

  private bringBack(): void {
    try {
      bringToFront(this.window);
    } catch (err) {
      logFailure(this.log, 'bringing the window back from the tray', err);
    }
  }
}
