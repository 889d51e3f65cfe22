import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SettingsStore } from '../../../main/services/settings';
import { tempDir } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const fileIn = () => {
  const dir = tempDir('koe-settings-');
  dirs.push(dir);
  return path.join(dir, 'nested', 'settings.json');
};

describe('SettingsStore', () => {
  it('starts empty when there is no file', async () => {
    expect(await new SettingsStore(fileIn()).load()).toEqual({});
  });

  it('persists an update, and a new store reads it back', async () => {
    const file = fileIn();
    const store = new SettingsStore(file);
    await store.load();
    expect(await store.update({ language: 'en' })).toEqual({ language: 'en' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ language: 'en' });
    expect(await new SettingsStore(file).load()).toEqual({ language: 'en' });
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('keeps the ringer device with the other audio devices; a file from before the ringer existed still loads (the ring follows the speaker)', async () => {
    const file = fileIn();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ audio: { inputDeviceId: 'mic', outputDeviceId: 'headset' } }));
    const store = new SettingsStore(file);
    expect(await store.load()).toEqual({ audio: { inputDeviceId: 'mic', outputDeviceId: 'headset' } });
    await store.update({ audio: { inputDeviceId: 'mic', outputDeviceId: 'headset', ringerDeviceId: 'speakers' } });
    expect((await new SettingsStore(file).load()).audio?.ringerDeviceId).toBe('speakers');
    await expect(store.update({ audio: { inputDeviceId: null, outputDeviceId: null, ringerDeviceId: 'x'.repeat(300) } })).rejects.toThrow();
  });

  it.skipIf(process.platform === 'win32')('writes the file readable by its owner only (0600)', async () => {
    const file = fileIn();
    await new SettingsStore(file).update({ language: 'ja' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it.skipIf(process.platform === 'win32')('tightens a file that was world-readable before the update', async () => {
    const file = fileIn();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{}', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    await new SettingsStore(file).update({ language: 'ja' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['not JSON', '{"language": '],
    ['an unknown key', '{"language":"en","gatewayUrl":"https://evil.example"}'],
    ['a wrong value', '{"language":"fr"}'],
    ['a non-object', '["en"]'],
  ])('a corrupt file (%s) is set aside and not trusted', async (_name, text) => {
    const file = fileIn();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    expect(await new SettingsStore(file).load()).toEqual({});
    expect(fs.existsSync(file)).toBe(false);
    const aside = fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith('settings.json.invalid-'));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(path.dirname(file), aside[0]!), 'utf8')).toBe(text);
  });

  it('refuses an update that does not match the schema and keeps the old value', async () => {
    const file = fileIn();
    const store = new SettingsStore(file);
    await store.update({ language: 'en' });
    await expect(store.update({ language: 'fr' } as never)).rejects.toThrow();
    await expect(store.update({ token: 'secret' } as never)).rejects.toThrow();
    expect(store.get()).toEqual({ language: 'en' });
    expect(fs.readFileSync(file, 'utf8')).not.toContain('secret');
  });

  it('get() returns a copy', async () => {
    const store = new SettingsStore(fileIn());
    await store.update({ language: 'en' });
    (store.get() as { language?: string }).language = 'ja';
    expect(store.get()).toEqual({ language: 'en' });
  });
});
