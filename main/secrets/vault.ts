import { logFailure } from '../best-effort';
import { consoleLogger } from '../log';

const vaultLog = consoleLogger('vault');

/**
 * The OS keychain, behind the smallest interface Koe needs. Secrets (the refresh token, the
 * device private key) live only here: never in a file, a log, or the renderer.
 */
export interface SecretVault {
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
  /** True only when a real keychain answers; Koe refuses to sign in otherwise (no plaintext fallback). */
  available(): Promise<boolean>;
}

/** The part of keytar Koe uses (injected, so tests can also run the real module). */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export class KeychainUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`The OS keychain is not available: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'KeychainUnavailableError';
  }
}

/** One keychain service per gateway, so two gateways never share a token or a device key. */
export function vaultServiceName(gatewayUrl: string): string {
  return `Koe (${new URL(gatewayUrl).origin})`;
}

export class KeytarVault implements SecretVault {
  constructor(
    private readonly keytar: KeytarLike,
    private readonly service: string,
  ) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new KeychainUnavailableError(err);
    }
  }

  get(account: string) {
    return this.call(() => this.keytar.getPassword(this.service, account));
  }

  set(account: string, secret: string) {
    return this.call(() => this.keytar.setPassword(this.service, account, secret));
  }

  delete(account: string) {
    return this.call(() => this.keytar.deletePassword(this.service, account));
  }

  async available(): Promise<boolean> {
    const probe = `koe-probe-${process.pid}`;
    try {
      await this.keytar.setPassword(this.service, probe, 'probe');
      const back = await this.keytar.getPassword(this.service, probe);
      await this.keytar.deletePassword(this.service, probe);
      return back === 'probe';
    } catch (err) {
      // no keychain is this probe's answer (sign-in is then refused with a clear message); the cause is logged
      logFailure(vaultLog, 'probing the OS keychain', err);
      return false;
    }
  }
}

/** Lazily loads the native keytar module; a missing or broken module means "no keychain", never a crash. */
export async function loadKeytar(): Promise<KeytarLike | null> {
  try {
    const mod = (await import('keytar')) as unknown as { default?: KeytarLike } & KeytarLike;
    return mod.default ?? mod;
  } catch (err) {
    // no keytar means no keychain (UnavailableVault), never a crash; the cause is logged
    logFailure(vaultLog, 'loading the keytar module', err, {}, 'error');
    return null;
  }
}

/** Used when keytar cannot load at all: every call fails, so sign-in is refused with a clear message. */
export class UnavailableVault implements SecretVault {
  constructor(private readonly why: string) {}
  private fail(): never {
    throw new KeychainUnavailableError(this.why);
  }
  async get(): Promise<string | null> {
    this.fail();
  }
  async set(): Promise<void> {
    this.fail();
  }
  async delete(): Promise<boolean> {
    this.fail();
  }
  async available() {
    return false;
  }
}
