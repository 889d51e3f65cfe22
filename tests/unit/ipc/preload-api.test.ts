import { describe, expect, it, vi } from 'vitest';
import { buildKoeApi } from '../../../preload/api';
import type { IpcTransport } from '../../../shared/ipc/api';
import { channelTable, eventNames } from '../../../shared/ipc/contract';

const LOCKED = { locked: true, reason: 'idle', since: 1 } as const;

/** An in-memory transport: records invokes, lets the test push events. */
function fakeTransport(answer: (channel: string, input: unknown) => unknown = () => ({ ok: true, value: {} })) {
  const invokes: [string, unknown][] = [];
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const transport: IpcTransport = {
    invoke: async (channel, input) => {
      invokes.push([channel, input]);
      return answer(channel, input);
    },
    subscribe: (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => void set.delete(listener);
    },
  };
  const push = (event: string, payload: unknown) => listeners.get(event)?.forEach((l) => l(payload));
  return { transport, invokes, push, listeners };
}

const callable = (api: unknown) => api as Record<string, Record<string, (i?: unknown) => Promise<unknown>>>;

describe('buildKoeApi', () => {
  it('builds exactly one function per contract channel, plus on()', () => {
    const api = buildKoeApi(fakeTransport().transport) as unknown as Record<string, unknown>;
    const built = Object.entries(api)
      .filter(([k]) => k !== 'on')
      .flatMap(([ns, group]) => Object.entries(group as Record<string, unknown>).map(([m, fn]) => [`${ns}:${m}`, typeof fn]));
    expect(new Map(built as [string, string][])).toEqual(new Map([...channelTable.keys()].map((c) => [c, 'function'])));
    expect(typeof api.on).toBe('function');
  });

  it.each([...channelTable.keys()])('%s forwards its channel name and input unchanged', async (channel) => {
    const t = fakeTransport();
    const [ns, m] = channel.split(':') as [string, string];
    const input = { marker: channel };
    await callable(buildKoeApi(t.transport))[ns]![m]!(input);
    expect(t.invokes).toEqual([[channel, input]]);
  });

  it('sends {} when called without an argument', async () => {
    const t = fakeTransport();
    await buildKoeApi(t.transport).app.info(undefined as never);
    expect(t.invokes).toEqual([['app:info', {}]]);
  });

  it('passes a well-formed answer through', async () => {
    const ok = { ok: true, value: { locked: false, reason: null, since: null } };
    const err = { ok: false, error: { code: 'locked', message: 'Koe is locked' } };
    expect(await buildKoeApi(fakeTransport(() => ok).transport).lock.state({})).toEqual(ok);
    expect(await buildKoeApi(fakeTransport(() => err).transport).lock.state({})).toEqual(err);
  });

  it.each([
    ['a rejected invoke', () => Promise.reject(new Error('socket closed'))],
    ['a sync throw', () => { throw new Error('boom'); }],
    ['a thrown non-error', () => { throw undefined; }],
  ])('%s becomes unavailable, never a throw', async (_name, invoke) => {
    const transport: IpcTransport = { invoke: invoke as IpcTransport['invoke'], subscribe: () => () => undefined };
    const res = await buildKoeApi(transport).gateway.health({});
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error.code).toBe('unavailable');
    expect(!res.ok && res.error.message).toContain('gateway:health');
  });

  it.each([
    undefined,
    null,
    'ok',
    { ok: true },
    { ok: 'true', value: 1 },
    { ok: false, error: 'nope' },
    { ok: false, error: { code: 'teapot', message: 'x' } },
    { ok: false, error: { code: 'internal' } },
    { ok: true, value: 1, extra: 'leak' },
  ])('a malformed answer %j becomes invalid_result', async (raw) => {
    const res = await buildKoeApi(fakeTransport(() => raw).transport).app.info({});
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error.code).toBe('invalid_result');
  });

  describe('on()', () => {
    it.each(['lock:change', 'ipc:anything', '__proto__', 'constructor', ''])('refuses unknown event %j', (event) => {
      const t = fakeTransport();
      const api = buildKoeApi(t.transport);
      expect(() => api.on(event as never, () => undefined)).toThrow(TypeError);
      expect(t.listeners.size).toBe(0);
    });

    it('refuses a listener that is not a function', () => {
      const api = buildKoeApi(fakeTransport().transport);
      expect(() => api.on('lock:changed', 'alert(1)' as never)).toThrow(TypeError);
    });

    it('accepts every contract event', () => {
      const api = buildKoeApi(fakeTransport().transport);
      for (const e of eventNames) expect(typeof api.on(e, () => undefined)).toBe('function');
    });

    it('delivers valid payloads and drops payloads that do not match the event schema', () => {
      const t = fakeTransport();
      const listener = vi.fn();
      buildKoeApi(t.transport).on('lock:changed', listener);
      t.push('lock:changed', { locked: 'yes' });
      t.push('lock:changed', { ...LOCKED, extra: 'x' });
      t.push('lock:changed', null);
      t.push('lock:changed', LOCKED);
      expect(listener.mock.calls).toEqual([[LOCKED]]);
    });

    it('returns an unsubscribe that stops delivery', () => {
      const t = fakeTransport();
      const listener = vi.fn();
      const off = buildKoeApi(t.transport).on('lock:changed', listener);
      t.push('lock:changed', LOCKED);
      off();
      t.push('lock:changed', LOCKED);
      expect(listener).toHaveBeenCalledTimes(1);
      expect(t.listeners.get('lock:changed')?.size).toBe(0);
    });
  });

  it('is frozen, namespaces included: page scripts cannot replace a method', () => {
    const api = buildKoeApi(fakeTransport().transport);
    expect(Object.isFrozen(api)).toBe(true);
    for (const ns of Object.keys(api).filter((k) => k !== 'on')) {
      expect(Object.isFrozen((api as unknown as Record<string, unknown>)[ns]), ns).toBe(true);
    }
    expect(() => {
      (api as unknown as Record<string, unknown>).on = () => undefined;
    }).toThrow(TypeError);
    expect(() => {
      (api.shell as unknown as Record<string, unknown>).openExternal = () => undefined;
    }).toThrow(TypeError);
  });
});
