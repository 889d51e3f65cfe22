import type { MethodOf, Namespace, OutputOf, ParsedInputOf } from '../../shared/ipc/contract';
import type { IpcErrorCode } from '../../shared/ipc/result';

/** Who is calling: what the IPC guard has already established about the sender. */
export interface CallContext {
  origin: string;
}

/** Main's handler table: its shape is derived from the contract, so a missing or mistyped handler is a type error. */
export type HandlerTable = {
  [N in Namespace]: {
    [M in MethodOf<N>]: (input: ParsedInputOf<N, M>, ctx: CallContext) => Promise<OutputOf<N, M>> | OutputOf<N, M>;
  };
};

/** Thrown by a handler to answer with a typed error instead of a result. */
export class IpcFailure extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IpcFailure';
  }
}
