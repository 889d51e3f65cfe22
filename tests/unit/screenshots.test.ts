// `npm run screenshots`'s plan (scripts/screenshots-plan.ts): the screens and their files in
// both languages, the index the README links to, the refusal without a Japanese font, and when
// it builds. The run itself (stack, Chromium, baresip) is not part of npm test.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fontRefusal, needsBuild, SCREENS, screenshotFiles, screenshotPath, screenshotsIndex } from '../../scripts/screenshots-plan';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('npm run screenshots: the plan', () => {
  it('names each main screen once, in the order of an operator\'s day, with a file per language, ja first', () => {
    expect(SCREENS.map((s) => s.name)).toEqual(['01-sign-in', '02-operator-ready', '03-ringing', '04-on-call', '05-wrap-up', '06-lead-board', '07-lead-monitoring', '08-admin-users']);
    expect(screenshotPath('en', { name: '03-ringing' })).toBe('docs/screenshots/en/03-ringing.png');
    const files = screenshotFiles();
    expect(files).toHaveLength(16); // the budget of committed images
    expect(new Set(files).size).toBe(files.length);
    expect(files.slice(0, 8).every((f) => f.startsWith('docs/screenshots/ja/'))).toBe(true);
    expect(files.slice(8).every((f) => f.startsWith('docs/screenshots/en/'))).toBe(true);
  });

  it('the index links both languages of every screen and says what each shows; the committed index is the generated one', () => {
    const index = screenshotsIndex();
    for (const s of SCREENS) {
      expect(index).toContain(`(ja/${s.name}.png)`);
      expect(index).toContain(`(en/${s.name}.png)`);
      expect(index).toContain(s.what);
    }
    expect(readFileSync(path.join(ROOT, 'docs/screenshots/README.md'), 'utf8')).toBe(index);
  });

  it('every screenshot the README embeds is one the script writes, and exists', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const embedded = [...readme.matchAll(/\((docs\/screenshots\/[^)]+\.png)\)/g)].map((m) => m[1]!);
    expect(embedded.length).toBeGreaterThan(0);
    const files = screenshotFiles();
    expect(embedded.filter((f) => !files.includes(f))).toEqual([]);
    expect(embedded.filter((f) => !existsSync(path.join(ROOT, f)))).toEqual([]);
  });

  it('refuses without a Japanese font, naming the package, and runs with one', () => {
    const none = fontRefusal('');
    expect(none).toContain('no Japanese font found (fc-list :lang=ja lists none)');
    expect(none).toContain('sudo apt-get install fonts-noto-cjk');
    expect(fontRefusal('  \n')).toBe(none);
    const noFcList = fontRefusal(null);
    expect(noFcList).toContain('fc-list is not installed');
    expect(noFcList).toContain('fonts-noto-cjk');
    expect(fontRefusal('Noto Sans CJK JP,Noto Sans CJK JP Regular\n')).toBeNull();
  });

  it('builds when out/ is missing or older than the newest source file, not otherwise', () => {
    expect(needsBuild(null, 1000)).toBe(true);
    expect(needsBuild(1000, 1001)).toBe(true);
    expect(needsBuild(1000, 1000)).toBe(false);
    expect(needsBuild(2000, 1000)).toBe(false);
  });
});
