// auth_ephemeral credentials (Kamailio kamailio-autheph-modules, username_format 1, HMAC-SHA1):
// username "<expiry unix seconds>:<sip user>", password base64(HMAC-SHA1(secret, username)).
// Nothing is stored: Kamailio recomputes the password from the shared secret.
import { createHmac } from 'node:crypto';

export function ephemeralCredentials(secret: string, sipUser: string, expiresAt: Date): { username: string; password: string } {
  const username = `${Math.floor(expiresAt.getTime() / 1000)}:${sipUser}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}
