// The telephony object as the component tree owns it (features/phone/Telephony.tsx): one per
// mounted shell, started while signed in, stopped at the session's end, deaf to the phone it
// stopped; and the wrap-up's "saving" state, which the operator now sees.
import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StrictMode } from 'react';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { finishWrapUp } from '../../renderer/src/features/customer/wrap-up';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { initialPhoneState, usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import { useSessionStore } from '../../renderer/src/app/session-store';
import { AppShell } from '../../renderer/src/features/shell/AppShell';
import { createI18n } from '../../renderer/src/i18n';
import { en } from '../../renderer/src/i18n/en';
import { ja } from '../../renderer/src/i18n/ja';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import type { SessionState } from '../../shared/ipc/contract';
import { FakePhone, fakeKoe } from './phone-fakes';
import { customerRecords, knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決', '折り返し']);

beforeEach(() => {
  resetShellStores();
  vi.stubGlobal('fetch', async (url: string) => {
    const path = new URL(url).pathname;
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? knownPop : {}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

const expired = { status: 'signed-out', reason: 'expired' } as const;

describe('the telephony object belongs to the mounted shell', () => {
  it('under StrictMode (effects run, clean up and run again) makes one phone and registers it once', async () => {
    const koe = fakeKoe();
    Object.defineProperty(window, 'koe', { value: koe.api, configurable: true });
    // signed in before the first render: the start effect runs, is cleaned up and runs again at mount
    const known = (await koe.api.session.state({})) as { ok: true; value: SessionState };
    useSessionStore.setState({ session: known.value });
    const phone = new FakePhone();
    let made = 0;
    render(
      <StrictMode>
        <I18nextProvider i18n={createI18n('ja')}>
          <AppShell
            createPhone={() => {
              made++;
              return phone;
            }}
          />
        </I18nextProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('status-phone').dataset.registration).toBe('registered'));
    expect(made).toBe(1);
    expect(phone.log).not.toContain('stop');
  });

  it('is deaf to the phone it stopped: a late registration or hold from it changes nothing', async () => {
    const koe = fakeKoe();
    const phone = await mountShell(koe.api, koe.gw);
    const stale = phone.listener!;
    act(() => koe.emit('session:changed', expired));
    await screen.findByTestId('session-ended');
    await waitFor(() => expect(phone.log).toContain('stop'));
    expect(usePhoneStore.getState()).toMatchObject(initialPhoneState);
    // the listener updates the store synchronously: a change would be visible right after the call
    act(() => stale.registration('registered'));
    act(() => stale.registration('failed', '403 Forbidden'));
    act(() => stale.held?.('call-1', true));
    expect(usePhoneStore.getState()).toMatchObject(initialPhoneState);
    expect(screen.getByTestId('status-phone').dataset.registration).toBe('offline');
    expect(phone.log.filter((l) => l === 'recover' || l === 'credentials')).toEqual([]);
  });

  it('a start still waiting for the SIP credentials when the session ends gives up (no phone for nobody)', async () => {
    const koe = fakeKoe();
    const api = koe.api as unknown as {
      sip: { credentials: (i: object) => Promise<unknown> };
      settings: { audioDevices: () => Promise<unknown> };
    };
    const answer = api.sip.credentials;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked: Promise<unknown> | null = null;
    api.sip.credentials = (i) => (asked = held.then(() => answer(i)));
    let devicesAsked = 0;
    const devices = api.settings.audioDevices;
    api.settings.audioDevices = () => {
      devicesAsked++;
      return devices();
    };
    Object.defineProperty(window, 'koe', { value: koe.api, configurable: true });
    const phone = new FakePhone();
    let made = 0;
    render(
      <I18nextProvider i18n={createI18n('ja')}>
        <AppShell
          createPhone={() => {
            made++;
            return phone;
          }}
        />
      </I18nextProvider>,
    );
    await waitFor(() => expect(asked).not.toBeNull());
    act(() => koe.emit('session:changed', expired));
    await screen.findByTestId('session-ended');
    release();
    // the start's continuation was queued on the credentials before this await: it has run when this resumes
    await act(async () => void (await asked));
    expect(devicesAsked).toBe(0);
    expect(made).toBe(0);
    expect(phone.config).toBeNull();
    expect(usePhoneStore.getState().registration).toBe('offline');
  });
});

/** A customer call answered and hung up: the wrap-up panel open, a disposition chosen. */
async function callAndWrapUp(phone: FakePhone): Promise<void> {
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
}

describe('the wrap-up says it is being finished until the gateway answers', () => {
  it.each([
    ['ja', ja.notes.finishWrapUp, ja.notes.finishingWrapUp],
    ['en', en.notes.finishWrapUp, en.notes.finishingWrapUp],
  ] as const)('%s: "%s" -> "%s" (busy, disabled), one intent however often it is asked, then closed', async (language, idle, saving) => {
    const koe = fakeKoe({ language });
    const phone = await mountShell(koe.api, koe.gw, language);
    await callAndWrapUp(phone);
    const button = screen.getByTestId('finish-wrapup') as HTMLButtonElement;
    expect(button.textContent).toBe(idle);
    expect(button.dataset.status).toBe('open');
    let release!: () => void;
    koe.gw.hold = new Promise<void>((r) => (release = r));
    await userEvent.click(button);
    await waitFor(() => expect(button.dataset.status).toBe('saving'));
    expect(button.textContent).toBe(saving);
    expect(button.disabled).toBe(true);
    expect(button.getAttribute('aria-busy')).toBe('true');
    // asked again while the first is on its way (another path than the disabled button): nothing more is sent
    const again = finishWrapUp(customerRecords(), 'break');
    koe.gw.hold = null;
    release();
    await expect(again).resolves.toBeNull();
    await waitFor(() => expect(screen.queryByTestId('wrapup')).toBeNull());
    expect(koe.gw.received.filter((i) => i.kind === 'finishWrapUp')).toEqual([{ kind: 'finishWrapUp', callId: 'sip-1@test', next: 'ready' }]);
  });

  it('refused (the gateway unreachable): back to "finish", enabled, the operator can try again', async () => {
    const koe = fakeKoe();
    const phone = await mountShell(koe.api, koe.gw);
    await callAndWrapUp(phone);
    koe.gw.link = 'unreachable';
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    await screen.findByTestId('agent-refusal');
    const button = screen.getByTestId('finish-wrapup') as HTMLButtonElement;
    expect(button.dataset.status).toBe('open');
    expect(button.textContent).toBe(ja.notes.finishWrapUp);
    expect(button.disabled).toBe(false);
  });
});
