import { describe, expect, it } from 'vitest';
import { chooseHidDevice, hidDeviceAllowed, permissionCheck, permissionDecision } from '../../../main/security/permissions';

const APP = 'koe://app';
const PAGE = 'koe://app/index.html';

describe('permissionDecision', () => {
  it.each([
    // [requestingUrl, permission, mediaTypes, isMainFrame, granted]
    [PAGE, 'media', ['audio'], true, true],
    [PAGE, 'media', ['audio'], undefined, true],
    [PAGE, 'notifications', undefined, true, true],
    [`${APP}/`, 'notifications', undefined, true, true],
    // the softphone needs a microphone, never a camera or the screen
    [PAGE, 'media', ['video'], true, false],
    [PAGE, 'media', ['audio', 'video'], true, false],
    [PAGE, 'media', ['video', 'audio'], true, false],
    [PAGE, 'media', [], true, false],
    [PAGE, 'media', undefined, true, false],
    [PAGE, 'media', ['screen'], true, false],
    // permissions Koe never grants
    ...[
      'geolocation',
      'clipboard-read',
      'clipboard-sanitized-write',
      'display-capture',
      'openExternal',
      'midi',
      'midiSysex',
      'hid',
      'serial',
      'usb',
      'pointerLock',
      'keyboardLock',
      'fullscreen',
      'idle-detection',
      'mediaKeySystem',
      'window-management',
      'storage-access',
      'top-level-storage-access',
      'speaker-selection',
      'unknown',
      '',
    ].map((p) => [PAGE, p, ['audio'], true, false] as const),
    // other origins, even for the granted permissions
    ['https://evil.example/', 'media', ['audio'], true, false],
    ['https://evil.example/', 'notifications', undefined, true, false],
    ['http://127.0.0.1:9999/', 'media', ['audio'], true, false],
    ['file:///opt/koe/index.html', 'media', ['audio'], true, false],
    ['koe://app.evil/index.html', 'media', ['audio'], true, false],
    ['koe://evil/app', 'notifications', undefined, true, false],
    ['kOe-other://app/', 'notifications', undefined, true, false],
    ['data:text/html,<script>', 'media', ['audio'], true, false],
    ['about:blank', 'notifications', undefined, true, false],
    [null, 'media', ['audio'], true, false],
    [undefined, 'notifications', undefined, true, false],
    ['', 'media', ['audio'], true, false],
    ['not a url', 'media', ['audio'], true, false],
    // a subframe of the app's own page
    [PAGE, 'media', ['audio'], false, false],
    [PAGE, 'notifications', undefined, false, false],
  ] as const)('%s asks for %s %j (main frame %s) -> %s', (requestingUrl, permission, mediaTypes, isMainFrame, granted) => {
    expect(
      permissionDecision(APP, {
        permission,
        requestingUrl,
        ...(mediaTypes ? { mediaTypes } : {}),
        ...(isMainFrame === undefined ? {} : { isMainFrame }),
      }),
    ).toBe(granted);
  });

  it('follows the app origin it is given (the dev host serves from 127.0.0.1)', () => {
    const dev = 'http://127.0.0.1:5173';
    expect(permissionDecision(dev, { permission: 'media', requestingUrl: `${dev}/index.html`, mediaTypes: ['audio'] })).toBe(true);
    expect(permissionDecision(dev, { permission: 'media', requestingUrl: PAGE, mediaTypes: ['audio'] })).toBe(false);
  });
});

describe('permissionCheck', () => {
  it.each([
    [APP, 'media', 'audio', true],
    [APP, 'notifications', undefined, true],
    [APP, 'media', 'video', false],
    [APP, 'media', 'unknown', false],
    [APP, 'media', undefined, false],
    [APP, 'geolocation', undefined, false],
    [APP, 'clipboard-read', undefined, false],
    [APP, 'hid', undefined, true], // USB headsets (issue 18 item 8): which device is hidDeviceAllowed's decision
    [APP, 'serial', undefined, false],
    [APP, 'usb', undefined, false],
    [APP, 'fullscreen', undefined, false],
    ['https://evil.example', 'media', 'audio', false],
    ['https://evil.example', 'notifications', undefined, false],
    ['http://127.0.0.1:9999', 'notifications', undefined, false],
    ['file:///', 'notifications', undefined, false],
    ['', 'notifications', undefined, false],
    ['garbage', 'media', 'audio', false],
  ] as const)('%s checks %s (%s) -> %s', (origin, permission, mediaType, granted) => {
    expect(permissionCheck(APP, permission, origin, mediaType)).toBe(granted);
  });
});

describe('WebHID: USB headsets of the policy vendors only (issue 18 item 8)', () => {
  const JABRA = 0x0b0e;
  const YUBICO = 0x1050; // a security key: never
  const vendors = [JABRA, 0x047f];
  it('a device is allowed for the app origin when its vendor is listed', () => {
    expect(hidDeviceAllowed(APP, { deviceType: 'hid', origin: APP, vendorId: JABRA }, vendors)).toBe(true);
    expect(hidDeviceAllowed(APP, { deviceType: 'hid', origin: APP, vendorId: YUBICO }, vendors)).toBe(false);
    expect(hidDeviceAllowed(APP, { deviceType: 'hid', origin: 'https://evil.example', vendorId: JABRA }, vendors)).toBe(false);
    expect(hidDeviceAllowed(APP, { deviceType: 'usb', origin: APP, vendorId: JABRA }, vendors)).toBe(false);
    expect(hidDeviceAllowed(APP, { deviceType: 'hid', origin: APP, vendorId: undefined }, vendors)).toBe(false);
    expect(hidDeviceAllowed(APP, { deviceType: 'hid', origin: APP, vendorId: JABRA }, [])).toBe(false);
  });
  it('requestDevice gets the first offered device of a listed vendor, none for another origin or vendors', () => {
    const offered = [
      { deviceId: 'k', vendorId: YUBICO },
      { deviceId: 'j', vendorId: JABRA },
    ];
    expect(chooseHidDevice(APP, PAGE, offered, vendors)).toBe('j');
    expect(chooseHidDevice(APP, 'https://evil.example/x', offered, vendors)).toBeUndefined();
    expect(chooseHidDevice(APP, PAGE, [offered[0]!], vendors)).toBeUndefined();
  });
  it('the HID permission check itself: the app origin only', () => {
    expect(permissionCheck(APP, 'hid', APP)).toBe(true);
    expect(permissionCheck(APP, 'hid', 'https://evil.example')).toBe(false);
  });
});
