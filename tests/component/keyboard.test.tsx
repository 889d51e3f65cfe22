// Issue 18 item 3, keyboard first: every shortcut from anywhere in the window (it presses the
// very control the mouse would, so it is refused where the button is), main's global shortcut
// through the same path, focus on the answer button when a call rings and never dropped to the
// page after an action, and the ring announced once with the caller's name.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { SHORTCUT_ACTIONS, shortcutAccelerator } from '../../shared/rules/shortcuts';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
let pop: ScreenPopResponse | 'slow' = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決']);

beforeEach(() => {
  resetShellStores();
  pop = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決']);
  vi.stubGlobal('fetch', async (url: string) => {
    const path = new URL(url).pathname;
    if (path === '/screen-pop' && pop === 'slow') await new Promise(() => undefined);
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? pop : {}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

async function mount(language: 'ja' | 'en' = 'ja') {
  const koe = fakeKoe({ language });
  const phone = await mountShell(koe.api, koe.gw, language);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { koe, phone };
}

/** Ctrl+Alt+<key> as the keyboard sends it (KeyboardEvent.code KeyA...). */
const press = (key: string) => userEvent.keyboard(`{Control>}{Alt>}[${key === '/' ? 'Slash' : `Key${key.toUpperCase()}`}]{/Alt}{/Control}`);
const active = () => (document.activeElement as HTMLElement | null)?.dataset.testid ?? document.activeElement?.tagName;

describe('keyboard shortcuts (Ctrl+Alt+key, from anywhere in the window)', () => {
  it('a ring takes focus to the answer button; Ctrl+Alt+A answers, H holds, M mutes, O goes to the notes, T to the transfer target, D opens the dial pad, E hangs up; focus is never left on the page', async () => {
    const { phone } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819012345678' }));
    await screen.findByTestId('ringing');
    await waitFor(() => expect(active()).toBe('answer'));

    // from the page itself (the operator clicked on an empty area)
    (document.activeElement as HTMLElement).blur();
    expect(document.activeElement).toBe(document.body);
    await press('a');
    const call = await screen.findByTestId('call');
    await waitFor(() => expect(call.dataset.phase).toBe('established'));
    expect(phone.log).toContain('answer call-1');
    // the answer button is gone: focus went to the call, not to the page
    await waitFor(() => expect(active()).toBe('call'));

    await press('h');
    await waitFor(() => expect(screen.getByTestId('call').dataset.held).toBe('true'));
    await press('h');
    await waitFor(() => expect(screen.getByTestId('call').dataset.held).toBe('false'));
    await press('m');
    await waitFor(() => expect(screen.getByTestId('call').dataset.muted).toBe('true'));

    await press('o');
    expect(active()).toBe('note-text');
    // typing in the note: a shortcut still works from there and types nothing
    await userEvent.keyboard('住所確認');
    await press('m');
    await waitFor(() => expect(screen.getByTestId('call').dataset.muted).toBe('false'));
    expect((screen.getByTestId('note-text') as HTMLTextAreaElement).value).toBe('住所確認');

    await press('t');
    expect(active()).toBe('transfer-target');
    await press('d');
    expect(screen.getByTestId('keypad')).toBeTruthy();
    expect(screen.getByTestId('keypad-toggle').getAttribute('aria-expanded')).toBe('true');

    await press('e');
    expect(phone.log).toContain('hangup call-1');
    await screen.findByTestId('wrapup');
    // the next thing to do: the disposition
    await waitFor(() => expect(active()).toBe('disposition'));
    expect(phone.log).toEqual(expect.arrayContaining(['hold call-1 true', 'hold call-1 false', 'mute call-1 true', 'mute call-1 false']));
  });

  it('Ctrl+Alt+E while ringing declines; Ctrl+Alt+N and R set not ready and ready through the gateway', async () => {
    const { phone, koe } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await screen.findByTestId('ringing');
    await press('e');
    expect(phone.log).toContain('reject call-1 603');
    await waitFor(() => expect(screen.queryByTestId('ringing')).toBeNull());
    // focus went somewhere on the screen, not to the page
    await waitFor(() => expect(document.activeElement).not.toBe(document.body));

    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.state).not.toBe('ringing'));
    koe.calls.length = 0;
    await press('n');
    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.state).toBe('not_ready'));
    expect(koe.calls).toContain('agent setAvailability not_ready');
    await press('r');
    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.state).toBe('ready'));
    expect(koe.calls).toContain('agent setAvailability ready');
  });

  it('a shortcut whose control is not on screen does nothing and says so; AltGr, Shift, a held key and an IME composition are not shortcuts', async () => {
    const { phone } = await mount();
    await press('h');
    expect(phone.log.some((l) => l.startsWith('hold'))).toBe(false);
    expect(screen.getByTestId('shortcut-notice').textContent).toBe('今は 保留／再開 を使えません。');

    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await screen.findByTestId('ringing');
    const send = (init: KeyboardEventInit) => act(() => void window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyA', ctrlKey: true, altKey: true, bubbles: true, cancelable: true, ...init })));
    send({ shiftKey: true });
    send({ repeat: true });
    send({ isComposing: true });
    // AltGr: Chromium reports the AltGraph modifier (European layouts type € or @ with it)
    const altGr = new KeyboardEvent('keydown', { code: 'KeyA', ctrlKey: true, altKey: true, bubbles: true, cancelable: true });
    Object.defineProperty(altGr, 'getModifierState', { value: (m: string) => m === 'AltGraph' });
    act(() => void window.dispatchEvent(altGr));
    expect(phone.log).not.toContain('answer call-1');
    const plain = new KeyboardEvent('keydown', { code: 'KeyA', ctrlKey: true, altKey: true, bubbles: true, cancelable: true });
    act(() => void window.dispatchEvent(plain));
    expect(plain.defaultPrevented).toBe(true);
    await waitFor(() => expect(phone.log).toContain('answer call-1'));
  });

  it("main's global shortcut (Koe not in front) presses the same control: answer, then hang up", async () => {
    const { phone, koe } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await screen.findByTestId('ringing');
    act(() => koe.emit('shortcut:pressed', { action: 'answer' }));
    await waitFor(() => expect(screen.getByTestId('call').dataset.phase).toBe('established'));
    act(() => koe.emit('shortcut:pressed', { action: 'hangup' }));
    await waitFor(() => expect(phone.log).toContain('hangup call-1'));
  });

  it('the list (Ctrl+Alt+/) names every shortcut in ja and en, and each control carries its aria-keyshortcuts', async () => {
    const { phone } = await mount('en');
    await press('/');
    const list = screen.getByTestId('shortcuts-list');
    expect(list.hasAttribute('open')).toBe(true);
    const rows = SHORTCUT_ACTIONS.map((a) => within(list).getByTestId(`shortcut-${a}`).textContent);
    expect(rows).toContain('Ctrl+Alt+AAnswer');
    expect(rows).toContain('Ctrl+Alt+EHang up (decline while ringing)');
    expect(rows).toContain('Ctrl+Alt+/Open this list');
    await userEvent.click(within(list).getByTestId('shortcuts-close'));
    expect(list.hasAttribute('open')).toBe(false);

    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    expect((await screen.findByTestId('answer')).getAttribute('aria-keyshortcuts')).toBe(shortcutAccelerator('answer'));
    expect(screen.getByTestId('agent-not-ready').getAttribute('aria-keyshortcuts')).toBe('Control+Alt+N');
  });

  it('a ring does not take the focus from a text field the operator is typing in (Ctrl+Alt+A still answers from there)', async () => {
    const { phone } = await mount();
    // any text field that stays on screen while a call rings (here one of the page's own)
    const field = document.createElement('input');
    field.setAttribute('data-testid', 'some-field');
    document.body.append(field);
    field.focus();
    await userEvent.keyboard('abc');
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await screen.findByTestId('ringing');
    await new Promise((r) => setTimeout(r, 50));
    expect(active()).toBe('some-field');
    await press('a');
    await waitFor(() => expect(screen.getByTestId('call').dataset.phase).toBe('established'));
    expect(field.value).toBe('abc');
    field.remove();
  });
});

describe('the ring announced once, with the caller', () => {
  const announced = () => screen.getByTestId('ring-announcement').textContent;

  it("names the customer the screen pop found, once, and forgets it when the ring ends", async () => {
    const { phone } = await mount();
    const region = screen.getByTestId('ring-announcement');
    expect(region.getAttribute('aria-live')).toBe('assertive');
    const texts: string[] = [];
    const obs = new MutationObserver(() => region.textContent && texts.push(region.textContent));
    obs.observe(region, { childList: true, subtree: true, characterData: true });
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819012345678' }));
    await waitFor(() => expect(announced()).toBe('着信：山田 太郎 様、東京ガス相談窓口'));
    // more renders of the same ring (the card, the agent state) say nothing more
    await screen.findByTestId('customer-card');
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    expect(texts).toEqual(['着信：山田 太郎 様、東京ガス相談窓口']);
    await press('e');
    await waitFor(() => expect(announced()).toBe(''));
  });

  it('a pop that does not come in time (en): the number in the national form, 0.8 s after the ringing panel', async () => {
    pop = 'slow';
    const { phone } = await mount('en');
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819012345678' }));
    await screen.findByTestId('ringing', {}, { timeout: 3_000 });
    expect(announced()).toBe('');
    await waitFor(() => expect(announced()).toBe('Incoming call: 090-1234-5678'), { timeout: 3_000 });
  });
});
