// Issue 18 item 2, Japanese conventions on screen: phone numbers in the national form (E.164 on
// demand, keyboard operable), dates and times in the display language, Japan time.
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { RefusalMessage } from '../../renderer/src/features/signin/SignInScreen';
import { createI18n } from '../../renderer/src/i18n';
import { formatDateTime } from '../../renderer/src/i18n/format';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const RANG_AT = '2026-12-01T05:05:00.000Z'; // 14:05 in Tokyo
const pop: ScreenPopResponse = {
  ...knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決']),
  recentCalls: [{
    id: '33333333-3333-4333-8333-333333333333', callId: 'old@test', campaignId: CAMPAIGN, customerId: CUSTOMER, operatorId: null,
    callerNumber: '+819012345678', dialledNumber: '+81312345678', blocked: false, status: 'wrapped_up',
    ringingAt: RANG_AT, answeredAt: RANG_AT, endedAt: RANG_AT, disposition: '解決', wrapUpSeconds: 10, updatedAt: RANG_AT,
  }],
};
pop.customers[0]!.phones = ['+819012345678', '+81312345678', '+12125550123'];

const bodies: { path: string; body: unknown }[] = [];
beforeEach(() => {
  resetShellStores();
  bodies.length = 0;
  vi.stubGlobal('fetch', async (url: string, init: { body?: string } = {}) => {
    const path = new URL(url).pathname;
    bodies.push({ path, body: init.body ? JSON.parse(init.body) : undefined });
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? pop : {}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

async function ringing(language: 'ja' | 'en') {
  const koe = fakeKoe({ language });
  const phone = await mountShell(koe.api, koe.gw, language);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819012345678' }));
  return { phone, ringing: await screen.findByTestId('ringing') };
}

describe('phone numbers on screen', () => {
  it('the Japanese UI shows the caller in the national form, the E.164 in its title; the gateway still gets E.164', async () => {
    const { ringing: r } = await ringing('ja');
    const number = within(r).getByTestId('ringing-number');
    expect(number.textContent).toBe('090-1234-5678');
    expect(number.getAttribute('title')).toBe('+819012345678');
    await waitFor(() => expect(bodies.find((b) => b.path === '/screen-pop')).toBeTruthy());
    expect(bodies.find((b) => b.path === '/screen-pop')!.body).toMatchObject({ callerNumber: '+819012345678', dialledNumber: '+81312345678' });
    // the customer card: every number of the customer, each in its own form
    await waitFor(() => expect(screen.getByTestId('customer-card').dataset.status).toBe('known'));
    const phones = within(screen.getByTestId('customer-card')).getAllByTestId('customer-phone');
    expect(phones.map((p) => p.textContent)).toEqual(['090-1234-5678', '03-1234-5678', '+1 212 555 0123']);
    expect(phones.map((p) => p.getAttribute('title'))).toEqual(['+819012345678', '+81312345678', '+12125550123']);
  });

  it('the E.164 form on demand, by keyboard: the toggle next to the number (aria-pressed), and back', async () => {
    const { ringing: r } = await ringing('ja');
    const number = within(r).getByTestId('ringing-number');
    const toggle = within(r).getByRole('button', { name: 'E.164表示（国際形式で表示）' });
    expect(toggle.textContent).toBe('E.164表示');
    expect(toggle.getAttribute('aria-pressed')).toBe('false');
    toggle.focus();
    await userEvent.keyboard('{Enter}');
    expect(number.textContent).toBe('+819012345678');
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    await userEvent.keyboard(' ');
    expect(number.textContent).toBe('090-1234-5678');
    expect(toggle.getAttribute('aria-pressed')).toBe('false');
  });

  it('the call card after answering shows the national form with its own toggle', async () => {
    const { ringing: r } = await ringing('ja');
    await userEvent.click(within(r).getByTestId('answer'));
    const call = await screen.findByTestId('call');
    const remote = within(call).getByTestId('call-remote');
    expect(remote.textContent).toBe('090-1234-5678');
    await userEvent.click(within(call).getByRole('button', { name: 'E.164表示（国際形式で表示）' }));
    expect(remote.textContent).toBe('+819012345678');
  });

  it('the English UI: the same national form, the toggle in English', async () => {
    const { ringing: r } = await ringing('en');
    expect(within(r).getByTestId('ringing-number').textContent).toBe('090-1234-5678');
    await userEvent.click(within(r).getByRole('button', { name: 'E.164 (show in international form)' }));
    expect(within(r).getByTestId('ringing-number').textContent).toBe('+819012345678');
  });

  it('a colleague (a SIP user, no number) shows as it is, with no toggle', async () => {
    const koe = fakeKoe();
    const phone = await mountShell(koe.api, koe.gw);
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    act(() => void phone.ring({ remote: 'op2' }));
    const r = await screen.findByTestId('ringing');
    expect(within(r).getByTestId('ringing-number').textContent).toBe('op2');
    expect(within(r).queryByTestId('phone-style')).toBeNull();
  });
});

describe('dates and times on screen, Japan time', () => {
  it('the customer card history: 2026年12月1日 14:05 in Japanese', async () => {
    await ringing('ja');
    const call = await screen.findByTestId('customer-call');
    expect(call.textContent).toContain('2026年12月1日 14:05');
  });

  it('the customer card history: 1 December 2026 at 14:05 in English', async () => {
    await ringing('en');
    const call = await screen.findByTestId('customer-call');
    expect(call.textContent).toContain('1 December 2026 at 14:05');
  });

  it('the sign-in lock message says until when, in the display language', () => {
    const refusal = { code: 'account_locked', lockedUntil: '2026-11-30T02:00:00.000Z' } as const;
    const ja = render(<I18nextProvider i18n={createI18n('ja')}><RefusalMessage refusal={refusal} /></I18nextProvider>);
    expect(ja.getByTestId('signin-error').textContent).toContain('2026年11月30日 11:00');
    ja.unmount();
    const en = render(<I18nextProvider i18n={createI18n('en')}><RefusalMessage refusal={refusal} /></I18nextProvider>);
    expect(en.getByTestId('signin-error').textContent).toContain('30 November 2026 at 11:00');
    en.unmount();
  });

  it('formatDateTime: with seconds, from epoch ms, not the PC time zone', () => {
    expect(formatDateTime(Date.UTC(2026, 11, 31, 15, 0, 9), 'ja', { seconds: true })).toBe('2027年1月1日 00:00:09');
    expect(formatDateTime(Date.UTC(2026, 11, 31, 15, 0, 9), 'en', { seconds: true })).toBe('1 January 2027 at 00:00:09');
  });
});
