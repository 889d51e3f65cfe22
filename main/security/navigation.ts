import { originOf } from './sender';

/** In-window navigation: only within the app's own origin (a reload, a hash route). Everything else is denied. */
export function navigationAllowed(appOrigin: string, targetUrl: string): boolean {
  return originOf(targetUrl) === appOrigin;
}

/** window.open / target=_blank: never a new Electron window. Allowed external links go to the OS browser instead. */
export function windowOpenDecision(targetUrl: string, externalAllowlist: readonly string[]): { action: 'deny'; openExternally: boolean } {
  return { action: 'deny', openExternally: externalUrlAllowed(targetUrl, externalAllowlist) };
}

/**
 * `shell.openExternal` is a classic Electron escalation path (file:, smb:, custom handlers).
 * Only https URLs whose host is exactly on the allowlist, or a subdomain of an entry written
 * as `*.example.com`, without credentials in the URL.
 */
export function externalUrlAllowed(url: string, allowlist: readonly string[]): boolean {
  // not a URL: not allowed (URL.canParse answers without an exception to drop)
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  if (u.protocol !== 'https:' || u.username || u.password) return false;
  const host = u.hostname.toLowerCase();
  return allowlist.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? host.endsWith(e.slice(1)) && host.length > e.length - 1 : host === e;
  });
}
