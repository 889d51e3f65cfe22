// Playback capabilities (docs/telephony.md "Recordings"): a short-lived, single-purpose token
// bound to one user, device, session and recording, HMAC-SHA256-signed with a key derived from
// the gateway's JWT secret (HKDF, its own label: a capability is never an access token and an
// access token is never a capability). The stream route checks it on every request besides
// the bearer token, the permission and the scope.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const PURPOSE = 'recording.stream';

export interface CapabilityClaims {
  /** recording id */
  rid: string;
  uid: string;
  did: string | null;
  sid: string;
  /** playback id (recording_playbacks.id): what every request of this playback is counted on */
  pb: string;
  /** expiry, unix ms */
  exp: number;
}

export class Capabilities {
  private readonly key: Buffer;
  constructor(jwtSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(jwtSecret, 'utf8'), Buffer.alloc(0), Buffer.from('koe recording capability v1'), 32));
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(`koe-rec-cap-v1.${payload}`).digest();
  }

  issue(c: CapabilityClaims): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, p: PURPOSE, ...c })).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The claims if `token` is one of ours, for this purpose and not expired at `now`; else null (the caller says why to nobody). */
  verify(token: string, now: Date): CapabilityClaims | null {
    const dot = token.indexOf('.');
    if (dot < 1) return null;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = this.mac(payload);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return null; // signed by us, so never malformed; refused all the same
    }
    if (claims.v !== 1 || claims.p !== PURPOSE || typeof claims.exp !== 'number' || claims.exp <= now.getTime()) return null;
    const { rid, uid, did, sid, pb, exp } = claims;
    if (typeof rid !== 'string' || typeof uid !== 'string' || typeof sid !== 'string' || typeof pb !== 'string' || !(did === null || typeof did === 'string')) return null;
    return { rid, uid, did, sid, pb, exp };
  }
}
