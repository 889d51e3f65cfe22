// Pure password rules: the gateway enforces them, the client may show them early.
import { COMMON_PASSWORDS } from './common-passwords';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireUpper: boolean;
  requireLower: boolean;
  requireDigit: boolean;
  requireSymbol: boolean;
  /** Extra org-specific words refused (case-insensitive), on top of the common list. */
  blocklist: string[];
  /** A new password may not equal any of the last N (checked by the gateway against hashes). */
  historyCount: number;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: 8,
  maxLength: 256,
  requireUpper: true,
  requireLower: true,
  requireDigit: true,
  requireSymbol: true,
  blocklist: [],
  historyCount: 5,
};

export type PasswordViolation =
  | 'too_short'
  | 'too_long'
  | 'missing_upper'
  | 'missing_lower'
  | 'missing_digit'
  | 'missing_symbol'
  | 'common_password'
  | 'contains_username';

const COMMON = new Set(COMMON_PASSWORDS);

/** Every rule the password breaks (empty when it is acceptable). History is not checked here. */
export function passwordViolations(
  password: string,
  policy: PasswordPolicy,
  context: { username?: string } = {},
): PasswordViolation[] {
  const out: PasswordViolation[] = [];
  const length = [...password].length;
  if (length < policy.minLength) out.push('too_short');
  if (length > policy.maxLength) out.push('too_long');
  if (policy.requireUpper && !/\p{Lu}/u.test(password)) out.push('missing_upper');
  if (policy.requireLower && !/\p{Ll}/u.test(password)) out.push('missing_lower');
  if (policy.requireDigit && !/\p{Nd}/u.test(password)) out.push('missing_digit');
  if (policy.requireSymbol && !/[^\p{L}\p{N}]/u.test(password)) out.push('missing_symbol');
  const lower = password.normalize('NFKC').toLowerCase();
  const extra = policy.blocklist.map((w) => w.normalize('NFKC').toLowerCase());
  if (COMMON.has(lower) || extra.some((w) => w.length > 0 && lower.includes(w))) out.push('common_password');
  const user = context.username?.normalize('NFKC').toLowerCase();
  if (user && user.length >= 3 && lower.includes(user)) out.push('contains_username');
  return out;
}
