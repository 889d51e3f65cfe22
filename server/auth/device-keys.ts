// Ed25519 device keys: raw 32-byte public keys (base64url) verified with node:crypto.
import { createPublicKey, verify } from 'node:crypto';
import { deviceSignatureMessage, type DeviceSignaturePurpose } from '../../shared/gateway/device-message';

export function verifyDeviceSignature(input: {
  publicKey: string;
  signature: string;
  purpose: DeviceSignaturePurpose;
  username: string;
  challenge: string;
}): boolean {
  try {
    const raw = Buffer.from(input.publicKey, 'base64url');
    if (raw.length !== 32) return false;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: input.publicKey }, format: 'jwk' });
    const sig = Buffer.from(input.signature, 'base64url');
    if (sig.length !== 64) return false;
    const message = Buffer.from(deviceSignatureMessage(input), 'utf8');
    return verify(null, message, key, sig);
  } catch (err) {
    // a key or signature crypto cannot read is a refusal (the caller audits the failed sign-in);
    // anything else is a bug and is not hidden
    if (err instanceof TypeError || (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_'))) return false;
    throw err;
  }
}
