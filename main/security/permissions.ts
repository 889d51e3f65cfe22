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
  // WebHID at all (which device: hidDeviceAllowed)
  if (permission === 'hid') return originOf(requestingOrigin) === appOrigin;
  return GRANTED.has(permission) && originOf(requestingOrigin) === appOrigin;
}

/**
 * WebHID (issue 18 item 8): Koe's own origin, main frame, may use a HID device only when its USB
 * vendor is one of the policy's headset vendors (`headsetVendorIds`); nothing else ever gets a
 * HID device (a keyboard, a security key). Electron asks through setDevicePermissionHandler.
 */
export function hidDeviceAllowed(appOrigin: string, req: { deviceType: string; origin: string | null | undefined; vendorId: number | undefined }, vendors: readonly number[]): boolean {
  return req.deviceType === 'hid' && originOf(req.origin) === appOrigin && req.vendorId !== undefined && vendors.includes(req.vendorId);
}

/**
 * What main answers `navigator.hid.requestDevice` with (Electron's select-hid-device event, no
 * chooser of its own): the first offered device of an allowed vendor, none otherwise.
 */
export function chooseHidDevice(appOrigin: string, frameUrl: string | null | undefined, devices: readonly { deviceId: string; vendorId: number }[], vendors: readonly number[]): string | undefined {
  if (originOf(frameUrl) !== appOrigin) return undefined;
  return devices.find((d) => vendors.includes(d.vendorId))?.deviceId;
}
