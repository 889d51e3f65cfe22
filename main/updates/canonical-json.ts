/**
 * Canonical JSON for signing update metadata: object keys sorted (by UTF-16 code unit, JS's
 * default sort), no whitespace, strings and numbers as JSON.stringify writes them. The signer
 * (scripts/release-sign.ts) and the verifier (main/updates/verify.ts) are the same code, so one
 * serialisation of numbers is enough; anything JSON cannot carry exactly is refused rather than
 * silently changed (undefined, NaN, Infinity, functions, class instances, -0, lone surrogates).
 */
export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, at: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${at}: not a finite number`);
      if (Object.is(value, -0)) throw new CanonicalJsonError(`${at}: -0 has no canonical form`);
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(`${at}: a string with a lone surrogate`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${at}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(`${at}: not a plain object`);
      const keys = Object.keys(value).sort();
      const parts = keys.map((k) => {
        if (LONE_SURROGATE.test(k)) throw new CanonicalJsonError(`${at}: a key with a lone surrogate`);
        return `${JSON.stringify(k)}:${write((value as Record<string, unknown>)[k], `${at}.${k}`)}`;
      });
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`${at}: ${typeof value} has no JSON form`);
  }
}
