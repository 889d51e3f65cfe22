import fs from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { IpcFailure } from '../../../main/ipc/handlers';
import { createHandlers } from '../../../main/services';
import { PolicyService } from '../../../main/services/policy';
import { defaultPolicy } from '../../../shared/policy';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('PolicyService', () => {
  it('with no managed policy and no user settings is the safe default', () => {
    expect(new PolicyService({}, {}).effective()).toEqual({ policy: defaultPolicy(), managedKeys: [] });
  });

  it('user settings apply where nothing is managed', () => {
    expect(new PolicyService({}, { language: 'en' }).effective().policy.language).toBe('en');
  });

  it('managed keys override user settings and are listed as managed', () => {
    const svc = new PolicyService({ language: 'ja', idleTimeoutSeconds: 60 }, { language: 'en' });
    const eff = svc.effective();
    expect(eff.policy.language).toBe('ja');
    expect(eff.policy.idleTimeoutSeconds).toBe(60);
    expect(eff.managedKeys).toEqual(['idleTimeoutSeconds', 'language']);
    expect(svc.isManaged('language')).toBe(true);
    expect(svc.isManaged('contentProtection')).toBe(false);
  });

  it('a later user change cannot override a managed key', () => {
    const svc = new PolicyService({ language: 'ja' }, {});
    svc.setUser({ language: 'en' });
    expect(svc.language()).toBe('ja');
  });

  it('fires policy:changed listeners with the new effective policy, and stops after unsubscribe', () => {
    const svc = new PolicyService({}, {});
    const listener = vi.fn();
    const off = svc.onChange(listener);
    svc.setUser({ language: 'en' });
    expect(listener).toHaveBeenCalledWith({ policy: { ...defaultPolicy(), language: 'en' }, managedKeys: [] });
    off();
    svc.setUser({ language: 'ja' });
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe('a user who picked audio devices (the settings file holds more than policy keys)', () => {
  it('the next start reads the policy (it threw "Unrecognized key: audio" for every read)', async () => {
    const first = await makeServices();
    dirs.push(first.userDataDir);
    const handlers = createHandlers(first);
    await handlers.settings.setAudioDevices({ inputDeviceId: 'usb-headset', outputDeviceId: null }, { origin: APP_ORIGIN });
    await handlers.settings.setLanguage({ language: 'en' }, { origin: APP_ORIGIN });
    // the app starts again on the same data directory
    const next = await makeServices({ userDataDir: first.userDataDir });
    expect(next.settings.get().audio).toEqual({ inputDeviceId: 'usb-headset', outputDeviceId: null });
    expect(next.policy.effective().policy).toMatchObject({ language: 'en', gatewayUrl: defaultPolicy().gatewayUrl });
    expect(next.policy.effective().policy).not.toHaveProperty('audio');
  });
});

describe('settings:setTheme', () => {
  it('keeps the choice in the settings file and the effective policy (the next start too)', async () => {
    const s = await makeServices();
    dirs.push(s.userDataDir);
    expect(s.policy.effective().policy.theme).toBe('system');
    const seen: string[] = [];
    s.policy.onChange((p) => seen.push(p.policy.theme));
    expect(await createHandlers(s).settings.setTheme({ theme: 'high-contrast' }, { origin: APP_ORIGIN })).toEqual({ theme: 'high-contrast' });
    expect(seen).toEqual(['high-contrast']);
    const next = await makeServices({ userDataDir: s.userDataDir });
    expect(next.policy.effective().policy.theme).toBe('high-contrast');
  });

  it('a theme the managed policy sets cannot be changed: not_allowed, nothing written', async () => {
    const s = await makeServices({ managedPolicy: { theme: 'light' } });
    dirs.push(s.userDataDir);
    const err = await Promise.resolve(createHandlers(s).settings.setTheme({ theme: 'dark' }, { origin: APP_ORIGIN })).catch((e: unknown) => e);
    expect((err as IpcFailure).code).toBe('not_allowed');
    expect(s.policy.effective().policy.theme).toBe('light');
    expect(fs.existsSync(`${s.userDataDir}/settings.json`)).toBe(false);
  });
});

describe('settings:setLanguage under a managed policy', () => {
  it('the handler throws IpcFailure not_allowed and nothing is persisted', async () => {
    const s = await makeServices({ managedPolicy: { language: 'ja' } });
    dirs.push(s.userDataDir);
    const handlers = createHandlers(s);
    const err = await Promise.resolve(handlers.settings.setLanguage({ language: 'en' }, { origin: APP_ORIGIN })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpcFailure);
    expect((err as IpcFailure).code).toBe('not_allowed');
    expect(s.settings.get()).toEqual({});
    expect(fs.existsSync(`${s.userDataDir}/settings.json`)).toBe(false);
  });

  it('through the dispatcher it answers not_allowed and the language stays managed', async () => {
    const s = await makeServices({ managedPolicy: { language: 'ja' } });
    dirs.push(s.userDataDir);
    const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, recordingLogger().log);
    const res = await dispatch(APP_SENDER, 'settings:setLanguage', { language: 'en' });
    expect(!res.ok && res.error.code).toBe('not_allowed');
    expect(await dispatch(APP_SENDER, 'policy:get', {})).toMatchObject({ ok: true, value: { policy: { language: 'ja' }, managedKeys: ['language'] } });
  });

  it('another managed key does not block the language', async () => {
    const s = await makeServices({ managedPolicy: { idleTimeoutSeconds: 60 } });
    dirs.push(s.userDataDir);
    const listener = vi.fn();
    s.policy.onChange(listener);
    const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, recordingLogger().log);
    expect(await dispatch(APP_SENDER, 'settings:setLanguage', { language: 'en' })).toEqual({ ok: true, value: { language: 'en' } });
    expect(listener).toHaveBeenCalledWith(expect.objectContaining({ policy: expect.objectContaining({ language: 'en', idleTimeoutSeconds: 60 }) }));
  });

  it('the user choice survives a restart (a new set of services on the same data dir)', async () => {
    const first = await makeServices();
    dirs.push(first.userDataDir);
    await createHandlers(first).settings.setLanguage({ language: 'en' }, { origin: APP_ORIGIN });
    const second = await makeServices({ userDataDir: first.userDataDir });
    expect(second.policy.language()).toBe('en');
  });
});
