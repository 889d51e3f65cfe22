// The UI's theme (issue 18 item 4): the policy's choice, `system` resolved from the OS's
// preferences (more contrast first, then light or dark), applied as <html data-theme>;
// styles.css holds each theme's colours (WCAG 2.2 AA, checked by axe in the e2e tests).
import { useEffect, useState } from 'react';
import type { Theme } from '../../../shared/policy';

export type AppliedTheme = Exclude<Theme, 'system'>;

export function resolveTheme(theme: Theme, prefers: (query: string) => boolean): AppliedTheme {
  if (theme !== 'system') return theme;
  if (prefers('(prefers-contrast: more)') || prefers('(forced-colors: active)')) return 'high-contrast';
  return prefers('(prefers-color-scheme: light)') ? 'light' : 'dark';
}

const QUERIES = ['(prefers-contrast: more)', '(forced-colors: active)', '(prefers-color-scheme: light)'];

/** Applies the theme to the document, following the OS while it is `system`. */
export function useAppliedTheme(theme: Theme): AppliedTheme {
  const media = typeof window.matchMedia === 'function' ? window.matchMedia.bind(window) : null;
  const prefers = (q: string) => media?.(q).matches ?? false;
  const [applied, setApplied] = useState<AppliedTheme>(() => resolveTheme(theme, prefers));
  useEffect(() => {
    const update = () => setApplied(resolveTheme(theme, (q) => media?.(q).matches ?? false));
    update();
    if (theme !== 'system' || !media) return undefined;
    const lists = QUERIES.map((q) => media(q));
    lists.forEach((l) => l.addEventListener('change', update));
    return () => lists.forEach((l) => l.removeEventListener('change', update));
  }, [theme, media]);
  useEffect(() => {
    document.documentElement.dataset.theme = applied;
  }, [applied]);
  return applied;
}
