// Access tokens: short-lived JWTs (HS256, audience-scoped) that name a session; the session
// row is checked on every request, so sign-out and admin revoke take effect at once.
// Refresh tokens: 32 random bytes, only their SHA-256 stored, one-time use (rotation).
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '../clock';
import { GatewayError } from '../errors';

export interface AccessClaims {
  userId: string;
  orgId: string;
  sessionId: string;
  deviceId: string | null;
}

export class AccessTokens {
  private readonly key: Uint8Array;
  constructor(
    secret: string,
    private readonly issuer: string,
    private readonly audience: string,
    private readonly clock: Clock,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(claims: AccessClaims, minutes: number): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const exp = now + minutes * 60;
    const token = await new SignJWT({ org: claims.orgId, sid: claims.sessionId, did: claims.deviceId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.issuer,
        audience: this.audience,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'exp', 'sid'],
      });
      const { sub, org, sid, did } = payload as Record<string, unknown>;
      if (typeof sub !== 'string' || typeof org !== 'string' || typeof sid !== 'string' || (did !== null && typeof did !== 'string')) {
        throw new GatewayError('token_invalid', 'access token claims are malformed');
      }
      return { userId: sub, orgId: org, sessionId: sid, deviceId: (did as string | null) ?? null };
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw new GatewayError('token_expired', 'access token expired: refresh it');
      throw new GatewayError('token_invalid', 'access token is not valid');
    }
  }
}

export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
