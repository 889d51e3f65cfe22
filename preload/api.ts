import { contract, eventNames, type EventName } from '../shared/ipc/contract';
import type { IpcTransport, KoeApi } from '../shared/ipc/api';
import { fail, IpcResultEnvelope, type IpcResult } from '../shared/ipc/result';

/**
 * Builds `window.koe` from the contract. The same builder serves Electron's preload and the
 * dev host's bridge; only the transport differs. Whatever the transport answers, the caller
 * gets an IpcResult: a broken transport becomes `unavailable`, never a throw.
 */
export function buildKoeApi(transport: IpcTransport): KoeApi {
  const api: Record<string, unknown> = {};
  for (const [ns, methods] of Object.entries(contract.invoke)) {
    const group: Record<string, (input: unknown) => Promise<IpcResult<unknown>>> = {};
    for (const method of Object.keys(methods)) {
      const name = `${ns}:${method}`;
      group[method] = async (input: unknown) => {
        let raw: unknown;
        try {
          raw = await transport.invoke(name, input ?? {});
        } catch (err) {
          return fail('unavailable', `IPC transport failed on ${name}: ${(err as Error)?.message ?? String(err)}`);
        }
        const parsed = IpcResultEnvelope.safeParse(raw);
        return parsed.success
          ? (parsed.data as IpcResult<unknown>)
          : fail('invalid_result', `Malformed answer on ${name}`);
      };
    }
    api[ns] = Object.freeze(group);
  }
  api.on = (event: EventName, listener: (payload: unknown) => void) => {
    if (!eventNames.includes(event)) throw new TypeError(`Unknown Koe event: ${String(event)}`);
    if (typeof listener !== 'function') throw new TypeError('Koe event listener must be a function');
    return transport.subscribe(event, (payload) => {
      const parsed = contract.events[event].safeParse(payload);
      if (parsed.success) listener(parsed.data);
    });
  };
  return Object.freeze(api) as KoeApi;
}
