// The session the renderer plays recordings in keeps nothing on disk (docs/telephony.md
// "Recordings in the app"). The renderer fetches recording ranges in its own session (the
// default one, as for every gateway call); that session is made without an HTTP disk cache:
// Electron reads the `disable-http-cache` switch when it creates a session (the same as
// session.fromPartition(p, { cache: false })), so it must be appended before app ready. At
// start the cache an older version may have left is cleared, and no download is ever
// accepted (there is no download action; a page that tried would be refused here too).
// Belt and braces around the first line of defence: the player fetches with cache "no-store"
// and the gateway answers Cache-Control: no-store.

/** The slice of app.commandLine used. */
export interface SwitchesLike {
  appendSwitch(name: string, value?: string): void;
  hasSwitch(name: string): boolean;
}

/** The slice of Electron's Session used. */
export interface MediaSessionLike {
  clearCache(): Promise<void>;
  on(event: 'will-download', listener: (event: { preventDefault(): void }, item: unknown) => void): unknown;
}

export const NO_DISK_CACHE_SWITCH = 'disable-http-cache';

/** Before app ready: every session created from here on has no HTTP disk cache. */
export function disableDiskCache(commandLine: SwitchesLike): void {
  if (!commandLine.hasSwitch(NO_DISK_CACHE_SWITCH)) commandLine.appendSwitch(NO_DISK_CACHE_SWITCH);
}

/** After app ready, before the window loads: clear what an older version cached; refuse every download. */
export async function secureMediaSession(ses: MediaSessionLike, log: { error(msg: string, meta?: Record<string, unknown>): void }): Promise<void> {
  ses.on('will-download', (event) => {
    event.preventDefault();
    log.error('a download was refused (Koe never saves media)');
  });
  try {
    await ses.clearCache();
  } catch (err) {
    // the session works without it (no cache is written from now on); say so
    log.error('clearing the HTTP cache failed', { error: err instanceof Error ? err.name : typeof err });
  }
}
