import { afterAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import { channelTable } from '../../../shared/ipc/contract';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { IpcFailure, type HandlerTable } from '../../../main/ipc/handlers';
import { createHandlers } from '../../../main/services';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger, type TestServices } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function setup() {
  const services = await makeServices();
  dirs.push(services.userDataDir);
  const { log, records } = recordingLogger();
  const handlers = createHandlers(services);
  const dispatch = createDispatcher(handlers, APP_ORIGIN, log);
  return { services, handlers, dispatch, records };
}

/** A handler table with every real handler, one replaced (to simulate a buggy or leaking handler). */
function withHandler(s: TestServices, ns: string, method: string, fn: (...a: unknown[]) => unknown): HandlerTable {
  const table = createHandlers(s) as unknown as Record<string, Record<string, unknown>>;
  table[ns] = { ...table[ns], [method]: fn };
  return table as unknown as HandlerTable;
}

describe('createDispatcher with the real handlers', () => {
  it('answers a valid call with {ok:true,value} that matches the contract', async () => {
    const { dispatch } = await setup();
    const res = await dispatch(APP_SENDER, 'app:info', {});
    expect(res).toEqual({
      ok: true,
      value: { name: 'Koe', version: '0.1.0', platform: 'linux', host: 'electron', locale: 'ja-JP' },
    });
    expect(channelTable.get('app:info')!.output.safeParse(res.ok && res.value).success).toBe(true);
  });

  it.each(['app:info', 'policy:get', 'gateway:health', 'lock:state', 'lock:lockNow'])(
    '%s with {} answers a value that matches its output schema',
    async (channel) => {
      const { dispatch } = await setup();
      const res = await dispatch(APP_SENDER, channel, {});
      expect(res.ok).toBe(true);
      expect(channelTable.get(channel)!.output.safeParse(res.ok ? res.value : undefined).success).toBe(true);
    },
  );

  it.each([
    [{ url: 'https://evil.example/', isMainFrame: true }],
    [{ url: 'koe://app/index.html', isMainFrame: false }],
    [{ url: 'http://127.0.0.1:9999/', isMainFrame: true }],
    [{ url: null, isMainFrame: true }],
  ])('refuses sender %j with forbidden_sender, before any handler runs', async (sender) => {
    const { services, records } = await setup();
    const spy = vi.fn(() => ({ opened: true }));
    const dispatch = createDispatcher(withHandler(services, 'shell', 'openExternal', spy), APP_ORIGIN, recordingLogger().log);
    const res = await dispatch(sender, 'shell:openExternal', { url: 'https://help.koe.example/' });
    expect(res).toEqual({ ok: false, error: { code: 'forbidden_sender', message: expect.any(String) } });
    expect(spy).not.toHaveBeenCalled();
    expect(services.opened).toEqual([]);
    expect(records).toEqual([]);
  });

  it('logs a refused sender by origin only, never the full URL', async () => {
    const { services } = await setup();
    const { log, records } = recordingLogger();
    const dispatch = createDispatcher(createHandlers(services), APP_ORIGIN, log);
    await dispatch({ url: 'https://evil.example/steal?token=abc', isMainFrame: true }, 'app:info', {});
    expect(records).toHaveLength(1);
    expect(records[0]!.fields).toEqual({ channel: 'app:info', origin: 'https://evil.example' });
    expect(JSON.stringify(records)).not.toContain('token=abc');
  });

  it.each(['app:nope', 'nope:info', 'app', '', '__proto__:constructor', 'constructor:prototype', 'toString'])(
    'answers unknown_channel for %j',
    async (channel) => {
      const { dispatch } = await setup();
      const res = await dispatch(APP_SENDER, channel, {});
      expect(res.ok).toBe(false);
      expect(!res.ok && res.error.code).toBe('unknown_channel');
    },
  );

  it('answers unknown_channel for a non-string channel', async () => {
    const { dispatch } = await setup();
    const res = await dispatch(APP_SENDER, 42 as unknown as string, {});
    expect(!res.ok && res.error.code).toBe('unknown_channel');
  });

  it.each([
    ['settings:setLanguage', { language: 42 }, 'language'],
    ['settings:setLanguage', { language: 'fr' }, 'language'],
    ['settings:setLanguage', {}, 'language'],
    ['settings:setLanguage', { language: 'en', secret: 'x' }, 'secret'],
    ['settings:setLanguage', 'en', '(argument)'],
    ['settings:setLanguage', null, '(argument)'],
    ['settings:setLanguage', undefined, '(argument)'],
    ['settings:setLanguage', ['en'], '(argument)'],
    ['shell:openExternal', { url: 'x'.repeat(3000) }, 'url'],
    ['shell:openExternal', { url: { toString: 'https://help.koe.example' } }, 'url'],
    ['app:info', { extra: true }, 'extra'],
    ['app:info', 'x', '(argument)'],
  ])('%s with %j -> invalid_payload naming %s', async (channel, input, field) => {
    const { dispatch } = await setup();
    const res = await dispatch(APP_SENDER, channel, input);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error.code).toBe('invalid_payload');
    expect(!res.ok && res.error.message).toContain(channel);
    expect(!res.ok && res.error.message).toContain(field);
  });

  it('does not call the handler when the payload is invalid', async () => {
    const { services } = await setup();
    const spy = vi.fn(() => ({ language: 'en' }));
    const dispatch = createDispatcher(withHandler(services, 'settings', 'setLanguage', spy), APP_ORIGIN, recordingLogger().log);
    await dispatch(APP_SENDER, 'settings:setLanguage', { language: 'en', extra: 1 });
    expect(spy).not.toHaveBeenCalled();
  });

  it('hands the handler the parsed input and the app origin', async () => {
    const { services } = await setup();
    const spy = vi.fn(() => ({ language: 'en' }));
    const dispatch = createDispatcher(withHandler(services, 'settings', 'setLanguage', spy), APP_ORIGIN, recordingLogger().log);
    await dispatch(APP_SENDER, 'settings:setLanguage', { language: 'en' });
    expect(spy).toHaveBeenCalledWith({ language: 'en' }, { origin: APP_ORIGIN });
  });

  it('answers invalid_result when a handler returns a field the contract does not declare (a leak)', async () => {
    const { services } = await setup();
    const { log, records } = recordingLogger();
    const leaky = () => ({ ...services.appInfo.info(), secret: 'refresh-token-123' });
    const dispatch = createDispatcher(withHandler(services, 'app', 'info', leaky), APP_ORIGIN, log);
    const res = await dispatch(APP_SENDER, 'app:info', {});
    expect(res).toEqual({ ok: false, error: { code: 'invalid_result', message: expect.any(String) } });
    expect(JSON.stringify(res)).not.toContain('refresh-token-123');
    expect(JSON.stringify(records)).not.toContain('refresh-token-123');
    expect(records.some((r) => r.level === 'error')).toBe(true);
  });

  it('answers invalid_result when a handler returns the wrong type', async () => {
    const { services } = await setup();
    const dispatch = createDispatcher(withHandler(services, 'lock', 'state', () => ({ locked: 'yes' })), APP_ORIGIN, recordingLogger().log);
    const res = await dispatch(APP_SENDER, 'lock:state', {});
    expect(!res.ok && res.error.code).toBe('invalid_result');
  });

  it.each(['not_allowed', 'locked', 'unavailable'] as const)('a handler throwing IpcFailure(%s) answers with that code', async (code) => {
    const { services } = await setup();
    const thrower = () => {
      throw new IpcFailure(code, `refused: ${code}`);
    };
    const dispatch = createDispatcher(withHandler(services, 'lock', 'lockNow', thrower), APP_ORIGIN, recordingLogger().log);
    expect(await dispatch(APP_SENDER, 'lock:lockNow', {})).toEqual({ ok: false, error: { code, message: `refused: ${code}` } });
  });

  it.each([
    ['a sync throw', () => { throw new Error('db password=hunter2 rejected'); }],
    ['a rejected promise', async () => { throw new TypeError('db password=hunter2 rejected'); }],
    ['a thrown string', () => { throw 'db password=hunter2 rejected'; }],
  ])('%s becomes internal, and the error text reaches neither the answer nor the log', async (_name, thrower) => {
    const { services } = await setup();
    const { log, records } = recordingLogger();
    const dispatch = createDispatcher(withHandler(services, 'gateway', 'health', thrower), APP_ORIGIN, log);
    const res = await dispatch(APP_SENDER, 'gateway:health', {});
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error.code).toBe('internal');
    expect(JSON.stringify(res)).not.toContain('hunter2');
    expect(records).toHaveLength(1);
    expect(records[0]!.fields?.channel).toBe('gateway:health');
    expect(JSON.stringify(records)).not.toContain('hunter2');
  });

  it('settings:setLanguage persists and answers the effective language', async () => {
    const { dispatch, services } = await setup();
    expect(await dispatch(APP_SENDER, 'settings:setLanguage', { language: 'en' })).toEqual({ ok: true, value: { language: 'en' } });
    expect(services.settings.get()).toEqual({ language: 'en' });
  });

  it('shell:openExternal opens an allowlisted https URL and refuses anything else with not_allowed', async () => {
    const { dispatch, services } = await setup();
    expect(await dispatch(APP_SENDER, 'shell:openExternal', { url: 'https://help.koe.example/guide' })).toEqual({ ok: true, value: { opened: true } });
    for (const url of ['file:///etc/passwd', 'https://evil.example/', 'smb://help.koe.example/x', 'https://u:p@help.koe.example/']) {
      const res = await dispatch(APP_SENDER, 'shell:openExternal', { url });
      expect(!res.ok && res.error.code, url).toBe('not_allowed');
    }
    expect(services.opened).toEqual(['https://help.koe.example/guide']);
  });
});

describe('handler table completeness', () => {
  it('every contract channel has a handler in createHandlers, and no handler lacks a channel', async () => {
    const { handlers } = await setup();
    const implemented = Object.entries(handlers as unknown as Record<string, Record<string, unknown>>).flatMap(([ns, methods]) =>
      Object.entries(methods)
        .filter(([, fn]) => typeof fn === 'function')
        .map(([m]) => `${ns}:${m}`),
    );
    expect(new Set(implemented)).toEqual(new Set(channelTable.keys()));
  });

  it('a channel without a handler answers internal, never crashes the dispatcher', async () => {
    const { services } = await setup();
    const table = createHandlers(services) as unknown as Record<string, Record<string, unknown>>;
    delete table.lock!.state;
    const dispatch = createDispatcher(table as unknown as HandlerTable, APP_ORIGIN, recordingLogger().log);
    const res = await dispatch(APP_SENDER, 'lock:state', {});
    expect(!res.ok && res.error.code).toBe('internal');
  });
});
