// Recovery codes as people type them back: the gateway issues "xxxxx-xxxxx" (lowercase letters
// and digits), and a person may type it in capitals, with spaces, without the hyphen, or paste
// it with a trailing newline. One normal form, used by the gateway before hashing and by the
// client before sending, so the two cannot disagree about what "the same code" is.

/** Letters and digits only, lowercased; re-hyphenated after five when there are ten of them. */
export function normalizeRecoveryCode(code: string): string {
  const bare = code.normalize('NFKC').replace(/[\s-]+/g, '').toLowerCase();
  return bare.length === 10 ? `${bare.slice(0, 5)}-${bare.slice(5)}` : bare;
}

/** What a recovery code field accepts as typed (the gateway's schema): letters, digits, hyphens, spaces. */
export const RECOVERY_CODE_TYPED = /^[A-Za-z0-9\s-]{10,60}$/;
