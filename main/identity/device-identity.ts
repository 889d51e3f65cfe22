import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { SecretVault } from '../secrets/vault';

const ACCOUNT = 'device-ed25519-private-key';

/**
 * This PC's identity towards the gateway: an Ed25519 key pair made on first enrolment. The
 * private key is kept only in the OS keychain (PKCS#8, base64) and never leaves main; the
 * gateway sees the raw 32-byte public key (base64url) and signatures.
 */
export class DeviceIdentity {
  private key: KeyObject | null = null;
  constructor(private readonly vault: SecretVault) {}

  /** Loads the key from the keychain, creating and storing one if this PC has none yet. */
  async ensure(): Promise<{ publicKey: string; created: boolean }> {
    if (this.key) return { publicKey: this.publicKeyOf(this.key), created: false };
    const stored = await this.vault.get(ACCOUNT);
    if (stored) {
      this.key = createPrivateKey({ key: Buffer.from(stored, 'base64'), format: 'der', type: 'pkcs8' });
      return { publicKey: this.publicKeyOf(this.key), created: false };
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    await this.vault.set(ACCOUNT, privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
    this.key = privateKey;
    return { publicKey: this.publicKeyOf(privateKey), created: true };
  }

  /** The public key if this PC already has one (null before the first enrolment); never creates one. */
  async existingPublicKey(): Promise<string | null> {
    if (this.key) return this.publicKeyOf(this.key);
    const stored = await this.vault.get(ACCOUNT);
    return stored ? this.publicKeyOf(createPrivateKey({ key: Buffer.from(stored, 'base64'), format: 'der', type: 'pkcs8' })) : null;
  }

  async publicKey(): Promise<string> {
    return (await this.ensure()).publicKey;
  }

  /** Signs the exact message the gateway will rebuild (see shared/gateway/device-message.ts). */
  async sign(message: string): Promise<string> {
    await this.ensure();
    return sign(null, Buffer.from(message, 'utf8'), this.key!).toString('base64url');
  }

  /** Forgets the key (after an admin reset the next sign-in enrols a new one). */
  async forget(): Promise<void> {
    this.key = null;
    await this.vault.delete(ACCOUNT);
  }

  private publicKeyOf(priv: KeyObject): string {
    const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
    // Ed25519 SPKI = 12-byte header + 32-byte key.
    return spki.subarray(spki.length - 32).toString('base64url');
  }
}
