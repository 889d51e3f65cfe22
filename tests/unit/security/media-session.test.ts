import { describe, expect, it } from 'vitest';
import { disableDiskCache, NO_DISK_CACHE_SWITCH, secureMediaSession, type MediaSessionLike } from '../../../main/security/media-session';

function fakeCommandLine(initial: string[] = []) {
  const switches = [...initial];
  return { switches, appendSwitch: (n: string) => void switches.push(n), hasSwitch: (n: string) => switches.includes(n) };
}

function fakeSession(clear: () => Promise<void> = async () => undefined) {
  const listeners: Record<string, ((e: { preventDefault(): void }, item: unknown) => void)[]> = {};
  let cleared = 0;
  const ses: MediaSessionLike = {
    clearCache: async () => {
      cleared++;
      await clear();
    },
    on: (event, l) => (listeners[event] ??= []).push(l),
  };
  return { ses, listeners, cleared: () => cleared };
}

const logger = () => {
  const lines: string[] = [];
  return { lines, error: (m: string, f?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`) };
};

describe('the media session keeps nothing on disk (main/security/media-session.ts)', () => {
  it('appends disable-http-cache once, before ready (Electron then creates the default session with cache: false)', () => {
    const cl = fakeCommandLine();
    disableDiskCache(cl);
    disableDiskCache(cl);
    expect(cl.switches).toEqual([NO_DISK_CACHE_SWITCH]);
    expect(NO_DISK_CACHE_SWITCH).toBe('disable-http-cache');
  });

  it('clears what an older version cached and refuses every download', async () => {
    const f = fakeSession();
    const log = logger();
    await secureMediaSession(f.ses, log);
    expect(f.cleared()).toBe(1);
    expect(f.listeners['will-download']).toHaveLength(1);
    let prevented = false;
    f.listeners['will-download']![0]!({ preventDefault: () => void (prevented = true) }, {});
    expect(prevented).toBe(true);
    expect(log.lines.join('\n')).toContain('download was refused');
  });

  it('a failing clearCache is logged (by name only) and does not stop the start; downloads are still refused', async () => {
    const f = fakeSession(async () => {
      throw new TypeError('disk /home/someone/secret');
    });
    const log = logger();
    await secureMediaSession(f.ses, log);
    expect(log.lines).toEqual([expect.stringContaining('clearing the HTTP cache failed')]);
    expect(log.lines[0]).toContain('TypeError');
    expect(log.lines[0]).not.toContain('/home/someone');
    expect(f.listeners['will-download']).toHaveLength(1);
  });

  it('is wired in main/index.ts: the switch before whenReady, the session step before the window loads', async () => {
    const src = (await import('node:fs')).readFileSync(new URL('../../../main/index.ts', import.meta.url), 'utf8');
    const sw = src.indexOf('disableDiskCache(app.commandLine)');
    const ready = src.indexOf('await app.whenReady()');
    const secure = src.indexOf('await secureMediaSession(ses, log)');
    const load = src.indexOf('win.loadURL(');
    expect(sw).toBeGreaterThan(0);
    expect(sw).toBeLessThan(ready);
    expect(secure).toBeGreaterThan(ready);
    expect(secure).toBeLessThan(load);
  });
});
