import { ERROR_STATUS, type ErrorCode } from '../shared/gateway/errors';

/** Thrown anywhere in a handler; the error handler turns it into `{ error: { code, message, ... } }`. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

