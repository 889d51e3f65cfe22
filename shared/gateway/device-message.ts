// The exact bytes a device signs. Purpose, user, challenge and key are all inside, so a
// signature made to sign in cannot be replayed to refresh, for another user, or with
// another key. Client (main process) and gateway both build it from here.

export type DeviceSignaturePurpose = 'sign-in' | 'refresh';

export const DEVICE_SIGNATURE_VERSION = 'koe-device-signature-v1';

export function deviceSignatureMessage(input: {
  purpose: DeviceSignaturePurpose;
  username: string;
  challenge: string;
  publicKey: string;
}): string {
  return [DEVICE_SIGNATURE_VERSION, input.purpose, input.username, input.challenge, input.publicKey].join('\n');
}

/** Usernames are compared in this form everywhere (sign-in, lockout, challenges). */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}
