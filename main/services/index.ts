import path from 'node:path';
import { contract, type AgentIntentInput, type EventName, type EventPayload } from '../../shared/ipc/contract';
import { GatewayClient } from '../../shared/gateway-client';
import { DeviceIdentity } from '../identity/device-identity';
import { IpcFailure, type HandlerTable } from '../ipc/handlers';
import { IdleMonitor, type PowerMonitorLike } from '../lock/idle-monitor';
import { KeytarVault, UnavailableVault, vaultServiceName, type KeytarLike, type SecretVault } from '../secrets/vault';
import { GatewayLink } from '../session/gateway-link';
import { SessionService } from '../session/session-service';
import { externalUrlAllowed } from '../security/navigation';
import { AppInfoService, type AppFacts } from './app-info';
import { GatewayHealthService, type FetchLike } from './gateway-health';
import { LockService, type Clock } from '../lock/lock-service';
import { ResumeSequence } from '../session/resume';
import { PolicyService, type ManagedPolicy } from './policy';
import { OrgPolicyFetcher } from './org-policy';
import { RendererLog } from './renderer-log';
import { consoleLogger } from '../log';
import { SettingsStore } from './settings';
import { AgentStateService } from '../telephony/agent-state';
import { SipCredentialService } from '../telephony/sip-credentials';
import { SupervisionRelay } from '../telephony/supervision';
import { gatewaySender, OutboxClosed, OutboxService } from '../outbox/outbox';
import { logFailure } from '../best-effort';
import { GlobalShortcutService, type GlobalShortcutLike } from './global-shortcuts';
import { RingAlertService, type NotificationFactory } from './ring-alert';
import { TrayService, type TrayFactory } from './tray';
import { UpdateService, type Installer } from './updates';
import type { StreamFetch } from '../updates/download';
import { createHash } from 'node:crypto';

/** Everything main's services need from the outside world, injected (Electron objects included). */
export interface MainDeps {
  app: AppFacts;
  host: 'electron' | 'devhost';
  platform: string;
  userDataDir: string;
  managedPolicy: ManagedPolicy;
  fetch: FetchLike;
  /**
   * Ends every connection `fetch` holds, in flight or kept for reuse: after a sleep they may be
   * black holes (the NAT or the gateway forgot them) that a request would wait on until its
   * timeout. Electron: the session's closeAllConnections(); the dev host: its own agents'.
   */
  dropConnections(): Promise<void>;
  clock: Clock;
  openExternal(url: string): Promise<void>;
  externalAllowlist: readonly string[];
  /** keytar (the OS keychain); null when it cannot load: sign-in is then refused, never stored in a file. */
  keytar: KeytarLike | null;
  /** Electron's powerMonitor, or the dev host's fake (OS idle time cannot be produced in tests). */
  power: PowerMonitorLike;
  /** Shown to admins when this PC is enrolled. */
  deviceName(): string;
  /** The backoff's jitter (Math.random when absent; tests pin it). */
  random?: () => number;
  /** Electron's globalShortcut; none in the dev host (a browser page cannot have one). */
  globalShortcut?: GlobalShortcutLike | null;
  /** Electron's Notification (when the OS supports it); none in the dev host (the renderer's own notification stands in). */
  notification?: NotificationFactory | null;
  /** Electron's Tray (main/index.ts adapts it); none in the dev host. */
  tray?: TrayFactory | null;
  /**
   * The updater's outside world (docs/updates.md): a fetch with a streamed body, the root of trust
   * shipped in the app (null: this build has none, updates stay off), the CPU architecture, and the
   * installer hand-over (none yet: a verified artifact is announced, not installed). None in the dev host.
   */
  updates?: { fetch: StreamFetch; trustRoot: Uint8Array | null; arch: string; installer?: Installer | null } | null;
}

export interface MainServices {
  appInfo: AppInfoService;
  settings: SettingsStore;
  policy: PolicyService;
  lock: LockService;
  resume: ResumeSequence;
  gatewayHealth: GatewayHealthService;
  vault: SecretVault;
  identity: DeviceIdentity;
  gateway: GatewayClient;
  session: SessionService;
  link: GatewayLink;
  sip: SipCredentialService;
  agent: AgentStateService;
  supervision: SupervisionRelay;
  outbox: OutboxService;
  idle: IdleMonitor;
  orgPolicy: OrgPolicyFetcher;
  rendererLog: RendererLog;
  shortcuts: GlobalShortcutService;
  ringAlert: RingAlertService;
  tray: TrayService;
  updates: UpdateService;
  deps: MainDeps;
}

/**
 * The services that hold nothing of the signed-in user: the PC's facts and preferences, the
 * lock, the device identity (the PC's key), stateless clients, the vault (its user entries,
 * the refresh token and username, are the session's and cleared by it). Every other service registers
 * with `session.holdsUserData()` (see createMainServices).
 */
export const SERVICES_WITHOUT_USER_DATA = ['appInfo', 'settings', 'lock', 'resume', 'gatewayHealth', 'vault', 'identity', 'gateway', 'idle', 'rendererLog', 'shortcuts', 'updates', 'deps'] as const satisfies readonly (keyof MainServices)[];

const outboxLog = consoleLogger('outbox');

export async function createMainServices(deps: MainDeps): Promise<MainServices> {
  const settings = new SettingsStore(path.join(deps.userDataDir, 'settings.json'));
  const policy = new PolicyService(deps.managedPolicy, await settings.load());
  const lock = new LockService(deps.clock);
  const gatewayHealth = new GatewayHealthService(deps.fetch, () => policy.effective().policy.gatewayUrl, deps.clock);
  const appInfo = new AppInfoService(deps.app, deps.host, deps.platform);
  const gatewayUrl = () => policy.effective().policy.gatewayUrl;
  const vault: SecretVault = deps.keytar
    ? new KeytarVault(deps.keytar, vaultServiceName(gatewayUrl()))
    : new UnavailableVault('the keytar module could not be loaded');
  const identity = new DeviceIdentity(vault);
  const gateway = new GatewayClient(gatewayUrl, deps.fetch);
  const session = new SessionService({ gateway, vault, identity, deviceName: deps.deviceName, clock: deps.clock });
  const idle = new IdleMonitor(deps.power, lock, () => policy.effective().policy.idleTimeoutSeconds);
  lock.onChange((st) => {
    if (st.locked && st.reason) void session.reportLock(st.reason);
    // The operator model offers no calls to a locked operator (main owns the lock).
    agent.setLocked(st.locked);
  });
  const link = new GatewayLink({
    url: gatewayUrl,
    // a failure is logged by the link (and retried)
    accessToken: async () => (await session.accessToken())?.token ?? null,
    onSessionEnded: (why) => void session.end(why),
    onReady: () => supervision.resend(),
    onState: (state, wanted) => agent.linkState(state, wanted),
    onOperator: (m) => agent.fromGateway(m),
    onSupervision: (m) => supervision.fromGateway(m),
    ...(deps.random ? { random: deps.random } : {}),
  });
  const agent = new AgentStateService(link);
  const supervision = new SupervisionRelay(link, () => deps.clock.now());
  const sip = new SipCredentialService({
    issue: (accessToken) => gateway.call('sipCredentials', { accessToken }),
    // a failure is logged by the SIP credential service (and retried)
    accessToken: async () => (await session.accessToken())?.token ?? null,
    policy: () => policy.effective().policy,
    now: () => deps.clock.now(),
  });
  // Main's per-user state, cleared by the session service whenever a session ends (sign-out,
  // expiry, revoke, another user signing in) before the renderer is told. Each service in
  // MainServices either registers here or is listed in SERVICES_WITHOUT_USER_DATA (a unit test
  // checks that every service is one or the other).
  session.holdsUserData('link', () => link.stop());
  session.holdsUserData('sip', () => sip.clear());
  session.holdsUserData('agent', () => agent.reset());
  session.holdsUserData('supervision', () => supervision.reset());
  const orgPolicy = new OrgPolicyFetcher({ fetch: () => session.clientPolicy(), policy, ...(deps.random ? { random: deps.random } : {}) });
  const rendererLog = new RendererLog(consoleLogger('renderer'), () => deps.clock.now());
  // The durable outbox (main/outbox): opened for the signed-in user, closed (plaintext out of
  // memory, the sealed file kept for that user) when the session ends; flushed when the link is back.
  const outbox = new OutboxService({
    dir: path.join(deps.userDataDir, 'outbox'),
    vault,
    send: gatewaySender(gateway, async () => (await session.accessToken())?.token ?? null),
    now: () => deps.clock.now(),
  });
  session.holdsUserData('outbox', () => outbox.close().then(() => undefined));
  link.onStatus((st) => {
    if (st.phase === 'connected' || st.phase === 'back') outbox.flush();
  });
  // After the PC wakes: the session, then the phone, then the link, then the outbox (main/session/resume.ts)
  const resume: ResumeSequence = new ResumeSequence({
    network: () => deps.dropConnections(),
    checkSession: async () => {
      if (session.current().status !== 'signed-in') return false;
      // a session the gateway ended while the PC slept ends here (the refresh is refused); unreachable: it stands
      await session.reload();
      return session.current().status === 'signed-in';
    },
    phone: (run): Promise<void> => resume.waitForPhone(run, 10_000),
    link: () => link.reconnectNow(10_000),
    flush: async () => outbox.flush(),
    now: () => deps.clock.now(),
    log: consoleLogger('resume'),
  });
  deps.power.on('resume', () => void resume.resumed());
  session.holdsUserData('orgPolicy', () => orgPolicy.stop());
  session.holdsUserData('policy', () => policy.setOrg(null));
  // The lock guards a signed-in session (main/lock/lock-service.ts): none, no lock; one that
  // ends while locked (expired, revoked, signed out) lifts it, after its data is cleared.
  lock.guard(() => session.current().status === 'signed-in');
  session.onChange((st) => {
    if (st.status !== 'signed-in') lock.release();
    // The org's client policy applies while signed in (stricter value wins, see combineWithOrg);
    // until it arrives (retried) the stricter known values apply (PolicyService, OrgPolicyFetcher).
    if (st.status === 'signed-in') {
      orgPolicy.start();
      // an enrolment-only session (TOTP required, not yet set up) has no live link: the
      // gateway refuses it until the enrolment is confirmed (session.reload then says so); the
      // same for a session limited to changing a temporary password
      if (st.totpEnrolmentRequired || st.passwordChangeRequired) link.stop();
      else link.start();
      // a failure (the keychain unavailable) is logged; the next enqueue tries again, and until then answers
      // `unavailable` (the renderer keeps the item and hands it again)
      if (!st.totpEnrolmentRequired && !st.passwordChangeRequired) outbox.open(st.user.id).catch((err: unknown) => logFailure(outboxLog, 'opening the outbox', err, {}, 'error'));
    } else {
      orgPolicy.stop();
      policy.setOrg(null);
      link.stop();
    }
  });
  // Answer and hang up through the OS while signed in, when policy allows (global-shortcuts.ts)
  const shortcuts = new GlobalShortcutService(
    deps.globalShortcut ?? null,
    () => session.current().status === 'signed-in' && policy.effective().policy.globalShortcuts,
    consoleLogger('shortcuts'),
  );
  session.onChange(() => shortcuts.sync());
  policy.onChange(() => shortcuts.sync());
  // A ringing call reaches the operator when the window is not in front (ring-alert.ts).
  // The caller is in the notification only when the managed policy notifyShowsCaller allows it.
  const ringAlert = new RingAlertService(deps.notification ?? null, () => policy.language(), () => policy.effective().policy.notifyShowsCaller, consoleLogger('ring-alert'));
  // The tray icon says the operator's state from main's snapshot (tray.ts); offline once the session ends
  const tray = new TrayService(deps.tray ?? null, () => policy.language(), consoleLogger('tray'));
  agent.onChange((snapshot) => tray.agent(snapshot));
  policy.onChange(() => tray.languageChanged());
  session.holdsUserData('tray', () => tray.reset());
  // a notification naming a caller is the user's data: gone with the session (every way it ends)
  session.holdsUserData('ringAlert', () => ringAlert.stopAll());
  // Updates (docs/updates.md): the PC's, not the user's (the feed, the kept metadata, the device key's id)
  const updates = new UpdateService({
    fetch: deps.updates?.fetch ?? null,
    trustRoot: deps.updates?.trustRoot ?? null,
    policy: () => policy.effective().policy,
    running: deps.app.getVersion(),
    platform: deps.platform,
    arch: deps.updates?.arch ?? process.arch,
    dir: path.join(deps.userDataDir, 'updates'),
    vault,
    // the staged rollout's device: this PC's enrolment key (never created here: a PC not enrolled yet is outside a partial rollout)
    deviceKeyId: async () => {
      const key = await identity.existingPublicKey();
      return key === null ? null : createHash('sha256').update(key).digest('hex');
    },
    now: () => deps.clock.now(),
    installer: deps.updates?.installer ?? null,
  });
  return { appInfo, settings, policy, lock, gatewayHealth, vault, identity, gateway, session, link, sip, agent, supervision, outbox, idle, orgPolicy, rendererLog, resume, shortcuts, ringAlert, tray, updates, deps };
}

/** Main's IPC handlers: one per contract channel, typed by the contract. */
export function createHandlers(s: MainServices): HandlerTable {
  return {
    app: {
      info: () => s.appInfo.info(),
    },
    policy: {
      get: () => s.policy.effective(),
    },
    updates: {
      status: () => s.updates.status(),
    },
    settings: {
      setLanguage: async ({ language }) => {
        if (s.policy.isManaged('language')) {
          throw new IpcFailure('not_allowed', 'The language is set by your organisation’s policy');
        }
        s.policy.setUser(await s.settings.update({ language }));
        return { language: s.policy.language() };
      },
      setTheme: async ({ theme }) => {
        if (s.policy.isManaged('theme')) {
          throw new IpcFailure('not_allowed', 'The theme is set by your organisation’s policy');
        }
        s.policy.setUser(await s.settings.update({ theme }));
        return { theme: s.policy.effective().policy.theme };
      },
      audioDevices: () => s.settings.get().audio ?? { inputDeviceId: null, outputDeviceId: null },
      setAudioDevices: async (audio) => (await s.settings.update({ audio })).audio ?? audio,
    },
    phone: {
      ringing: ({ callId, ringing, caller }) => {
        if (!ringing || s.session.current().status !== 'signed-in') {
          s.ringAlert.stop(callId);
          return { alerted: false };
        }
        return { alerted: s.ringAlert.ring(callId, caller) };
      },
    },
    sip: {
      credentials: ({ renew }) => (renew ? s.sip.renew() : s.sip.get()),
    },
    agent: {
      state: () => s.agent.snapshot(),
      intent: (intent) => {
        if (s.session.current().status !== 'signed-in') return { outcome: 'refused', refusal: 'signed_out' } as const;
        return s.agent.intent(intent as AgentIntentInput);
      },
    },
    supervision: {
      answer: ({ legId, sdp }) => ({ sent: s.supervision.answer(legId, sdp) }),
      reportRegistration: ({ state }) => ({ sent: s.supervision.reportRegistration(state) }),
      watchBoard: () => {
        if (s.session.current().status !== 'signed-in') throw new IpcFailure('not_allowed', 'Sign in first');
        return s.supervision.watchBoard();
      },
    },
    gateway: {
      health: () => s.gatewayHealth.check(),
      link: () => s.link.status(),
    },
    log: {
      failure: (failure) => s.rendererLog.report(failure),
    },
    lock: {
      state: () => s.lock.current(),
      lockNow: () => s.lock.lock('manual'),
      unlock: async (input) => {
        if (!s.lock.current().locked) return { outcome: 'unlocked', lock: s.lock.current() };
        const verdict = await s.session.reverify(input);
        if (verdict !== 'ok') return { outcome: 'refused', code: verdict };
        return { outcome: 'unlocked', lock: s.lock.unlock() };
      },
    },
    resume: {
      state: () => s.resume.status(),
      phoneDone: ({ run }) => {
        s.resume.phoneDone(run);
        return { ok: true as const };
      },
    },
    session: {
      state: () => s.session.current(),
      signIn: (input) => s.session.signIn(input),
      signOut: () => s.session.signOut(),
      reload: () => s.session.reload(),
      accessToken: () => s.session.accessToken(),
    },
    outbox: {
      enqueue: async (item) => {
        const st = s.session.current();
        if (st.status !== 'signed-in') throw new IpcFailure('not_allowed', 'Sign in first');
        try {
          // its opening failed at sign-in (the keychain busy): tried again here
          if (s.outbox.openFor() !== st.user.id) await s.outbox.open(st.user.id);
          return await s.outbox.enqueue(item);
        } catch (err) {
          if (err instanceof OutboxClosed && s.session.current().status !== 'signed-in') throw new IpcFailure('not_allowed', 'Sign in first');
          // not kept (the disk full, the keychain locked): the renderer keeps the item and hands it again
          logFailure(outboxLog, 'keeping an outbox item', err, {}, 'error');
          throw new IpcFailure('unavailable', 'The item could not be kept on this PC');
        }
      },
      list: () => ({ items: s.outbox.list() }),
      state: () => s.outbox.state(),
    },
    shell: {
      openExternal: async ({ url }) => {
        if (!externalUrlAllowed(url, s.deps.externalAllowlist)) {
          throw new IpcFailure('not_allowed', 'This address is not on the list of sites Koe may open');
        }
        await s.deps.openExternal(url);
        return { opened: true };
      },
    },
  };
}

export type EmitEvent = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/** Forwards service events to the renderer, each payload checked against the contract first. */
export function wireEvents(s: MainServices, send: (event: EventName, payload: unknown) => void): () => void {
  const emit: EmitEvent = (event, payload) => {
    const parsed = contract.events[event].safeParse(payload);
    if (parsed.success) send(event, parsed.data);
  };
  const offs = [
    s.lock.onChange((st) => emit('lock:changed', st)),
    s.policy.onChange((p) => emit('policy:changed', p)),
    s.updates.onChange((st) => emit('updates:changed', st)),
    s.session.onChange((st) => emit('session:changed', st)),
    s.agent.onChange((st) => emit('agent:changed', st)),
    s.agent.onNotice((n) => emit('agent:notice', n)),
    s.agent.onHangUp((h) => emit('agent:hangUp', h)),
    s.agent.onCard((c) => emit('agent:card', c)),
    s.supervision.onEvent((event, payload) => emit(event, payload as never)),
    s.link.onStatus((st) => emit('link:status', st)),
    s.outbox.onChange((st) => emit('outbox:changed', st)),
    s.resume.onChange((st) => emit('resume:status', st)),
    s.outbox.onSettled((st) => emit('outbox:settled', st)),
    s.link.onAlert((a) => emit('alerts:new', a)),
    s.shortcuts.onPressed((action) => emit('shortcut:pressed', { action })),
  ];
  return () => offs.forEach((off) => off());
}
