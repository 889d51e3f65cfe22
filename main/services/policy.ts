import { ClientPolicy, defaultPolicy } from '../../shared/policy';
import type { EffectivePolicy, Language } from '../../shared/ipc/contract';
import { ClientPolicySchema, type OrgClientPolicy } from '../../shared/gateway/policy';
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

/** The stricter of two org policies, field by field (the same rule as combineWithOrg). */
export function stricterOrg(a: OrgClientPolicy, b: OrgClientPolicy | null): OrgClientPolicy {
  if (!b) return a;
  return {
    idleTimeoutSeconds: Math.min(a.idleTimeoutSeconds, b.idleTimeoutSeconds),
    contentProtection: a.contentProtection || b.contentProtection,
    blurOnFocusLoss: a.blurOnFocusLoss || b.blurOnFocusLoss,
  };
}

/** The org policy's own defaults: what an org that says nothing asks. */
export const ORG_DEFAULTS: OrgClientPolicy = ClientPolicySchema.parse({});

/**
 * The org's part of the policy: none (signed out), pending (signed in, the gateway has not
 * answered yet: OrgPolicyFetcher keeps asking) or known.
 */
type OrgPart = { status: 'none' } | { status: 'pending' } | { status: 'known'; policy: OrgClientPolicy };

/**
 * The client's effective policy: defaults, then the user's own preferences, then the
 * machine-wide managed policy, whose keys the user cannot change; then, while signed in,
 * the org's (the stricter value wins). While the org's policy has not arrived, the stricter
 * of the org defaults and the last org policy this process received stands in for it: a
 * fetch that fails never loosens the lock timeout or the capture protection.
 */
export class PolicyService {
  private listeners = new Set<(p: EffectivePolicy) => void>();
  private org: OrgPart = { status: 'none' };
  private lastKnownOrg: OrgClientPolicy | null = null;
  constructor(
    private readonly managed: ManagedPolicy,
    private user: UserSettings,
  ) {}

  effective(): EffectivePolicy {
    const managedKeys = Object.keys(this.managed).sort();
    // Only the user's choices that are policy keys: the settings file holds others too (the
    // audio devices), which the strict policy schema refuses; spreading the whole file made
    // every policy read throw once a user had picked a microphone (at the next start: no app).
    const fromUser: Partial<ClientPolicy> = {
      ...(this.user.language ? { language: this.user.language } : {}),
      ...(this.user.theme ? { theme: this.user.theme } : {}),
    };
    const local = ClientPolicy.parse({ ...defaultPolicy(), ...fromUser, ...this.managed });
    return { policy: combineWithOrg(local, this.orgPolicy()), managedKeys };
  }

  /** The org part that applies now (null when signed out). */
  private orgPolicy(): OrgClientPolicy | null {
    if (this.org.status === 'known') return this.org.policy;
    if (this.org.status === 'pending') return stricterOrg(ORG_DEFAULTS, this.lastKnownOrg);
    return null;
  }

  /** True while signed in and the org's policy has not arrived. */
  orgPending(): boolean {
    return this.org.status === 'pending';
  }

  isManaged(key: keyof ClientPolicy): boolean {
    return Object.hasOwn(this.managed, key);
  }

  setUser(user: UserSettings): void {
    this.user = user;
    this.emit();
  }

  /** The org's client policy from the gateway (null when signed out: the org part goes). */
  setOrg(org: OrgClientPolicy | null): void {
    if (org) this.lastKnownOrg = { ...org };
    this.org = org ? { status: 'known', policy: { ...org } } : { status: 'none' };
    this.emit();
  }

  /** Signed in, the org's policy asked for and not yet here: the stricter known values apply. */
  setOrgPending(): void {
    this.org = { status: 'pending' };
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
