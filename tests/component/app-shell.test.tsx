import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MainDeps } from '../../main/services';
import { AppShell } from '../../renderer/src/features/shell/AppShell';
import { createI18n } from '../../renderer/src/i18n';
import { useAppStore } from '../../renderer/src/app/app-store';
import { createKoeInProcess } from '../support/koe-harness';

const initial = useAppStore.getState();

async function mount(overrides: Partial<MainDeps> = {}) {
  const koe = await createKoeInProcess(overrides);
  Object.defineProperty(window, 'koe', { value: koe.api, configurable: true });
  const view = render(
    <I18nextProvider i18n={createI18n('ja')}>
      <AppShell />
    </I18nextProvider>,
  );
  await screen.findByTestId('app-version');
  return { ...koe, view };
}

describe('AppShell', () => {
  beforeEach(() => useAppStore.setState(initial, true));

  it('shows the app info that main reports, in Japanese by default', async () => {
    await mount();
    expect(screen.getByTestId('app-version').textContent).toBe('9.8.7');
    expect(screen.getByRole('heading', { name: 'サインイン' })).toBeTruthy();
    expect(screen.getByTestId('app-host').textContent).toBe('Electron');
    expect(document.documentElement.lang).toBe('ja');
  });

  it('shows the gateway as connected when its health check answers ok', async () => {
    await mount();
    await waitFor(() => expect(screen.getByTestId('status-gateway').dataset.tone).toBe('ok'));
    expect(within(screen.getByTestId('status-gateway')).getByText('接続済み')).toBeTruthy();
  });

  it('shows the gateway as unreachable when the health check fails', async () => {
    await mount({
      fetch: async () => {
        throw new Error('ECONNREFUSED');
      },
    });
    await waitFor(() => expect(screen.getByTestId('status-gateway').dataset.tone).toBe('bad'));
    expect(within(screen.getByTestId('status-gateway')).getByText('接続できません')).toBeTruthy();
  });

  it('switches to English and main persists the choice', async () => {
    const { services } = await mount();
    await userEvent.selectOptions(screen.getByLabelText('表示言語'), 'en');
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(services.settings.get().language).toBe('en');
    expect(document.documentElement.lang).toBe('en');
  });

  it('does not let the user change a language the managed policy fixes', async () => {
    await mount({ managedPolicy: { language: 'en' } });
    await screen.findByRole('heading', { name: 'Sign in' });
    const select = screen.getByLabelText('Language') as HTMLSelectElement;
    expect(select.disabled).toBe(true);
    expect(screen.getByText('The language is fixed by your organisation’s policy.')).toBeTruthy();
  });

  it('never shows a lock screen nobody could open: signed out, main does not lock (idle, OS lock) and offers no lock button', async () => {
    const { services } = await mount();
    expect(screen.getByTestId('status-lock').dataset.tone).toBe('ok');
    act(() => void services.lock.lock('idle'));
    act(() => void services.lock.lock('os-lock'));
    expect(services.lock.current().locked).toBe(false);
    expect(screen.queryByTestId('lock-screen')).toBeNull();
    expect(screen.getByRole('heading', { name: 'サインイン' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: '今すぐロック' })).toBeNull();
  });

  it('asks for username and password, and enables sign-in only when both are typed', async () => {
    await mount();
    const submit = screen.getByRole('button', { name: 'サインイン' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await userEvent.type(screen.getByLabelText('ユーザー名'), 'sato.hanako');
    await userEvent.type(screen.getByLabelText('パスワード'), 'x');
    expect(submit.disabled).toBe(false);
  });

  it('refuses to sign in without an OS keychain, with a message saying so', async () => {
    await mount(); // keytar: null -> no keychain on this "PC"
    await userEvent.type(screen.getByLabelText('ユーザー名'), 'sato.hanako');
    await userEvent.type(screen.getByLabelText('パスワード'), 'Koe-Demo-2026!');
    await userEvent.click(screen.getByRole('button', { name: 'サインイン' }));
    const alert = await screen.findByTestId('signin-error');
    expect(alert.dataset.code).toBe('keychain_unavailable');
    expect(alert.textContent).toContain('キーチェーン');
  });

  it('blurs sensitive views while the window is unfocused when policy asks for it', async () => {
    const { services } = await mount({ managedPolicy: { blurOnFocusLoss: true } });
    const app = screen.getByTestId('app');
    act(() => void window.dispatchEvent(new Event('blur')));
    expect(app.dataset.blurred).toBe('true');
    act(() => void window.dispatchEvent(new Event('focus')));
    expect(app.dataset.blurred).toBe('false');
    expect(services.policy.effective().policy.blurOnFocusLoss).toBe(true);
  });

  it('never blurs when the policy does not ask for it', async () => {
    await mount();
    act(() => void window.dispatchEvent(new Event('blur')));
    expect(screen.getByTestId('app').dataset.blurred).toBe('false');
  });
});
