import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AudioDevices, Language } from '../../shared/ipc/contract';
import { Theme } from '../../shared/policy';
import { bestEffort, logFailure } from '../best-effort';
import { consoleLogger } from '../log';

const settingsLog = consoleLogger('settings');

/** User preferences: never a secret (secrets live only in the OS keychain). */
export const UserSettings = z.object({ language: Language.optional(), theme: Theme.optional(), audio: AudioDevices.optional() }).strict();
export type UserSettings = z.infer<typeof UserSettings>;

/** Stores user preferences as JSON in the app's data directory; a corrupt file is set aside, not trusted. */
export class SettingsStore {
  private current: UserSettings = {};
  constructor(private readonly file: string) {}

  async load(): Promise<UserSettings> {
    try {
      const parsed = UserSettings.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      if (parsed.success) this.current = parsed.data;
      else {
        settingsLog.warn('the settings file does not match its schema: set aside, defaults apply', {});
        await rename(this.file, `${this.file}.invalid-${Date.now()}`);
      }
    } catch (err) {
      // no file yet (ENOENT) is the first start: defaults, nothing to say
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        logFailure(settingsLog, 'reading the settings file (set aside, defaults apply)', err);
        await bestEffort(settingsLog, 'setting the unreadable settings file aside', rename(this.file, `${this.file}.invalid-${Date.now()}`));
      }
    }
    return this.current;
  }

  get(): UserSettings {
    return { ...this.current };
  }

  async update(patch: UserSettings): Promise<UserSettings> {
    const next = UserSettings.parse({ ...this.current, ...patch });
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(next, null, 2), { mode: 0o600 });
    await rename(tmp, this.file);
    this.current = next;
    return next;
  }
}
