// `npm start`'s decisions for a newcomer's machine (scripts/first-run.ts), fed what it would
// find: the keychain probe's answer, fc-list's output, the display variables, the flags.
import { describe, expect, it } from 'vitest';
import {
  cjkFontWarning,
  devhostOrigins,
  forwardedPorts,
  hasDisplay,
  keychainDecision,
  parseStartArgs,
  planWindows,
  privateKeyringBanner,
  windowsBanner,
  type KeychainFacts,
  type StartOptions,
} from '../../scripts/first-run';

const NO_BUS = 'Cannot autolaunch D-Bus without X11 $DISPLAY';
const facts = (over: Partial<KeychainFacts> = {}): KeychainFacts => ({
  platform: 'linux',
  probe: { ok: false, error: NO_BUS },
  insidePrivateKeyring: false,
  tools: { dbusRunSession: true, gnomeKeyringDaemon: true },
  ...over,
});

describe('the OS keychain at npm start', () => {
  it('uses the OS keychain when keytar can write, read and delete in it', () => {
    expect(keychainDecision(facts({ probe: { ok: true } }))).toEqual({ action: 'use-os' });
    expect(keychainDecision(facts({ platform: 'darwin', probe: { ok: true } }))).toEqual({ action: 'use-os' });
  });

  it('on Linux without a Secret Service, with gnome-keyring and dbus installed: a private keyring for this run', () => {
    expect(keychainDecision(facts())).toEqual({ action: 'private-keyring' });
    const noSecrets = 'The name org.freedesktop.secrets was not provided by any .service files';
    expect(keychainDecision(facts({ probe: { ok: false, error: noSecrets } }))).toEqual({ action: 'private-keyring' });
  });

  it.each([
    [{ dbusRunSession: true, gnomeKeyringDaemon: false }, 'sudo apt-get install gnome-keyring\n'],
    [{ dbusRunSession: false, gnomeKeyringDaemon: true }, 'sudo apt-get install dbus\n'],
    [{ dbusRunSession: false, gnomeKeyringDaemon: false }, 'sudo apt-get install gnome-keyring dbus\n'],
  ])('without the tools (%j) it stops and names the Debian packages and the command', (tools, command) => {
    const d = keychainDecision(facts({ tools }));
    expect(d.action).toBe('stop');
    const message = d.action === 'stop' ? d.message : '';
    expect(message).toContain(NO_BUS);
    expect(message).toContain(command);
    expect(message).toContain('npm start');
    expect(message).toMatch(/never keeps them in a file/);
  });

  it('never starts a second private keyring from inside the first: it stops with the reason', () => {
    const d = keychainDecision(facts({ insidePrivateKeyring: true, probe: { ok: false, error: 'Object does not exist at path /org/freedesktop/secrets/collection/login' } }));
    expect(d).toEqual({ action: 'stop', message: expect.stringContaining('private keyring started for this run does not answer: Object does not exist') });
  });

  it('a keytar module that does not load is not a missing keychain: it says to run npm ci', () => {
    const d = keychainDecision(facts({ probe: { ok: false, error: "Cannot find module '../build/Release/keytar.node'" } }));
    expect(d.action).toBe('stop');
    expect(d.action === 'stop' && d.message).toMatch(/npm ci.*libsecret-1-dev/s);
  });

  it('a keychain that does not answer in time (a locked keyring asking for its password) is left to the app, and said', () => {
    expect(keychainDecision(facts({ probe: { ok: false, timedOut: true } }))).toEqual({ action: 'use-os', note: expect.stringContaining('asks it again when you sign in') });
  });

  it('elsewhere than Linux there is nothing to start: the app refuses sign-in itself, and it is said now', () => {
    expect(keychainDecision(facts({ platform: 'win32', probe: { ok: false, error: 'no vault' } }))).toEqual({ action: 'use-os', note: expect.stringContaining('no vault') });
  });

  it('the private keyring is announced with its directory and what that means', () => {
    expect(privateKeyringBanner('/tmp/koe-keyring-abc')).toBe(
      'Koe: no Secret Service found; started a private keyring for this run at /tmp/koe-keyring-abc; secrets vanish when it stops (every sign-in enrols this PC again).',
    );
  });
});

describe('a Japanese font', () => {
  it('warns, naming fonts-noto-cjk, when fc-list lists no font for ja or is not installed', () => {
    expect(cjkFontWarning('linux', '')).toMatch(/no Japanese font found \(fc-list :lang=ja lists none\).*boxes.*\n.*apt-get install fonts-noto-cjk/s);
    expect(cjkFontWarning('linux', null)).toMatch(/fc-list is not installed.*fonts-noto-cjk/s);
  });

  it('says nothing when there is one, or on Windows and macOS (they ship Japanese fonts)', () => {
    expect(cjkFontWarning('linux', 'Noto Sans CJK JP,Noto Sans CJK JP Regular\n')).toBeNull();
    expect(cjkFontWarning('win32', null)).toBeNull();
    expect(cjkFontWarning('darwin', '')).toBeNull();
  });
});

describe('the display', () => {
  it.each([
    [{ DISPLAY: ':0' }, true],
    [{ WAYLAND_DISPLAY: 'wayland-0' }, true],
    [{ DISPLAY: '' }, false],
    [{}, false],
  ])('%j -> %s', (env, expected) => {
    expect(hasDisplay(env)).toBe(expected);
  });
});

describe('the flags', () => {
  it('by default: the stack and both windows on 5174 and 5175', () => {
    expect(parseStartArgs([], {})).toEqual({ withStack: true, single: false, headless: false, operatorPort: 5174, appArgs: [] });
  });

  it('--single, --no-stack (one window), --headless, --port and KOE_DEVHOST_PORT; other flags go to the app', () => {
    expect(parseStartArgs(['--single', '--once'], {})).toMatchObject({ single: true, withStack: true, appArgs: ['--once'] });
    expect(parseStartArgs(['--no-stack'], {})).toMatchObject({ single: true, withStack: false });
    expect(parseStartArgs(['--headless', '--port=6100'], { KOE_DEVHOST_PORT: '7000' })).toMatchObject({ headless: true, operatorPort: 6100, appArgs: [] });
    expect(parseStartArgs([], { KOE_DEVHOST_PORT: '7000' })).toMatchObject({ operatorPort: 7000 });
    expect(parseStartArgs(['--help'], {})).toEqual({ help: true });
  });

  it.each([['--port=80'], ['--port=65535'], ['--port=abc'], ['--port=']])('%s is refused with the reason', (arg) => {
    expect(parseStartArgs([arg], {})).toEqual({ error: expect.stringContaining('--port must be a port from 1024 to 65534') });
  });
});

describe('the windows npm start opens', () => {
  const options = (over: Partial<StartOptions> = {}): StartOptions => ({ withStack: true, single: false, headless: false, operatorPort: 5174, appArgs: [], ...over });
  const demo = { operator: { username: 'sato.hanako', password: 'pw' }, lead: { username: 'suzuki.kenta', password: 'pw' } };

  it("with a display and no Electron: two Chromium windows, the lead's with its own profile, port and account", () => {
    const windows = planWindows({ options: options(), electron: false, display: true, demo });
    expect(windows).toEqual([
      { role: 'operator', via: 'devhost', port: 5174, profile: null, show: 'window', account: demo.operator },
      { role: 'lead', via: 'devhost', port: 5175, profile: 'lead', show: 'window', account: demo.lead },
    ]);
    expect(devhostOrigins(windows)).toEqual(['http://127.0.0.1:5174', 'http://127.0.0.1:5175']);
    const banner = windowsBanner(windows);
    expect(banner).toContain("operator's window   Chromium, dev host http://127.0.0.1:5174; sign in as sato.hanako / pw");
    expect(banner).toContain("team lead's window  Chromium, dev host http://127.0.0.1:5175; sign in as suzuki.kenta / pw");
    expect(banner).not.toContain('link');
  });

  it('with Electron: the operator in Electron, the lead in the dev host; only the dev host origin needs CORS', () => {
    const windows = planWindows({ options: options(), electron: true, display: true, demo });
    expect(windows.map((w) => [w.role, w.via])).toEqual([['operator', 'electron'], ['lead', 'devhost']]);
    expect(devhostOrigins(windows)).toEqual(['http://127.0.0.1:5175']);
  });

  it('without a display (even with Electron, which needs one): links to open, and how to reach them from elsewhere', () => {
    const windows = planWindows({ options: options(), electron: true, display: false, demo });
    expect(windows.map((w) => [w.via, w.show])).toEqual([['devhost', 'link'], ['devhost', 'link']]);
    const banner = windowsBanner(windows, { gatewayUrl: 'http://127.0.0.1:8787', sipWssUrl: 'ws://127.0.0.1:28530' });
    expect(banner).toContain("operator's window   dev host http://127.0.0.1:5174: open the link it prints below; sign in as sato.hanako / pw");
    expect(banner).toContain('no display here');
    expect(banner).toContain('press Enter here for new links');
    expect(banner).toContain('ssh -L 5174:127.0.0.1:5174 -L 5175:127.0.0.1:5175 -L 8787:127.0.0.1:8787 -L 28530:127.0.0.1:28530 <this machine>');
  });

  it('--headless: links even with a display', () => {
    expect(planWindows({ options: options({ headless: true }), electron: false, display: true, demo }).every((w) => w.show === 'link')).toBe(true);
  });

  it('--single and --no-stack: the operator only; without the stack no demo account is offered', () => {
    expect(planWindows({ options: options({ single: true }), electron: false, display: true, demo }).map((w) => w.role)).toEqual(['operator']);
    const noStack = planWindows({ options: options({ withStack: false, single: true }), electron: false, display: true, demo });
    expect(noStack).toEqual([{ role: 'operator', via: 'devhost', port: 5174, profile: null, show: 'window', account: null }]);
    expect(windowsBanner(noStack)).toContain('sign in with your account');
  });

  it('forwards each port once, ignoring what is not a URL', () => {
    const windows = planWindows({ options: options(), electron: false, display: false, demo });
    expect(forwardedPorts(windows, { gatewayUrl: 'http://127.0.0.1:5174', sipWssUrl: 'not a url' })).toEqual([5174, 5175]);
    expect(forwardedPorts(windows, { gatewayUrl: 'https://gw.example' })).toEqual([5174, 5175, 443]);
  });
});
