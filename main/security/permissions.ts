import { originOf } from './sender';

/**
 * Electron permission names Koe grants, and only to its own origin. `media` is granted only
 * for audio: an operator's softphone needs the microphone, never the camera or the screen.
 */
const GRANTED = new Set(['media', 'notifications']);

export interface PermissionRequest {
  permission: string;
  requestingUrl: string | null | undefined;
  /** For `media`: what is asked for (Electron's details.mediaTypes). */
  mediaTypes?: readonly string[];
  isMainFrame?: boolean;
}

export function permissionDecision(appOrigin: string, req: PermissionRequest): boolean {
  if (!GRANTED.has(req.permission)) return false;
  if (originOf(req.requestingUrl) !== appOrigin) return false;
  if (req.isMainFrame === false) return false;
  if (req.permission === 'media') {
    const types = req.mediaTypes ?? [];
    return types.length > 0 && types.every((t) => t === 'audio');
  }
  return true;
}

/** Permission checks (synchronous `has permission?` queries) follow the same table. */
export function permissionCheck(appOrigin: string, permission: string, requestingOrigin: string, mediaType?: string): boolean {
  if (permission === 'media') return mediaType === 'audio' && originOf(requestingOrigin) === appOrigin;
  return GRANTED.has(permission) && originOf(requestingOrigin) === appOrigin;
}
