// An in-memory SecretVault (main/secrets/vault.ts) for tests that drive main's services against
// a real gateway without an OS keychain. Tests of the keychain itself use the real one
// (gnome-keyring in the test run) or memory-keytar.ts beneath the real KeytarVault.
import type { SecretVault } from '../../main/secrets/vault';

export class MemoryVault implements SecretVault {
  readonly data = new Map<string, string>();
  async get(k: string) {
    return this.data.get(k) ?? null;
  }
  async set(k: string, v: string) {
    this.data.set(k, v);
  }
  async delete(k: string) {
    return this.data.delete(k);
  }
  async available() {
    return true;
  }
}
