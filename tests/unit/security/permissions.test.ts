import { describe, expect, it } from 'vitest';
import { permissionCheck, permissionDecision } from '../../../main/security/permissions';

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
    [APP, 'hid', undefined, false],
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
