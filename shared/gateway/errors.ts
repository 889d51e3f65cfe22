// Stable error codes of the gateway HTTP API: clients switch on `code`, never on `message`.
import { z } from 'zod';
import { PolicyLockout } from './admin-policy';

export const ERROR_STATUS = {
  validation_failed: 400,
  password_policy: 400,
  /** A policy change that would refuse its own author's address (details: `lockout`). */
  policy_lockout: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  totp_required: 401,
  totp_invalid: 401,
  device_signature_required: 401,
  challenge_invalid: 401,
  signature_invalid: 401,
  token_invalid: 401,
  token_expired: 401,
  token_reused: 401,
  session_expired: 401,
  session_revoked: 401,
  forbidden: 403,
  account_disabled: 403,
  ip_not_allowed: 403,
  device_mismatch: 403,
  device_revoked: 403,
  device_not_enrolled: 403,
  totp_enrolment_required: 403,
  /** The password is a temporary one an admin set: only the password change is open until it is changed. */
  password_change_required: 403,
  not_found: 404,
  conflict: 409,
  /** A role, team or campaign still in use cannot be deleted: `violations` name what holds it ("users=3"). */
  in_use: 409,
  /** The org's last administrator cannot be disabled, deleted or demoted (server/auth/authority.ts assertAdminsRemain). */
  last_admin: 409,
  /** A note's edit window (org policy notes.editWindowMinutes) has passed, or the org allows no edits (0). */
  edit_window_expired: 409,
  /** A closed note, and the org policy (notes.closedNotesEditable) keeps closed notes as they are. */
  note_closed: 409,
  payload_too_large: 413,
  /** A recording's stream: the Range asked lies outside it (Content-Range: bytes *\/<length>). */
  range_not_satisfiable: 416,
  unsupported_media_type: 415,
  account_locked: 423,
  rate_limited: 429,
  internal_error: 500,
  /** The database is unreachable for a moment (a PostgreSQL restart or failover): retry; nothing was half-written. */
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export const ErrorBody = z.strictObject({
  error: z.object({
    code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    lockedUntil: z.string().optional(),
    retryAfterSeconds: z.number().optional(),
    violations: z.array(z.string()).optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    lockout: PolicyLockout.optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
