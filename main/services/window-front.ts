/** The part of a BrowserWindow that can be brought to the front. */
export interface FrontWindowLike {
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
}

/** Brings the app's window back in front (restored if minimised); nothing if it is gone. */
export function bringToFront(w: FrontWindowLike | null): void {
  if (!w || w.isDestroyed()) return;
  if (w.isMinimized()) w.restore();
  w.show();
  w.focus();
}
