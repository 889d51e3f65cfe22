import type { Contract, EventName, EventPayload, InputOf, MethodOf, Namespace, OutputOf } from './contract';
import type { IpcResult } from './result';

/** The renderer's view of `window.koe`, derived from the contract: nothing typed twice. */
export type KoeApi = {
  [N in Namespace]: {
    [M in MethodOf<N>]: (input: InputOf<N, M>) => Promise<IpcResult<OutputOf<N, M>>>;
  };
} & {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

/** How the API reaches main: Electron's ipcRenderer, or the dev host's loopback socket. */
export interface IpcTransport {
  invoke(channel: string, input: unknown): Promise<unknown>;
  subscribe(event: string, listener: (payload: unknown) => void): () => void;
}

export type { Contract };
