// Issue 18 item 4 (themes) and the rest of item 2 (the language changed after sign-in): the
// display settings before and after sign-in, persisted by main, applied as <html data-theme>,
// `system` following the OS; a key the managed policy sets cannot be changed.
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MainDeps } from '../../main/services';
import { useAppStore } from '../../renderer/src/app/app-store';
import { resolveTheme } from '../../renderer/src/app/theme';
import { AppShell } from '../../renderer/src/features/shell/AppShell';
import { createI18n } from '../../renderer/src/i18n';
import { createKoeInProcess } from '../support/koe-harness';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';

const initial = useAppStore.getState();

/** The OS's preferences as matchMedia answers them; `change` events when the test flips one. */
function fakeMedia(prefs: Record<string, boolean>) {
  const lists = new Map<string, { matches: boolean; listeners: Set<() => void> }>();
  const matchMedia = (q: string) => {
    const entry = lists.get(q) ?? { matches: prefs[q] ?? false, listeners: new Set<() => void>() };
    lists.set(q, entry);
    return {
      get matches() { return entry.matches; },
      addEventListener: (_: string, l: () => void) => entry.listeners.add(l),
      removeEventListener: (_: string, l: () => void) => entry.listeners.delete(l),
    };
  };
  const flip = (q: string, matches: boolean) => {
    prefs[q] = matches;
    const entry = lists.get(q);
    if (entry) {
      entry.matches = matches;
      entry.listeners.forEach((l) => l());
    }
  };
  return { matchMedia, flip };
}

async function mountSignedOut(overrides: Partial<MainDeps> = {}) {
  const koe = await createKoeInProcess(overrides);
  Object.defineProperty(window, 'koe', { value: koe.api, configurable: true });
  render(
    <I18nextProvider i18n={createI18n('ja')}>
      <AppShell />
    </I18nextProvider>,
  );
  await screen.findByTestId('app-version');
  return koe;
}

beforeEach(() => {
  useAppStore.setState(initial, true);
  resetShellStores();
  delete document.documentElement.dataset.theme;
  vi.stubGlobal('fetch', async () => ({ ok: true, status: 200, json: async () => ({}) }));
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
  Reflect.deleteProperty(window, 'matchMedia');
});

describe('themes', () => {
  it('resolveTheme: a choice stands; system is more contrast, else light, else dark', () => {
    const none = () => false;
    expect(resolveTheme('light', () => true)).toBe('light');
    expect(resolveTheme('high-contrast', none)).toBe('high-contrast');
    expect(resolveTheme('system', none)).toBe('dark');
    expect(resolveTheme('system', (q) => q === '(prefers-color-scheme: light)')).toBe('light');
    expect(resolveTheme('system', (q) => q === '(prefers-contrast: more)' || q === '(prefers-color-scheme: light)')).toBe('high-contrast');
    expect(resolveTheme('system', (q) => q === '(forced-colors: active)')).toBe('high-contrast');
  });

  it('before sign-in: the About panel changes the theme, main keeps it, the page takes it at once', async () => {
    const { services } = await mountSignedOut();
    expect(document.documentElement.dataset.theme).toBe('dark'); // system, and this OS says nothing
    const select = screen.getByLabelText('テーマ') as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(['システムに合わせる', 'ダーク', 'ライト', 'ハイコントラスト']);
    await userEvent.selectOptions(select, 'high-contrast');
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('high-contrast'));
    expect(services.settings.get().theme).toBe('high-contrast');
    await userEvent.selectOptions(select, 'light');
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('light'));
    expect(services.policy.effective().policy.theme).toBe('light');
  });

  it('system follows the OS while the app runs (light, then more contrast)', async () => {
    const media = fakeMedia({ '(prefers-color-scheme: light)': true });
    Object.defineProperty(window, 'matchMedia', { value: media.matchMedia, configurable: true });
    await mountSignedOut();
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('light'));
    act(() => media.flip('(prefers-contrast: more)', true));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('high-contrast'));
    act(() => media.flip('(prefers-contrast: more)', false));
    act(() => media.flip('(prefers-color-scheme: light)', false));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('dark'));
  });

  it('a theme the managed policy sets is applied and cannot be changed (said why)', async () => {
    await mountSignedOut({ managedPolicy: { theme: 'high-contrast' } });
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('high-contrast'));
    expect((screen.getByLabelText('テーマ') as HTMLSelectElement).disabled).toBe(true);
    expect(screen.getByText('テーマは組織のポリシーで固定されています。')).toBeTruthy();
  });
});

describe('after sign-in: the account panel has the display settings', () => {
  it('the operator changes the language and the theme while signed in (a call could be on screen)', async () => {
    const koe = fakeKoe();
    await mountShell(koe.api, koe.gw);
    await userEvent.click(screen.getByTestId('account-open'));
    const display = within(screen.getByTestId('account')).getByTestId('display-settings');
    await userEvent.selectOptions(within(display).getByLabelText('テーマ'), 'light');
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('light'));
    expect(koe.calls).toContain('setTheme light');
    await userEvent.selectOptions(within(display).getByLabelText('表示言語'), 'en');
    await screen.findByRole('heading', { name: 'Display' });
    expect(document.documentElement.lang).toBe('en');
    expect(screen.getByTestId('agent-panel').textContent).toMatch(/Ready|Not ready/);
  });
});
