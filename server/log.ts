// What the request log may say about a request. Query strings carry search terms and phone
// numbers (GET /customers/search?q=…, /customers/lookup?phone=…), so every query value
// goes through the card-number rule before it is logged; the Authorization header is
// redacted by the logger's `redact` option.
import type { FastifyRequest } from 'fastify';
import { redactCardNumbers } from '../shared/rules/card-redaction';

/** The URL with each query value decoded, card-redacted and re-encoded. */
export function logSafeUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  try {
    const params = new URLSearchParams(url.slice(q + 1));
    const safe = new URLSearchParams();
    for (const [k, v] of params) safe.append(redactCardNumbers(k), redactCardNumbers(v));
    return `${url.slice(0, q)}?${safe.toString()}`;
  } catch {
    return `${url.slice(0, q)}?[unparsable query]`;
  }
}

export const logSerializers = {
  req(req: FastifyRequest) {
    return { method: req.method, url: logSafeUrl(req.url), hostname: req.hostname, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
  },
};

/**
 * What a log line may say about an unexpected error: its class, code and message, and the
 * stack, but never a database driver's query text or parameters (names, e-mails, notes).
 */
export function errorSummary(err: unknown): { type: string; code?: string; message: string; stack?: string } {
  if (!(err instanceof Error)) return { type: typeof err, message: 'non-Error value thrown' };
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: err.message.slice(0, 300),
    ...(err.stack ? { stack: err.stack.split('\n').slice(1, 8).join('\n') } : {}),
  };
}
