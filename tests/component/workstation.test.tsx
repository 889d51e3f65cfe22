// Issue 18 item 1, the workstation: three fixed regions (call bar, customer, notes) whose
// content changes with the call but never the regions themselves; an empty region says what
// will appear there, in the operator's language; technical details are folded away. (Layout in
// pixels, no scrolling at 1366x768, is proven in Chromium: tests/e2e/softphone.test.ts.)
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { I18nextProvider } from 'react-i18next';
import { AppInfoPanel } from '../../renderer/src/features/about/AppInfoPanel';
import { useAppStore } from '../../renderer/src/app/app-store';
import { createI18n } from '../../renderer/src/i18n';
import { mountReadyOperator, resetShellStores, stubKnownCallerGateway, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';

beforeEach(() => {
  resetShellStores();
  stubKnownCallerGateway(CAMPAIGN, CUSTOMER);
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

const mount = mountReadyOperator;

/** Which region each part of the screen is in (the regions' test ids), and the regions in order. */
function regions() {
  const ws = screen.getByTestId('workstation');
  const of = (id: string) => screen.queryByTestId(id)?.closest('[data-testid^="ws-"]')?.getAttribute('data-testid') ?? null;
  return {
    order: [...ws.querySelectorAll(':scope > [data-testid]')].map((e) => e.getAttribute('data-testid')),
    agent: of('agent-panel'),
    phone: of('phone-panel'),
    customer: of('customer-card') ?? of('customer-empty'),
    notes: of('notes-panel') ?? of('notes-empty'),
  };
}

describe('the workstation (issue 18 item 1)', () => {
  it.each([
    ['ja', 'お客様の情報は、着信または発信したときにここに表示されます。', 'メモと対応結果は、通話中と後処理中にここに表示されます。'],
    ['en', "The customer's details appear here when a call rings or you dial out.", 'Notes and the disposition appear here during a call and its wrap-up.'],
  ] as const)('%s: the same regions in the same order whether idle, ringing, on a call or in wrap-up; empty regions say what will appear', async (language, noCustomer, noNotes) => {
    const { phone } = await mount(language);
    const idle = regions();
    expect(idle).toEqual({ order: ['home', 'ws-callbar', 'ws-customer', 'ws-notes'], agent: 'ws-callbar', phone: 'ws-callbar', customer: 'ws-customer', notes: 'ws-notes' });
    expect(screen.getByTestId('customer-empty').textContent).toBe(noCustomer);
    expect(screen.getByTestId('notes-empty').textContent).toBe(noNotes);
    // no greeting: the signed-in user's name and role, small, with sign-out
    expect(within(screen.getByTestId('home')).queryByRole('heading')).toBeNull();

    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819012345678' }));
    await screen.findByTestId('ringing');
    await screen.findByTestId('customer-name');
    expect(regions()).toEqual(idle);
    expect(screen.queryByTestId('customer-empty')).toBeNull();

    await userEvent.click(screen.getByTestId('answer'));
    await waitFor(() => expect(screen.getByTestId('call').dataset.phase).toBe('established'));
    expect(regions()).toEqual(idle);
    expect(screen.getByTestId('note-text')).toBeTruthy();

    act(() => phone.phase('call-1', 'ended')); // the customer hangs up
    await screen.findByTestId('wrapup');
    expect(regions()).toEqual(idle);
    expect(within(screen.getByTestId('ws-notes')).getByTestId('disposition')).toBeTruthy();
  });

  it('audio devices are folded under the call bar, closed until opened', async () => {
    await mount('ja');
    const devices = screen.getByTestId('device-settings');
    const fold = devices.closest('details')!;
    expect(fold.open).toBe(false);
    expect(fold.closest('[data-testid="ws-callbar"]')).not.toBeNull();
    await userEvent.click(within(fold).getByText('オーディオ機器（マイク・スピーカー）'));
    expect(fold.open).toBe(true);
  });
});

describe('technical details off the user screens', () => {
  it('the sign-in screen shows language and theme; version, host and gateway URL are folded in "About this app"', async () => {
    useAppStore.setState({
      info: { version: '9.8.7', platform: 'linux', host: 'electron' } as never,
      policy: { policy: { gatewayUrl: 'https://gw.example.jp', language: 'ja', theme: 'system' }, managedKeys: [] } as never,
    });
    render(
      <I18nextProvider i18n={createI18n('ja')}>
        <AppInfoPanel />
      </I18nextProvider>,
    );
    expect(screen.getByRole('heading', { name: '表示' })).toBeTruthy();
    expect(screen.getByLabelText('表示言語')).toBeTruthy();
    const about = screen.getByTestId('about-details') as HTMLDetailsElement;
    expect(about.open).toBe(false);
    expect(about.contains(screen.getByTestId('app-version'))).toBe(true);
    expect(about.textContent).toContain('https://gw.example.jp');
  });
});
