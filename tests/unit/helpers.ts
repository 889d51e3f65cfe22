import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../main/ipc/dispatcher';
import { FakePowerMonitor } from '../../main/lock/idle-monitor';
import { createMainServices, type MainDeps, type MainServices } from '../../main/services';
import type { FetchLike } from '../../main/services/gateway-health';

export const APP_ORIGIN = 'koe://app';
export const APP_SENDER = { url: 'koe://app/index.html', isMainFrame: true } as const;

export function tempDir(prefix = 'koe-unit-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** A fetch that answers /health like the gateway does, and records what it was asked. */
export function fakeFetch(body: unknown = { status: 'ok', version: '1.2.3' }, ok = true) {
  const calls: { url: string; init?: Parameters<FetchLike>[1] }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    return { ok, status: ok ? 200 : 503, json: async () => body };
  };
  return { fetch, calls };
}

export function recordingLogger() {
  const records: { level: 'warn' | 'error'; message: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    warn: (message, fields) => void records.push({ level: 'warn', message, fields }),
    error: (message, fields) => void records.push({ level: 'error', message, fields }),
  };
  return { log, records };
}

export type TestServices = MainServices & { opened: string[]; clock: ReturnType<typeof fakeClock>; userDataDir: string };

export async function makeServices(overrides: Partial<MainDeps> = {}): Promise<TestServices> {
  const opened: string[] = [];
  const clock = fakeClock();
  const userDataDir = overrides.userDataDir ?? tempDir();
  const services = await createMainServices({
    app: { getName: () => 'Koe', getVersion: () => '0.1.0', getLocale: () => 'ja-JP' },
    host: 'electron',
    platform: 'linux',
    userDataDir,
    managedPolicy: {},
    fetch: fakeFetch().fetch,
    dropConnections: async () => undefined, // the fake fetch holds no connections
    clock,
    openExternal: async (url) => void opened.push(url),
    externalAllowlist: ['help.koe.example'],
    keytar: null,
    power: new FakePowerMonitor(),
    deviceName: () => 'TEST-PC',
    ...overrides,
  });
  return Object.assign(services, { opened, clock, userDataDir });
}

/**
 * Main's session says `user-1` is signed in (the sign-in itself is tested elsewhere): what the
 * lock guards (main/lock/lock-service.ts) and the outbox are for. Returns the state.
 */
export function signedInAs(s: MainServices, id = 'user-1') {
  const state = {
    status: 'signed-in' as const,
    user: { id, username: 'op-1', displayName: '佐藤', role: 'operator', permissions: ['calls:handle'] },
    device: null, totpEnrolmentRequired: false, passwordChangeRequired: false, absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  s.session.current = () => state;
  return state;
}
