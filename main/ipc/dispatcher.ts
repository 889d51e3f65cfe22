import { channelTable } from '../../shared/ipc/contract';
import { fail, ok, type IpcResult } from '../../shared/ipc/result';
import { isTrustedSender, originOf, type SenderInfo } from '../security/sender';
import { IpcFailure, type HandlerTable } from './handlers';

export interface Logger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type Dispatch = (sender: SenderInfo, channel: string, rawInput: unknown) => Promise<IpcResult<unknown>>;

/**
 * The IPC guard: sender first, then the lock (channels marked `whileLocked: 'refuse'`), then
 * the payload against the contract, then the handler, then
 * the result against the contract again (so a handler can never leak a field the contract
 * does not declare). Every path answers with an IpcResult; nothing throws to the caller.
 */
export function createDispatcher(
  handlers: HandlerTable,
  appOrigin: string,
  log: Logger,
  isLocked: () => boolean = () => false,
): Dispatch {
  const table = handlers as unknown as Record<string, Record<string, (input: unknown, ctx: { origin: string }) => unknown>>;
  return async (sender, channel, rawInput) => {
    if (!isTrustedSender(sender, appOrigin)) {
      log.warn('ipc: refused sender', { channel: String(channel).slice(0, 64), origin: originOf(sender.url) });
      return fail('forbidden_sender', 'IPC is accepted only from the Koe window');
    }
    const def = typeof channel === 'string' ? channelTable.get(channel) : undefined;
    if (!def) return fail('unknown_channel', `Unknown channel: ${String(channel).slice(0, 64)}`);
    if (def.whileLocked === 'refuse' && isLocked()) return fail('locked', `${channel} is not available while Koe is locked`);
    const parsed = def.input.safeParse(rawInput);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // bounded: zod names every unknown key and the path of a deep value (the IPC fuzz sent
      // 2,000 keys and 2,000 levels: the answer quoted them all back)
      const where = issue?.path.length ? cut(issue.path.map(String).join('.'), 100) : '(argument)';
      return fail('invalid_payload', `${channel}: ${where}: ${cut(issue?.message ?? 'invalid', 200)}`);
    }
    const [ns, method] = channel.split(':') as [string, string];
    try {
      const value = await table[ns]![method]!(parsed.data, { origin: appOrigin });
      const checked = def.output.safeParse(value);
      if (!checked.success) {
        log.error('ipc: handler result does not match the contract', { channel });
        return fail('invalid_result', `${channel}: result does not match the contract`);
      }
      return ok(checked.data);
    } catch (err) {
      if (err instanceof IpcFailure) return fail(err.code, err.message);
      log.error('ipc: handler failed', { channel, error: (err as Error)?.name });
      return fail('internal', `${channel} failed`);
    }
  };
}

/** At most `max` characters, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
