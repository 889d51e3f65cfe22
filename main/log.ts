import type { Logger } from './ipc/dispatcher';

/** Structured, one-line log records. Callers pass codes and names, never tokens, passwords or customer data. */
export function consoleLogger(scope: string, sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) =>
    sink(JSON.stringify({ t: new Date().toISOString(), level, scope, message, ...fields }));
  return {
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
