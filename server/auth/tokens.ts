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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

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
      // Every id claim names a uuid column: a token whose claims are not UUIDs (only a holder of
      // the signing secret could make one) is refused here, never handed to the database.
      if (!isUuid(sub) || !isUuid(org) || !isUuid(sid) || (did !== null && !isUuid(did))) {
        throw new GatewayError('token_invalid', 'access token claims are malformed');
      }
      return { userId: sub, orgId: org, sessionId: sid, deviceId: (did as string | null) ?? null };
    } catch (e) {
      if (e instanceof GatewayError) throw e.code === 'token_invalid' ? new ForgedTokenError('malformed_claims') : e;
      if (e instanceof joseErrors.JWTExpired) throw new GatewayError('token_expired', 'access token expired: refresh it');
      throw new ForgedTokenError(forgeryReason(e));
    }
  }
}

/**
 * A token that did not verify: bad signature, an algorithm other than HS256 (alg:none), the
 * wrong issuer or audience, a malformed JWT or claims. To the caller it is token_invalid like
 * any other; `reason` is for the audit entry only (authenticate writes it, coalesced per IP).
 */
export class ForgedTokenError extends GatewayError {
  constructor(readonly reason: string) {
    super('token_invalid', 'access token is not valid');
  }
}

function forgeryReason(e: unknown): string {
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) return 'alg_not_allowed';
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim_${e.claim}`;
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return 'malformed';
  return 'invalid';
}

export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
