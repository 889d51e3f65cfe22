import path from 'node:path';
import { contract, type EventName, type EventPayload } from '../../shared/ipc/contract';
import { IpcFailure, type HandlerTable } from '../ipc/handlers';
import { externalUrlAllowed } from '../security/navigation';
import { AppInfoService, type AppFacts } from './app-info';
import { GatewayHealthService, type FetchLike } from './gateway-health';
import { LockService, type Clock } from '../lock/lock-service';
import { PolicyService, type ManagedPolicy } from './policy';
import { SettingsStore } from './settings';

/** Everything main's services need from the outside world, injected (Electron objects included). */
export interface MainDeps {
  app: AppFacts;
  host: 'electron' | 'devhost';
  platform: string;
  userDataDir: string;
  managedPolicy: ManagedPolicy;
  fetch: FetchLike;
  clock: Clock;
  openExternal(url: string): Promise<void>;
  externalAllowlist: readonly string[];
}

export interface MainServices {
  appInfo: AppInfoService;
  settings: SettingsStore;
  policy: PolicyService;
  lock: LockService;
  gatewayHealth: GatewayHealthService;
  deps: MainDeps;
}

export async function createMainServices(deps: MainDeps): Promise<MainServices> {
  const settings = new SettingsStore(path.join(deps.userDataDir, 'settings.json'));
  const policy = new PolicyService(deps.managedPolicy, await settings.load());
  const lock = new LockService(deps.clock);
  const gatewayHealth = new GatewayHealthService(deps.fetch, () => policy.effective().policy.gatewayUrl, deps.clock);
  const appInfo = new AppInfoService(deps.app, deps.host, deps.platform);
  return { appInfo, settings, policy, lock, gatewayHealth, deps };
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
    settings: {
      setLanguage: async ({ language }) => {
        if (s.policy.isManaged('language')) {
          throw new IpcFailure('not_allowed', 'The language is set by your organisation’s policy');
        }
        s.policy.setUser(await s.settings.update({ language }));
        return { language: s.policy.language() };
      },
    },
    gateway: {
      health: () => s.gatewayHealth.check(),
    },
    lock: {
      state: () => s.lock.current(),
      lockNow: () => s.lock.lock('manual'),
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
  const offs = [s.lock.onChange((st) => emit('lock:changed', st)), s.policy.onChange((p) => emit('policy:changed', p))];
  return () => offs.forEach((off) => off());
}
