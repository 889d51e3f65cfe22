// The refusal that is audited although the request's own transaction rolls back (route() in
// server/http.ts writes its events in a transaction of their own). Its own module, depending on
// nothing of the gateway's context, so any service may throw it (server/auth/authority.ts
// re-exports it).
import type { AuditEvent } from '../audit/audit';
import type { ErrorCode } from '../../shared/gateway/errors';
import { GatewayError } from '../errors';

/**
 * A refusal that must leave audit entries although the request's own transaction rolls
 * back. route() (server/http.ts) writes `audits` in a transaction of its own and then answers
 * with the error. The answer is code and message only: the event never reaches the client.
 */
export class AuditedRefusal extends GatewayError {
  readonly audits: AuditEvent[];
  constructor(code: ErrorCode, message: string, audits: AuditEvent | AuditEvent[], extra: Record<string, unknown> = {}) {
    super(code, message, extra);
    this.audits = Array.isArray(audits) ? audits : [audits];
  }
}
