import { describe, expect, it } from 'vitest';
import { en } from '../../renderer/src/i18n/en';
import { ja } from '../../renderer/src/i18n/ja';

type Tree = { [k: string]: string | Tree };
const leaves = (t: Tree, prefix = ''): [string, string][] =>
  Object.entries(t).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v] as [string, string]] : leaves(v, `${prefix}${k}.`)));

describe('UI strings', () => {
  it('has the same keys in Japanese and English, none empty', () => {
    const jaLeaves = leaves(ja);
    const enLeaves = leaves(en as Tree);
    expect(enLeaves.map(([k]) => k).sort()).toEqual(jaLeaves.map(([k]) => k).sort());
    for (const [key, text] of [...jaLeaves, ...enLeaves]) expect(text.trim(), key).not.toBe('');
  });

  it('keeps interpolation placeholders the same in both languages', () => {
    const vars = (s: string) => (s.match(/{{\s*\w+\s*}}/g) ?? []).sort();
    const enMap = new Map(leaves(en as Tree));
    for (const [key, text] of leaves(ja)) expect(vars(enMap.get(key)!), key).toEqual(vars(text));
  });

  it('writes the Japanese UI in Japanese (no untranslated English sentence left behind)', () => {
    const allowedLatin = new Set(['app.title', 'language.en', 'about.hostElectron']);
    for (const [key, text] of leaves(ja)) {
      if (allowedLatin.has(key)) continue;
      expect(/[\u3040-\u30ff\u4e00-\u9fff]/.test(text), `${key}: ${text}`).toBe(true);
    }
  });
});
