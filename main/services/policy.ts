import { ClientPolicy, defaultPolicy } from '../../shared/policy';
import type { EffectivePolicy, Language } from '../../shared/ipc/contract';
import type { UserSettings } from './settings';

export type ManagedPolicy = Partial<ClientPolicy>;

/**
 * The client's effective policy: defaults, then the user's own preferences, then the
 * machine-wide managed policy, whose keys the user cannot change.
 */
export class PolicyService {
  private listeners = new Set<(p: EffectivePolicy) => void>();
  constructor(
    private readonly managed: ManagedPolicy,
    private user: UserSettings,
  ) {}

  effective(): EffectivePolicy {
    const managedKeys = Object.keys(this.managed).sort();
    const policy = ClientPolicy.parse({ ...defaultPolicy(), ...this.user, ...this.managed });
    return { policy, managedKeys };
  }

  isManaged(key: keyof ClientPolicy): boolean {
    return Object.hasOwn(this.managed, key);
  }

  setUser(user: UserSettings): void {
    this.user = user;
    const eff = this.effective();
    for (const l of this.listeners) l(eff);
  }

  language(): Language {
    return this.effective().policy.language;
  }

  onChange(listener: (p: EffectivePolicy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
