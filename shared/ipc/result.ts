import { z } from 'zod';

/** Stable error codes that cross the IPC boundary. */
export const IpcErrorCode = z.enum([
  'forbidden_sender',
  'unknown_channel',
  'invalid_payload',
  'invalid_result',
  'locked',
  'not_allowed',
  'unavailable',
  'internal',
]);
export type IpcErrorCode = z.infer<typeof IpcErrorCode>;

export const IpcError = z.object({ code: IpcErrorCode, message: z.string() }).strict();
export type IpcError = z.infer<typeof IpcError>;

/** Every invoke answers with one of these; a bad call never throws across the bridge. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export const ok = <T>(value: T): IpcResult<T> => ({ ok: true, value });
export const fail = (code: IpcErrorCode, message: string): IpcResult<never> => ({
  ok: false,
  error: { code, message },
});

/** Shape check for results that arrive from an untrusted transport. */
export const IpcResultEnvelope = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), error: IpcError }).strict(),
]);
