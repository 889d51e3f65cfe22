/** What the IPC layer knows about the frame that sent a message. */
export interface SenderInfo {
  /** URL of the sending frame (Electron: `event.senderFrame.url`; dev host: the socket's Origin). */
  url: string | null | undefined;
  /** True only for the top-level frame of the app's own window. */
  isMainFrame: boolean;
}

/** Parses an origin string; `null` for anything that is not a URL with an origin. */
export function originOf(url: string | null | undefined): string | null {
  if (!url) return null;
  if (!URL.canParse(url)) return null; // not a URL: no origin (and no exception to drop)
  const u = new URL(url);
  // Custom schemes (koe://app) have an opaque `origin` of "null" in WHATWG URL: build it.
  if (u.origin !== 'null') return u.origin;
  return u.host ? `${u.protocol}//${u.host}` : null;
}

/** IPC is accepted only from the app's own origin and from its main frame (no iframes, no other windows' content). */
export function isTrustedSender(sender: SenderInfo, appOrigin: string): boolean {
  return sender.isMainFrame === true && originOf(sender.url) === appOrigin;
}
