// The updater's state in "About this app" (issue 20): main's status loaded with the app's facts,
// followed through `updates:changed`, in Japanese and English; no second role="status".
import { act, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { I18nextProvider } from 'react-i18next';
import { AppInfoPanel } from '../../renderer/src/features/about/AppInfoPanel';
import { useAppStore } from '../../renderer/src/app/app-store';
import { createI18n } from '../../renderer/src/i18n';
import { fakeKoe } from './phone-fakes';

afterEach(() => useAppStore.setState({ info: null, policy: null, updates: null }));

async function mount(language: 'ja' | 'en') {
  const koe = fakeKoe({ language });
  Object.defineProperty(window, 'koe', { value: koe.api, configurable: true });
  await act(() => useAppStore.getState().load());
  const off = useAppStore.getState().listen();
  render(
    <I18nextProvider i18n={createI18n(language)}>
      <AppInfoPanel />
    </I18nextProvider>,
  );
  return { koe, off };
}

describe('update status in About this app', () => {
  it('shows main’s status (loaded with the app’s facts) and follows updates:changed (ja)', async () => {
    const { koe, off } = await mount('ja');
    expect(screen.getByTestId('update-status').textContent).toBe('最新です');
    act(() => koe.emit('updates:changed', { state: 'ready', version: '1.2.0', required: true, checkedAt: 1 }));
    expect(screen.getByTestId('update-status').textContent).toBe('バージョン 1.2.0 の準備ができました（検証済み・必須の更新）');
    act(() => koe.emit('updates:changed', { state: 'refused', code: 'timestamp_expired', checkedAt: 2 }));
    expect(screen.getByTestId('update-status').textContent).toBe('更新を拒否しました（理由: timestamp_expired）');
    expect(screen.queryAllByRole('status')).toEqual([]);
    off();
  });

  it('in English, a policy that turned updates off says so', async () => {
    const { koe, off } = await mount('en');
    act(() => koe.emit('updates:changed', { state: 'disabled' }));
    expect(screen.getByTestId('update-status').textContent).toBe('Turned off by your organisation’s policy');
    act(() => koe.emit('updates:changed', { state: 'not_in_rollout', version: '1.3.0', checkedAt: 3 }));
    expect(screen.getByTestId('update-status').textContent).toBe('Version 1.3.0 is being rolled out gradually; this PC gets it later');
    off();
  });
});
