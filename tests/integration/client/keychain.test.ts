import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { verify, createPublicKey } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeviceIdentity } from '../../../main/identity/device-identity';
import { KeytarVault, loadKeytar, type KeytarLike } from '../../../main/secrets/vault';

// Real keytar against a real Secret Service (gnome-keyring in its own D-Bus session,
// started by scripts/test.sh). If it is missing, these tests fail and say so.
let keytar: KeytarLike;
const service = `Koe test ${randomUUID()}`;

beforeAll(async () => {
  const loaded = await loadKeytar();
  if (!loaded) throw new Error('keytar did not load: npm ci must build it (needs Debian package libsecret-1-dev)');
  keytar = loaded;
  const vault = new KeytarVault(keytar, service);
  if (!(await vault.available())) {
    throw new Error(
      'No Secret Service: run the tests with `npm test` (it starts gnome-keyring inside dbus-run-session; Debian packages gnome-keyring and dbus)',
    );
  }
});

const spkiOf = (raw: string) =>
  createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(raw, 'base64url')]), format: 'der', type: 'spki' });

describe('OS keychain vault (keytar + gnome-keyring)', () => {
  it('stores, reads back and deletes a secret', async () => {
    const vault = new KeytarVault(keytar, service);
    await vault.set('refresh-token', 's3cr3t-value');
    expect(await vault.get('refresh-token')).toBe('s3cr3t-value');
    expect(await vault.delete('refresh-token')).toBe(true);
    expect(await vault.get('refresh-token')).toBeNull();
  });

  it('keeps gateways apart: another service name sees nothing', async () => {
    await new KeytarVault(keytar, service).set('refresh-token', 'a');
    expect(await new KeytarVault(keytar, `${service} other`).get('refresh-token')).toBeNull();
    await new KeytarVault(keytar, service).delete('refresh-token');
  });

  it('creates one device key per PC, keeps it in the keychain and signs verifiably with it', async () => {
    const vault = new KeytarVault(keytar, `${service} device`);
    const first = await new DeviceIdentity(vault).ensure();
    expect(first.created).toBe(true);
    expect(first.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A new process (new DeviceIdentity) finds the same key in the keychain.
    const again = new DeviceIdentity(vault);
    expect(await again.ensure()).toEqual({ publicKey: first.publicKey, created: false });
    const sig = await again.sign('challenge-123');
    expect(verify(null, Buffer.from('challenge-123'), spkiOf(first.publicKey), Buffer.from(sig, 'base64url'))).toBe(true);
    expect(verify(null, Buffer.from('challenge-124'), spkiOf(first.publicKey), Buffer.from(sig, 'base64url'))).toBe(false);
    // A fresh keychain ("a second PC") makes a different key.
    const other = await new DeviceIdentity(new KeytarVault(keytar, `${service} pc2`)).ensure();
    expect(other.publicKey).not.toBe(first.publicKey);
    await again.forget();
    await new DeviceIdentity(new KeytarVault(keytar, `${service} pc2`)).forget();
  });

  it('reports no keychain when no Secret Service answers, instead of falling back to a file', () => {
    const script = `
      import { KeytarVault, loadKeytar } from ${JSON.stringify(path.resolve('main/secrets/vault.ts'))};
      const k = await loadKeytar();
      const v = new KeytarVault(k, 'Koe no-bus test');
      console.log(JSON.stringify({ available: await v.available(), get: await v.get('x').then(() => 'ok', (e) => e.name) }));
    `;
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/koe-bus', DISPLAY: '' };
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ available: false, get: 'KeychainUnavailableError' });
  });
});
