import { originOf } from './sender';

export interface CspInput {
  /** Origins the renderer may connect to besides its own (gateway HTTPS, gateway WSS, SIP WSS). */
  connect: string[];
  /** Dev host only: the loopback WebSocket origin of the IPC bridge. */
  extraConnect?: string[];
}

/** Turns https://x into [https://x, wss://x] style pairs so a gateway's WebSocket is covered too. */
function withSocketTwin(url: string): string[] {
  const origin = originOf(url);
  if (!origin) return [];
  if (origin.startsWith('https://')) return [origin, `wss://${origin.slice(8)}`];
  if (origin.startsWith('http://')) return [origin, `ws://${origin.slice(7)}`];
  return [origin];
}

/**
 * The renderer's Content-Security-Policy: scripts and styles only from the app itself, no
 * inline script, no eval, no plugins, no framing, no forms; network only to the gateway and
 * the SIP server named by policy; media from WebRTC streams.
 */
export function contentSecurityPolicy({ connect, extraConnect = [] }: CspInput): string {
  const connectSrc = [...new Set(["'self'", ...connect.flatMap(withSocketTwin), ...extraConnect])];
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'media-src': ["'self'", 'blob:', 'mediastream:'],
    'connect-src': connectSrc,
    'worker-src': ["'none'"],
    'object-src': ["'none'"],
    'frame-src': ["'none'"],
    'child-src': ["'none'"],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
  };
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ');
}
