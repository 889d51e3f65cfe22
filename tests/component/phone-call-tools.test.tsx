// Issue 18 item 6 "Calls": the hold timer, the dial pad, redial and the campaign an outbound
// call is for (its caller ID). The SIP layer and the gateway are the fakes of phone-fakes.ts.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';

type Handler = (path: string, body: unknown) => { status: number; body: unknown };
let gateway: Handler;

async function mount() {
  const koe = fakeKoe();
  const phone = await mountShell(koe.api, koe.gw);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { phone, koe };
}

beforeEach(() => {
  resetShellStores();
  gateway = () => ({ status: 404, body: { error: { code: 'not_found', message: 'none' } } });
  vi.stubGlobal('fetch', async (url: string, init: { body?: string } = {}) => {
    const r = gateway(new URL(url).pathname, init.body ? JSON.parse(init.body) : undefined);
    return { ok: r.status < 400, status: r.status, json: async () => r.body };
  });
});
afterEach(() => {
  unmountShell();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the hold timer', () => {
  it('counts how long the customer has been on hold, restarts at each hold, and shows the call\'s total after resuming', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    const call = await screen.findByTestId('call');
    expect(screen.queryByTestId('hold-timer')).toBeNull();
    // only Date is faked: the call bar's one-second clock still ticks, and reads the time set here
    vi.useFakeTimers({ toFake: ['Date'] });
    await userEvent.click(within(call).getByTestId('hold'));
    const timer = await screen.findByTestId('hold-timer');
    expect(timer.textContent).toBe('保留時間 00:00');
    // a timer, not a live region: a screen reader is not interrupted every second
    expect(timer.getAttribute('role')).toBe('timer');
    expect(timer.closest('[aria-live]')).toBeNull();
    vi.setSystemTime(Date.now() + 65_000);
    await waitFor(() => expect(screen.getByTestId('hold-timer').textContent).toBe('保留時間 01:05'), { timeout: 3000 });
    // the call's own duration keeps running beside it
    expect(screen.getByTestId('call-timer').textContent).toMatch(/^01:0\d$/);
    await userEvent.click(within(call).getByTestId('hold'));
    await waitFor(() => expect(screen.queryByTestId('hold-timer')).toBeNull());
    expect(screen.getByTestId('hold-total').textContent).toBe('この通話の保留合計 01:05');
    vi.setSystemTime(Date.now() + 30_000);
    await userEvent.click(within(call).getByTestId('hold'));
    // a new hold starts from zero; the total adds up every hold of the call
    expect((await screen.findByTestId('hold-timer')).textContent).toBe('保留時間 00:00');
    vi.setSystemTime(Date.now() + 10_000);
    await waitFor(() => expect(screen.getByTestId('hold-timer').textContent).toBe('保留時間 00:10'), { timeout: 3000 });
    await userEvent.click(within(call).getByTestId('hold'));
    await waitFor(() => expect(screen.getByTestId('hold-total').textContent).toBe('この通話の保留合計 01:15'));
  });
});
