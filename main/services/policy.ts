import { ClientPolicy, defaultPolicy } from '../../shared/policy';
import type { EffectivePolicy, Language } from '../../shared/ipc/contract';
import type { OrgClientPolicy } from '../../shared/gateway/policy';
import type { UserSettings } from './settings';

export type ManagedPolicy = Partial<ClientPolicy>;

/**
 * Combines the PC's policy with what the org asks (from the gateway, once signed in): the
 * stricter value wins — the shorter idle timeout, and protection on if either side wants it.
 */
export function combineWithOrg(local: ClientPolicy, org: OrgClientPolicy | null): ClientPolicy {
  if (!org) return local;
  return {
    ...local,
    idleTimeoutSeconds: Math.min(local.idleTimeoutSeconds, org.idleTimeoutSeconds),
    contentProtection: local.contentProtection || org.contentProtection,
    blurOnFocusLoss: local.blurOnFocusLoss || org.blurOnFocusLoss,
  };
}

/**
 * The client's effective policy: defaults, then the user's own preferences, then the
 * machine-wide managed policy, whose keys the user cannot change.
 */
export class PolicyService {
  private listeners = new Set<(p: EffectivePolicy) => void>();
  private org: OrgClientPolicy | null = null;
  constructor(
    private readonly managed: ManagedPolicy,
    private user: UserSettings,
  ) {}

  effective(): EffectivePolicy {
    const managedKeys = Object.keys(this.managed).sort();
    const local = ClientPolicy.parse({ ...defaultPolicy(), ...this.user, ...this.managed });
    return { policy: combineWithOrg(local, this.org), managedKeys };
  }

  isManaged(key: keyof ClientPolicy): boolean {
    return Object.hasOwn(this.managed, key);
  }

  setUser(user: UserSettings): void {
    this.user = user;
    this.emit();
  }

  /** The org's client policy from the gateway (null when signed out). */
  setOrg(org: OrgClientPolicy | null): void {
    this.org = org;
    this.emit();
  }

  private emit(): void {
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
