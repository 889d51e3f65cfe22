// Issue 15 item 5 in the renderer (renderer/src/features/customer/call-cards.ts): a card the
// gateway pushed with the ring is painted in the same commit as the ringing panel, with no pop
// request; a call the gateway did not push for is popped once (a look-up in flight is reused,
// and a card pushed meanwhile answers it); pushed cards go when their offer ends (re-routed to a
// colleague), after a bound when the INVITE never comes, on lock, at the session's end; a shown
// card goes when its call ends and the gateway has no wrap-up for it. An INVITE that overtook
// its card (a routed call: DID headers, offered) waits CARD_PUSH_WAIT_MS for the push before it
// asks the pop route; a direct call asks at once; the session's end stops the wait.
import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useCustomerStore } from '../../renderer/src/features/customer/store';
import { usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import { CARD_PUSH_WAIT_MS, CARD_TTL_MS } from '../../renderer/src/features/customer/call-cards';
import { resetUserData } from '../../renderer/src/app/user-data';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { customerRecords, knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決']);
const pushedPop: ScreenPopResponse = { ...knownPop, customers: [{ ...knownPop.customers[0]!, nameKanji: '押出 花子' }] };

const requests: string[] = [];
let popReply: () => Promise<ScreenPopResponse> = async () => knownPop;

beforeEach(() => {
  resetShellStores();
  requests.length = 0;
  popReply = async () => knownPop;
  vi.stubGlobal('fetch', async (url: string, init: { method?: string } = {}) => {
    const path = new URL(url).pathname;
    requests.push(`${init.method ?? 'GET'} ${path}`);
    const body = path === '/screen-pop' ? await popReply() : {};
    return { ok: true, status: 200, json: async () => body };
  });
});
afterEach(() => {
  unmountShell();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function mount() {
  const koe = fakeKoe();
  const phone = await mountShell(koe.api, koe.gw);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { phone, koe };
}
const pops = () => requests.filter((r) => r === 'POST /screen-pop').length;

describe('the card with the ring', () => {
  it('a card pushed before the INVITE is painted in the same commit as the ringing panel, with no pop request', async () => {
    const { phone, koe } = await mount();
    // as the gateway does: the offer, then the card, then Kamailio's INVITE
    phone.beforeRing = (info) => {
      koe.gw.offer(info.sipCallId);
      koe.emit('agent:card', { callId: info.sipCallId, card: pushedPop });
    };
    let sawRingingWithoutCard = false;
    const unsub = usePhoneStore.subscribe((s) => {
      if (s.calls.length && !useCustomerStore.getState().pops['sip-1@test']) sawRingingWithoutCard = true;
    });
    act(() => void phone.ring());
    await screen.findByTestId('ringing');
    expect(screen.getByTestId('customer-name').textContent).toBe('押出 花子');
    expect(sawRingingWithoutCard).toBe(false);
    unsub();
    expect(pops()).toBe(0);
    expect(customerRecords().cards.stats).toMatchObject({ pushed: 1, claimed: 1, pops: 0 });
  });

  it('a call without a pushed card is popped once; a second look-up reuses the pop in flight; a card pushed meanwhile answers it', async () => {
    const { phone, koe } = await mount();
    let release: (r: ScreenPopResponse) => void = () => {};
    popReply = () => new Promise((r) => (release = r));
    const cards = customerRecords().cards;
    act(() => void phone.ring());
    await waitFor(() => expect(pops()).toBe(1));
    const info = { id: 'call-1', sipCallId: 'sip-1@test', direction: 'inbound' as const, remote: '+819012345678', campaignId: null, dialledNumber: null, receivedAt: 0 };
    const again = cards.lookUp(info);
    expect(pops()).toBe(1); // reused, not asked twice
    // the gateway's push arrives while the pop is on its way: it answers both look-ups
    act(() => koe.emit('agent:card', { callId: 'sip-1@test', card: pushedPop }));
    const got = await again;
    expect(got.status === 'ready' && got.pop.customers[0]!.nameKanji).toBe('押出 花子');
    await screen.findByTestId('ringing');
    expect(screen.getByTestId('customer-name').textContent).toBe('押出 花子');
    release(knownPop); // the late HTTP answer changes nothing
    await act(async () => {});
    expect(screen.getByTestId('customer-name').textContent).toBe('押出 花子');
    expect(pops()).toBe(1);
  });

  it('a pushed card whose offer ended (re-routed to a colleague) is dropped and never shown', async () => {
    const { phone, koe } = await mount();
    const cards = customerRecords().cards;
    koe.gw.offer('sip-1@test');
    act(() => koe.emit('agent:card', { callId: 'sip-1@test', card: pushedPop }));
    expect(cards.holds('sip-1@test')).toBe(true);
    // the ring deadline: the gateway ends this operator's offer (the call goes to the next operator)
    act(() => koe.gw.ringTimesOut());
    await waitFor(() => expect(cards.holds('sip-1@test')).toBe(false));
    // a late INVITE for it is not offered here: refused, and the card never painted
    phone.beforeRing = null;
    act(() => void phone.ring());
    await waitFor(() => expect(phone.log).toContain('reject call-1 486'), { timeout: 4000 });
    expect(screen.queryByTestId('customer-card')).toBeNull();
    expect(useCustomerStore.getState().pops['sip-1@test']).toBeUndefined();
  });

  it('a pushed card whose INVITE never comes is dropped after the bound', async () => {
    const { koe } = await mount();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const cards = customerRecords().cards;
    koe.emit('agent:card', { callId: 'never@test', card: pushedPop });
    expect(cards.holds('never@test')).toBe(true);
    vi.advanceTimersByTime(CARD_TTL_MS - 1);
    expect(cards.holds('never@test')).toBe(true);
    vi.advanceTimersByTime(2);
    expect(cards.holds('never@test')).toBe(false);
  });

  it('pushed cards go on lock and at the session\'s end; a shown card goes when its call ends without a wrap-up', async () => {
    const { phone, koe } = await mount();
    const cards = customerRecords().cards;
    koe.emit('agent:card', { callId: 'locked@test', card: pushedPop });
    expect(cards.holds('locked@test')).toBe(true);
    await act(async () => void (await koe.api.lock.lockNow({})));
    await waitFor(() => expect(cards.holds('locked@test')).toBe(false));
    koe.emit('agent:card', { callId: 'session@test', card: pushedPop });
    // (main drops cards while locked; this one came through the fake: the session end clears it)
    act(() => resetUserData());
    expect(cards.holds('session@test')).toBe(false);
    expect(useCustomerStore.getState().pops).toEqual({});
    void phone;
  });

  it('a shown card is cleared when the call ends and the gateway keeps no wrap-up for it', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await screen.findByTestId('ringing');
    expect(useCustomerStore.getState().pops['sip-1@test']).toBeDefined();
    // the caller hangs up while it rings: no wrap-up, the card goes
    act(() => phone.phase('call-1', 'ended'));
    await waitFor(() => expect(useCustomerStore.getState().pops['sip-1@test']).toBeUndefined());
    expect(screen.queryByTestId('customer-card')).toBeNull();
  });

  it('a routed call whose INVITE overtook its card waits for the push: no pop request, ringing and card in one commit', async () => {
    const { phone, koe } = await mount();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let sawRingingWithoutCard = false;
    const unsub = usePhoneStore.subscribe((s) => {
      if (s.calls.length && !useCustomerStore.getState().pops['sip-1@test']) sawRingingWithoutCard = true;
    });
    // the offer, then Kamailio's INVITE, and the card only after it (it was slower on the gateway link)
    act(() => void phone.ring());
    await act(async () => void (await vi.advanceTimersByTimeAsync(CARD_PUSH_WAIT_MS - 1)));
    expect(pops()).toBe(0);
    expect(usePhoneStore.getState().calls).toHaveLength(0); // not ringing without its card
    // a second look-up meanwhile (a transfer's popLater, say) joins the wait: still no pop
    const info = { id: 'call-1', sipCallId: 'sip-1@test', direction: 'inbound' as const, remote: '+819012345678', campaignId: null, dialledNumber: '+81312345678', receivedAt: 0 };
    const again = customerRecords().cards.lookUp(info);
    expect(pops()).toBe(0);
    act(() => koe.emit('agent:card', { callId: 'sip-1@test', card: pushedPop }));
    const got = await again;
    expect(got.status === 'ready' && got.pop.customers[0]!.nameKanji).toBe('押出 花子');
    await act(async () => void (await vi.advanceTimersByTimeAsync(5 * CARD_PUSH_WAIT_MS)));
    vi.useRealTimers();
    await screen.findByTestId('ringing');
    expect(screen.getByTestId('customer-name').textContent).toBe('押出 花子');
    expect(sawRingingWithoutCard).toBe(false);
    unsub();
    expect(pops()).toBe(0);
    expect(customerRecords().cards.stats).toMatchObject({ pushed: 1, pops: 0 });
  });

  it('a routed call whose card does not come is popped once, after the wait and not before', async () => {
    const { phone } = await mount();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    act(() => void phone.ring());
    await act(async () => void (await vi.advanceTimersByTimeAsync(CARD_PUSH_WAIT_MS - 1)));
    expect(pops()).toBe(0);
    await act(async () => void (await vi.advanceTimersByTimeAsync(1)));
    expect(pops()).toBe(1);
    vi.useRealTimers();
    await screen.findByTestId('ringing');
    expect(screen.getByTestId('customer-name').textContent).toBe(knownPop.customers[0]!.nameKanji);
    expect(pops()).toBe(1);
  });

  it('a direct call (no routing headers, nothing pushed for it) is popped at once', async () => {
    const { phone } = await mount();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    phone.beforeRing = null; // a colleague's call: the gateway offered nothing, nothing is pushed
    act(() => void phone.ring({ campaignId: null, dialledNumber: null, remote: '1001' }));
    await act(async () => void (await vi.advanceTimersByTimeAsync(0)));
    expect(pops()).toBe(1);
    vi.useRealTimers();
    await screen.findByTestId('ringing');
  });

  it('the session ending while an INVITE waits for its card stops the wait: no pop, no card, the call refused', async () => {
    const { phone } = await mount();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    act(() => void phone.ring());
    await act(async () => void (await vi.advanceTimersByTimeAsync(CARD_PUSH_WAIT_MS / 2)));
    act(() => resetUserData());
    await act(async () => void (await vi.advanceTimersByTimeAsync(10 * CARD_PUSH_WAIT_MS)));
    vi.useRealTimers();
    await waitFor(() => expect(phone.log).toContain('reject call-1 486'));
    expect(pops()).toBe(0);
    expect(useCustomerStore.getState().pops).toEqual({});
    expect(screen.queryByTestId('customer-card')).toBeNull();
  });
});
