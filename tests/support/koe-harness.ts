import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KoeApi } from '../../shared/ipc/api';
import { createDispatcher } from '../../main/ipc/dispatcher';
import { createHandlers, createMainServices, wireEvents, type MainDeps } from '../../main/services';
import { buildKoeApi } from '../../preload/api';
import { FakePowerMonitor } from '../../main/lock/idle-monitor';

export const APP_ORIGIN = 'koe://app';
export const silentLogger = { warn: () => undefined, error: () => undefined };

/**
 * Main's real services and handlers, reached through the real preload builder and the real
 * IPC guard, in-process: what a component sees is what Electron would hand it.
 */
export async function createKoeInProcess(overrides: Partial<MainDeps> = {}) {
  const services = await createMainServices({
    app: { getName: () => 'Koe', getVersion: () => '9.8.7', getLocale: () => 'ja-JP' },
    host: 'electron',
    platform: 'linux',
    userDataDir: mkdtempSync(path.join(os.tmpdir(), 'koe-test-')),
    managedPolicy: {},
    fetch: async () => ({ ok: true, status: 200, json: async () => ({ status: 'ok', version: '1.2.3' }) }),
    dropConnections: async () => undefined, // the fake fetch holds no connections
    clock: { now: () => 1_700_000_000_000 },
    openExternal: async () => undefined,
    externalAllowlist: [],
    keytar: null,
    power: new FakePowerMonitor(),
    deviceName: () => 'TEST-PC',
    ...overrides,
  });
  const dispatch = createDispatcher(createHandlers(services), APP_ORIGIN, silentLogger, () => services.lock.current().locked);
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  wireEvents(services, (event, payload) => listeners.get(event)?.forEach((l) => l(payload)));
  const api: KoeApi = buildKoeApi({
    invoke: (channel, input) => dispatch({ url: `${APP_ORIGIN}/index.html`, isMainFrame: true }, channel, input),
    subscribe(event, listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => void set.delete(listener);
    },
  });
  return { services, api };
}
