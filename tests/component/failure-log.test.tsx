// The renderer's failures reach main's log through the IPC contract (log:failure), the
// console when the channel fails; and the status bar says what the gateway link is doing
// ("reconnecting…", "back") in Japanese and English.
import { act, cleanup, render, screen } from '@testing-library/react';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkStatusIndicator } from '../../renderer/src/features/shell/LinkStatus';
import { createI18n } from '../../renderer/src/i18n';
import { bestEffort, logFailure, setFailureSink } from '../../renderer/src/log';
import { consoleSink, sendFailuresToMain } from '../../renderer/src/log-channel';
import type { KoeApi } from '../../shared/ipc/api';
import type { LinkStatus } from '../../shared/ipc/contract';
import { fail, ok } from '../../shared/ipc/result';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores } from './shell-harness';

afterEach(() => {
  cleanup();
  setFailureSink(consoleSink);
  vi.restoreAllMocks();
});

const settle = () => new Promise((r) => setTimeout(r, 0));

function apiWith(failure: KoeApi['log']['failure']): KoeApi {
  return { log: { failure } } as unknown as KoeApi;
}

describe('logFailure reaches main through log:failure', () => {
  it('sends what failed and the error name, nothing else; the console stays quiet when main took it', async () => {
    const failure = vi.fn(async () => ok({ logged: true }));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    sendFailuresToMain(() => apiWith(failure));
    logFailure('ending a call at sign-out', new DOMException('token eyJx', 'InvalidStateError'));
    await bestEffort('playing the ring tone', Promise.reject(new TypeError('customer 高橋 美咲')));
    await settle();
    expect(failure.mock.calls).toEqual([
      [{ what: 'ending a call at sign-out', errorName: 'InvalidStateError' }],
      [{ what: 'playing the ring tone', errorName: 'TypeError' }],
    ]);
    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    ['main refuses (e.g. invalid_payload)', async () => fail('invalid_payload', 'x')],
    ['the transport rejects', async () => Promise.reject(new Error('gone'))],
    ['main rate-limited it', async () => ok({ logged: false })],
  ] as const)('falls back to the console when %s', async (_why, answer) => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    sendFailuresToMain(() => apiWith(answer as never));
    logFailure('saving a note', new TypeError('x'));
    await settle();
    expect(warn.mock.calls.map((c) => String(c[0]))).toContain('[koe] saving a note failed: TypeError');
  });

  it('falls back to the console when there is no bridge at all', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    sendFailuresToMain(() => {
      throw new Error('window.koe is missing');
    });
    logFailure('saving a note', new RangeError('x'));
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual(['[koe] saving a note failed: RangeError', '[koe] reporting a failure to main failed: Error']);
  });

  it('cuts what it sends to the contract’s bounds (a long phrase is not lost as invalid_payload)', async () => {
    const failure = vi.fn(async () => ok({ logged: true }));
    sendFailuresToMain(() => apiWith(failure));
    logFailure('x'.repeat(500), { name: 'N'.repeat(100) });
    await settle();
    expect(failure).toHaveBeenCalledWith({ what: 'x'.repeat(200), errorName: 'N'.repeat(64) });
  });
});

describe('the status bar’s link indicator', () => {
  function renderIndicator(language: 'ja' | 'en', initial: LinkStatus) {
    const listeners = new Set<(s: LinkStatus) => void>();
    Object.defineProperty(window, 'koe', {
      configurable: true,
      value: { gateway: { link: async () => ok(initial) }, on: (_e: string, l: (s: LinkStatus) => void) => (listeners.add(l), () => listeners.delete(l)) },
    });
    render(
      <I18nextProvider i18n={createI18n(language)}>
        <LinkStatusIndicator />
      </I18nextProvider>,
    );
    return (s: LinkStatus) => act(() => listeners.forEach((l) => l(s)));
  }

  it.each([
    ['ja', '再接続中…（2回目）', '再接続しました'],
    ['en', 'Reconnecting… (attempt 2)', 'Back'],
  ] as const)('%s: connected, reconnecting…, back', async (language, reconnecting, back) => {
    const push = renderIndicator(language, { phase: 'connected', attempt: 0, retryInMs: null });
    const el = await screen.findByTestId('status-link');
    expect(el.dataset.phase).toBe('connected');
    push({ phase: 'reconnecting', attempt: 2, retryInMs: 700 });
    expect(el.dataset.phase).toBe('reconnecting');
    expect(el.dataset.tone).toBe('bad');
    expect(el.textContent).toContain(reconnecting);
    push({ phase: 'back', attempt: 0, retryInMs: null });
    expect(el.dataset.tone).toBe('ok');
    expect(el.textContent).toContain(back);
    push({ phase: 'offline', attempt: 0, retryInMs: null });
    expect(screen.queryByTestId('status-link')).toBeNull();
  });

  it('is in the app shell’s status bar, driven by main’s link:status events', async () => {
    resetShellStores();
    const { api, emit } = fakeKoe();
    await mountShell(api);
    const bar = screen.getByRole('status');
    expect(bar.querySelector('[data-testid="status-link"]')?.getAttribute('data-phase')).toBe('connected');
    act(() => emit('link:status', { phase: 'reconnecting', attempt: 1, retryInMs: 250 }));
    expect(bar.querySelector('[data-testid="status-link"]')?.textContent).toContain('再接続中…（1回目）');
    act(() => emit('link:status', { phase: 'back', attempt: 0, retryInMs: null }));
    expect(bar.querySelector('[data-testid="status-link"]')?.textContent).toContain('再接続しました');
  });
});
