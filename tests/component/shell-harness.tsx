// The app shell as the component tests mount it: a fake window.koe, the fake SIP layer, the
// Japanese UI, waited on until the phone reports it is registered; and the screen pop of a
// known customer (山田 太郎) that the phone and notes tests answer.
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { I18nextProvider } from 'react-i18next';
import { expect, vi } from 'vitest';
import { AppShell } from '../../renderer/src/features/shell/AppShell';
import { CustomerRecords } from '../../renderer/src/features/customer/crm-service';
import { initialAgentData, useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useAppStore } from '../../renderer/src/app/app-store';
import { initialCustomerState, useCustomerStore } from '../../renderer/src/features/customer/store';
import { initialPhoneState, usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import { createI18n } from '../../renderer/src/i18n';
import type { KoeApi } from '../../shared/ipc/api';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { FakePhone, fakeKoe, type FakeGateway } from './phone-fakes';
import { initialWorkspaceState, useWorkspaceStore } from '../../renderer/src/features/customer/workspace-store';

/** The stores the shell renders, as at a fresh start (each test mounts its own shell). */
export function resetShellStores(): void {
  useAppStore.setState({ info: null, policy: null, lock: { locked: false, reason: null, since: null }, gateway: null, error: null });
  usePhoneStore.setState({ ...initialPhoneState });
  useCustomerStore.setState({ ...initialCustomerState });
  useAgentStore.setState({ ...initialAgentData });
  useWorkspaceStore.setState({ ...initialWorkspaceState });
}

/**
 * Unmounts the shell: its <Telephony> stops the telephony object it owns (the phone store goes
 * back to its initial state at once; events the stopped phone still sends are ignored), and
 * every holder the tree registered with user-data.ts detaches.
 */
export function unmountShell(): void {
  cleanup();
}

/** The notes and call-update queues of the shell mounted last (made by the shell, kept here for the checks). */
let records: CustomerRecords | null = null;
export function customerRecords(): CustomerRecords {
  if (!records) throw new Error('no shell mounted');
  return records;
}

/** `gw`: the fake gateway behind `api`; each ringing call is offered there first (as routing would). */
export async function mountShell(api: KoeApi, gw?: FakeGateway, language: 'ja' | 'en' = 'ja'): Promise<FakePhone> {
  Object.defineProperty(window, 'koe', { value: api, configurable: true });
  const phone = new FakePhone();
  if (gw) phone.beforeRing = (info) => void gw.offer(info.sipCallId);
  render(
    <I18nextProvider i18n={createI18n(language)}>
      <AppShell createPhone={() => phone} createCustomerRecords={() => (records = new CustomerRecords())} />
    </I18nextProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('status-phone').dataset.registration).toBe('registered'));
  return phone;
}

export function knownCustomerPop(campaignId: string, customerId: string, dispositions: string[]): ScreenPopResponse {
  return {
    status: 'known',
    blocked: false,
    campaign: { id: campaignId, name: '東京ガス相談窓口', dispositions, openNow: true },
    customers: [
      {
        id: customerId,
        campaignId,
        nameKanji: '山田 太郎',
        nameKana: 'ヤマダ タロウ',
        phones: ['+819012345678'],
        email: null,
        fields: {},
        createdAt: '2026-01-01T00:00:00Z',
        updatedAt: '2026-01-01T00:00:00Z',
      },
    ],
    recentCalls: [],
    openNotes: [],
  };
}

/** The gateway as a ringing call sees it: every screen pop answers this known customer, anything else `{}`. */
export function stubKnownCallerGateway(campaignId: string, customerId: string, dispositions: string[] = ['解決']): void {
  vi.stubGlobal('fetch', async (url: string) => {
    const path = new URL(url).pathname;
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? knownCustomerPop(campaignId, customerId, dispositions) : {}) };
  });
}

/** A signed-in operator's shell in `language`, READY at the fake gateway. */
export async function mountReadyOperator(language: 'ja' | 'en' = 'ja'): Promise<{ koe: ReturnType<typeof fakeKoe>; phone: FakePhone }> {
  const koe = fakeKoe({ language });
  const phone = await mountShell(koe.api, koe.gw, language);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { koe, phone };
}
