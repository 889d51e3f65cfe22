// What `npm start` (scripts/start.mjs) decides before it starts anything, as pure functions of
// what it found on the machine (environment, command output), so each decision has a table test
// (tests/unit/first-run.test.ts): the OS keychain, a Japanese font, a display, the windows to
// open and the accounts to sign in with.

/** The Debian packages a newcomer installs for each missing piece (README "First run"). */
export const PACKAGES = { keyring: 'gnome-keyring', dbus: 'dbus', cjkFont: 'fonts-noto-cjk', chromium: 'chromium' } as const;

// -- the OS keychain (keytar: the Secret Service on Linux) -----------------------------------

/** What a keytar write/read/delete probe in a child process answered. */
export type KeychainProbe = { ok: true } | { ok: false; error: string } | { ok: false; timedOut: true };

export interface KeychainFacts {
  platform: string;
  probe: KeychainProbe;
  /** This process already runs inside the private D-Bus session `npm start` made (KOE_PRIVATE_KEYRING). */
  insidePrivateKeyring: boolean;
  tools: { dbusRunSession: boolean; gnomeKeyringDaemon: boolean };
}

export type KeychainDecision =
  | { action: 'use-os'; note?: string }
  | { action: 'private-keyring' }
  | { action: 'stop'; message: string };

/**
 * Use the OS keychain when it answers; on Linux without one, start a private, unlocked
 * gnome-keyring in its own D-Bus session for this run when the tools are installed; otherwise
 * stop and say what to install. Never a file instead of a keychain.
 */
export function keychainDecision(f: KeychainFacts): KeychainDecision {
  if (f.probe.ok) return { action: 'use-os' };
  if ('timedOut' in f.probe) {
    // a locked keyring waiting for its password, most likely: the app asks it again at sign-in
    return { action: 'use-os', note: 'the OS keychain did not answer within the time allowed (a locked keyring waiting for its password?); Koe asks it again when you sign in.' };
  }
  const error = f.probe.error.split('\n')[0]!.slice(0, 300);
  if (/Cannot find module|keytar\.node|NODE_MODULE_VERSION|invalid ELF/i.test(error)) {
    return {
      action: 'stop',
      message: `keytar (the OS keychain module) could not be loaded: ${error}\nRun \`npm ci\` again (it builds keytar; it needs python3, make, g++ and libsecret-1-dev).`,
    };
  }
  if (f.platform !== 'linux') {
    return { action: 'use-os', note: `the OS keychain did not answer (${error}); signing in will be refused until it does.` };
  }
  if (f.insidePrivateKeyring) {
    return { action: 'stop', message: `the private keyring started for this run does not answer: ${error}` };
  }
  const missing = [
    ...(f.tools.gnomeKeyringDaemon ? [] : [PACKAGES.keyring]),
    ...(f.tools.dbusRunSession ? [] : [PACKAGES.dbus]),
  ];
  if (missing.length === 0) return { action: 'private-keyring' };
  return {
    action: 'stop',
    message: [
      `no Secret Service (the Linux keychain Koe keeps its secrets in) answers here: ${error}`,
      `Koe never keeps them in a file instead. Either run \`npm start\` inside a desktop session with a keyring, or install`,
      `  sudo apt-get install ${missing.join(' ')}`,
      'and run `npm start` again: it then starts a private keyring for the run by itself.',
    ].join('\n'),
  };
}

export function privateKeyringBanner(dir: string): string {
  return `Koe: no Secret Service found; started a private keyring for this run at ${dir}; secrets vanish when it stops (every sign-in enrols this PC again).`;
}

// -- a Japanese font -------------------------------------------------------------------------

/** `fcList`: the output of `fc-list :lang=ja family`, null when fc-list is not installed. */
export function cjkFontWarning(platform: string, fcList: string | null): string | null {
  if (platform !== 'linux') return null;
  if (fcList !== null && fcList.trim() !== '') return null;
  return [
    `Koe: warning: no Japanese font found${fcList === null ? ' (fc-list is not installed)' : ' (fc-list :lang=ja lists none)'}: the Japanese UI (the default) will show boxes.`,
    `  Install one: sudo apt-get install ${PACKAGES.cjkFont}   (or switch the app to English in the About panel)`,
  ].join('\n');
}

// -- a display -------------------------------------------------------------------------------

export function hasDisplay(env: Record<string, string | undefined>): boolean {
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

// -- the arguments and the windows -----------------------------------------------------------

export const START_USAGE = [
  'usage: npm start -- [--single] [--no-stack] [--headless] [--port=N]',
  '  (default)    the local stack with demo data, then two windows: an operator\'s and a team lead\'s',
  '  --single     only the operator\'s window',
  '  --no-stack   no local stack; one window against the gateway of your policy file (KOE_POLICY_FILE)',
  '  --headless   no browser window even with a display: the dev host prints a link to open',
  '  --port=N     the operator\'s dev host port (default 5174, or KOE_DEVHOST_PORT); the lead\'s is N+1',
].join('\n');

export interface StartOptions {
  withStack: boolean;
  single: boolean;
  headless: boolean;
  operatorPort: number;
  /** Passed on to the app (Electron or the dev host) as they are. */
  appArgs: string[];
}

export function parseStartArgs(args: readonly string[], env: Record<string, string | undefined>): StartOptions | { help: true } | { error: string } {
  if (args.includes('--help') || args.includes('-h')) return { help: true };
  const portArg = args.find((a) => a.startsWith('--port='));
  const portText = portArg ? portArg.slice('--port='.length) : (env.KOE_DEVHOST_PORT ?? '5174');
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1024 || port > 65_534) {
    return { error: `${portArg ? '--port' : 'KOE_DEVHOST_PORT'} must be a port from 1024 to 65534, got "${portText}"` };
  }
  return {
    withStack: !args.includes('--no-stack'),
    single: args.includes('--single') || args.includes('--no-stack'),
    headless: args.includes('--headless'),
    operatorPort: port,
    appArgs: args.filter((a) => !['--no-stack', '--single', '--headless'].includes(a) && !a.startsWith('--port=')),
  };
}

export interface DemoAccount {
  username: string;
  password: string;
}

export interface AppWindow {
  role: 'operator' | 'lead';
  via: 'electron' | 'devhost';
  /** The dev host's port (its origin http://127.0.0.1:<port> is allowed by the gateway's CORS). */
  port: number | null;
  /** The dev host's profile: its own data directory and keychain entries, i.e. another PC. */
  profile: string | null;
  /** A Chromium window, or only a link printed to open (no display, or --headless). */
  show: 'window' | 'link';
  account: DemoAccount | null;
}

/**
 * The operator's window (Electron when its binary is there, else the dev host) and, with the
 * demo stack and unless --single, a team lead's window: a dev host with its own profile and
 * port, so the two are two PCs with two sessions. Without a display (Electron needs one) each
 * dev host prints a link instead of opening a window.
 */
export function planWindows(o: {
  options: StartOptions;
  electron: boolean;
  display: boolean;
  demo: { operator: DemoAccount; lead: DemoAccount } | null;
}): AppWindow[] {
  const show = o.display && !o.options.headless ? 'window' : 'link';
  const demo = o.options.withStack ? o.demo : null;
  const windows: AppWindow[] = [
    o.electron && show === 'window'
      ? { role: 'operator', via: 'electron', port: null, profile: null, show: 'window', account: demo?.operator ?? null }
      : { role: 'operator', via: 'devhost', port: o.options.operatorPort, profile: null, show, account: demo?.operator ?? null },
  ];
  if (!o.options.single && o.options.withStack) {
    windows.push({ role: 'lead', via: 'devhost', port: o.options.operatorPort + 1, profile: 'lead', show, account: demo?.lead ?? null });
  }
  return windows;
}

/** The dev host origins the gateway must allow (CORS), exactly as the browser sends them. */
export function devhostOrigins(windows: readonly AppWindow[]): string[] {
  return windows.filter((w) => w.via === 'devhost' && w.port !== null).map((w) => `http://127.0.0.1:${w.port}`);
}

/** The loopback ports a browser elsewhere needs forwarded to use the links: dev hosts, gateway, SIP WebSocket. */
export function forwardedPorts(windows: readonly AppWindow[], reach: { gatewayUrl?: string; sipWssUrl?: string } | null): number[] {
  const portOf = (url: string | undefined) => {
    // not a URL: nothing to forward for it (the app itself refuses a bad policy, naming the key)
    if (!url || !URL.canParse(url)) return null;
    const u = new URL(url);
    return Number(u.port || (u.protocol === 'https:' || u.protocol === 'wss:' ? 443 : 80));
  };
  const ports = [...windows.map((w) => w.port), portOf(reach?.gatewayUrl), portOf(reach?.sipWssUrl)];
  return [...new Set(ports.filter((p): p is number => p !== null))];
}

/** What `npm start` prints once the stack is up: who signs in where. */
export function windowsBanner(windows: readonly AppWindow[], reach: { gatewayUrl?: string; sipWssUrl?: string } | null = null): string {
  const who = { operator: "operator's window ", lead: "team lead's window" } as const;
  const lines = windows.map((w) => {
    const where =
      w.via === 'electron' ? 'Electron' : w.show === 'window' ? `Chromium, dev host http://127.0.0.1:${w.port}` : `dev host http://127.0.0.1:${w.port}: open the link it prints below`;
    const account = w.account ? `sign in as ${w.account.username} / ${w.account.password}` : 'sign in with your account';
    return `Koe: ${who[w.role]}  ${where}; ${account}`;
  });
  if (windows.some((w) => w.show === 'link')) {
    lines.push(
      'Koe: no display here, so no window opens: open each link in Chromium or Chrome on this machine (each link opens once; press Enter here for new links).',
      `     From another machine: ssh ${forwardedPorts(windows, reach).map((p) => `-L ${p}:127.0.0.1:${p}`).join(' ')} <this machine>, then open the links there.`,
    );
  }
  return lines.join('\n');
}
