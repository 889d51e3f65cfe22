import type { AppInfo, EffectivePolicy, GatewayHealth, Language, LockState, ResumeStatus, UpdateStatus } from '../../../shared/ipc/contract';
import type { Theme } from '../../../shared/policy';
import type { IpcError } from '../../../shared/ipc/result';
import { koe } from '../koe';
import { userStore } from './user-data';

/** The app-wide facts main tells the renderer: what it is, its policy, lock state, gateway reachability. */
export interface AppState {
  info: AppInfo | null;
  policy: EffectivePolicy | null;
  lock: LockState;
  /** What main is doing after the PC woke up (main/session/resume.ts). */
  resume: ResumeStatus;
  gateway: GatewayHealth | null;
  /** The updater's state in main (main/services/updates.ts), shown in About this app. */
  updates: UpdateStatus | null;
  error: IpcError | null;
  load(): Promise<void>;
  refreshGateway(): Promise<void>;
  setLanguage(language: Language): Promise<void>;
  setTheme(theme: Theme): Promise<void>;
  lockNow(): Promise<void>;
  /** Subscribes to main's events; returns the unsubscribe function. */
  listen(): () => void;
}

/**
 * The PC's facts (app info, lock state, gateway reachability) outlive a session; the policy's
 * org part is dropped by main at sign-out (it sends `policy:changed`). The last error is cleared.
 */
export const useAppStore = userStore<AppState>('app', { error: null }, (set) => ({
  info: null,
  policy: null,
  lock: { locked: false, reason: null, since: null },
  resume: { phase: 'idle', run: 0, at: null },
  gateway: null,
  updates: null,
  error: null,

  async load() {
    const [info, policy, lock, updates] = await Promise.all([koe().app.info({}), koe().policy.get({}), koe().lock.state({}), koe().updates.status({})]);
    for (const r of [info, policy, lock, updates]) if (!r.ok) return set({ error: r.error });
    set({
      info: info.ok ? info.value : null,
      policy: policy.ok ? policy.value : null,
      lock: lock.ok ? lock.value : { locked: true, reason: null, since: null },
      updates: updates.ok ? updates.value : null,
      error: null,
    });
  },

  async refreshGateway() {
    const r = await koe().gateway.health({});
    if (r.ok) set({ gateway: r.value });
  },

  async setLanguage(language) {
    const r = await koe().settings.setLanguage({ language });
    if (!r.ok) set({ error: r.error });
  },

  async setTheme(theme) {
    const r = await koe().settings.setTheme({ theme });
    if (!r.ok) set({ error: r.error });
  },

  async lockNow() {
    const r = await koe().lock.lockNow({});
    if (r.ok) set({ lock: r.value });
  },

  listen() {
    const offs = [
      koe().on('lock:changed', (lock) => set({ lock })),
      koe().on('policy:changed', (policy) => set({ policy })),
      koe().on('resume:status', (resume) => set({ resume })),
      koe().on('updates:changed', (updates) => set({ updates })),
    ];
    return () => offs.forEach((off) => off());
  },
}));
