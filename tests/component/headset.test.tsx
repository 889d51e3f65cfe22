// Issue 18 item 8, USB headsets through WebHID, with a fake headset (tests/support/fake-hid.ts:
// a typical softphone headset's descriptor): an allowed headset connects at start; lifting it
// answers the ringing call, its mute button mutes, putting it down hangs up, each through the
// shortcut path (refused where the on-screen button is); its lights follow the call; a vendor
// outside the policy, or the policy's empty list, gives no headset.
import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAppStore } from '../../renderer/src/app/app-store';
import { fakeHeadsetHid, type FakeHeadsetHandle } from '../support/fake-hid';
import { fakeKoe } from './phone-fakes';
import { mountReadyOperator, mountShell, resetShellStores, stubKnownCallerGateway, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
let headset: FakeHeadsetHandle;

function plugIn(vendorId?: number) {
  headset = fakeHeadsetHid(vendorId);
  Object.defineProperty(navigator, 'hid', { value: headset.hid, configurable: true });
}

beforeEach(() => {
  resetShellStores();
  stubKnownCallerGateway(CAMPAIGN, CUSTOMER);
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
  Reflect.deleteProperty(navigator, 'hid');
});

const mount = mountReadyOperator;

describe('USB headset (WebHID, issue 18 item 8)', () => {
  it('answers, mutes and hangs up from the headset; its lights show ringing, the call and mute', async () => {
    plugIn();
    const { phone } = await mount();
    await waitFor(() => expect(screen.getByTestId('headset-status').dataset.status).toBe('connected'));
    expect(screen.getByTestId('headset-status').textContent).toBe('Fake Headset 40 を使用中（応答・終話・ミュートのボタンが使えます）');
    expect(headset.opened()).toBe(true);

    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819012345678' }));
    await screen.findByTestId('ringing');
    await waitFor(() => expect(headset.lights()).toEqual({ ring: true, offHook: false, mute: false }));

    act(() => headset.lift());
    await waitFor(() => expect(screen.getByTestId('call').dataset.phase).toBe('established'));
    expect(phone.log).toContain('answer call-1');
    await waitFor(() => expect(headset.lights()).toEqual({ ring: false, offHook: true, mute: false }));

    act(() => headset.pressMute());
    await waitFor(() => expect(screen.getByTestId('call').dataset.muted).toBe('true'));
    await waitFor(() => expect(headset.lights().mute).toBe(true));
    act(() => headset.pressMute());
    await waitFor(() => expect(screen.getByTestId('call').dataset.muted).toBe('false'));

    act(() => headset.putDown());
    await screen.findByTestId('wrapup');
    expect(phone.log).toContain('hangup call-1');
    await waitFor(() => expect(headset.lights()).toEqual({ ring: false, offHook: false, mute: false }));
    expect(phone.log.filter((l) => /^(answer|hangup|mute)/.test(l))).toEqual(['answer call-1', 'mute call-1 true', 'mute call-1 false', 'hangup call-1']);
  });

  it('lifting, putting down or pressing mute with no call does nothing', async () => {
    plugIn();
    const { phone } = await mount();
    await waitFor(() => expect(screen.getByTestId('headset-status').dataset.status).toBe('connected'));
    act(() => headset.lift());
    act(() => headset.putDown());
    act(() => headset.pressMute());
    expect(phone.log.filter((l) => /^(answer|hangup|mute|reject)/.test(l))).toEqual([]);
  });

  it("a vendor outside the policy is not opened; the policy's empty list turns headsets off (en)", async () => {
    plugIn(0x1050); // a security key maker
    await mount('en');
    await waitFor(() => expect(screen.getByTestId('headset-status').dataset.status).toBe('none'));
    expect(headset.opened()).toBe(false);
    unmountShell();

    plugIn();
    resetShellStores();
    const koe = fakeKoe({ language: 'en' });
    const mounted = mountShell(koe.api, koe.gw, 'en');
    await mounted;
    act(() => useAppStore.setState((s) => ({ policy: s.policy && { ...s.policy, policy: { ...s.policy.policy, headsetVendorIds: [] } } })));
    await waitFor(() => expect(screen.getByTestId('headset-status').textContent).toBe("Headset buttons are turned off by your organisation's policy."));
  });
});
