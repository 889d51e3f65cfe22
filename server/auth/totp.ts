// TOTP (RFC 6238: SHA-1, 6 digits, 30 s) with a ±1 step window and replay refusal: a code's
// time step must be later than the last one accepted for that user.
import { createHash, randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';

export const TOTP_ISSUER = 'Koe';

function totpFor(secret: string, username: string) {
  return new OTPAuth.TOTP({
    issuer: TOTP_ISSUER,
    label: username,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: OTPAuth.Secret.fromBase32(secret),
  });
}

/**
 * The one test of "this user has a second factor": TOTP enabled with a secret stored. Returns
 * the secret to check codes against, or null.
 */
export function activeTotpSecret(user: { totp_enabled: boolean; totp_secret: string | null }): string | null {
  return user.totp_enabled && user.totp_secret ? user.totp_secret : null;
}

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

export async function totpEnrolment(secret: string, username: string) {
  const otpauthUri = totpFor(secret, username).toString();
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M' });
  return { secret, otpauthUri, qrSvg };
}

/** The accepted time-step counter, or null. `lastCounter` refuses replays. */
export function checkTotp(secret: string, username: string, code: string, now: Date, lastCounter: number | null): number | null {
  const totp = totpFor(secret, username);
  const delta = totp.validate({ token: code, timestamp: now.getTime(), window: 1 });
  if (delta === null) return null;
  const counter = Math.floor(now.getTime() / 1000 / 30) + delta;
  if (lastCounter !== null && counter <= lastCounter) return null;
  return counter;
}

/** For tests and tools: the code for a moment. */
export function totpCode(secret: string, at: Date): string {
  return totpFor(secret, 'x').generate({ timestamp: at.getTime() });
}

/** Recovery codes: 10 random codes "xxxxx-xxxxx"; only SHA-256 hashes are stored (they are high-entropy). */
export function newRecoveryCodes(count = 10): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export { normalizeRecoveryCode } from '../../shared/rules/recovery-code';
