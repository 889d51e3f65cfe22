// A card number typed through a Japanese input method arrives as one composition, committed
// at once. The note textarea redacts it at the commit (compositionend), in both orders
// browsers send the events, and what the CRM client sends is redacted whatever the
// composition state (defence in depth).
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useCustomerStore } from '../../renderer/src/features/customer/store';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const pop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, '22222222-2222-4222-8222-222222222222', ['解決']);

const requests: { path: string; body: unknown }[] = [];

beforeEach(() => {
  resetShellStores();
  requests.length = 0;
  vi.stubGlobal('fetch', async (url: string, init: { body?: string } = {}) => {
    const path = new URL(url).pathname;
    requests.push({ path, body: init.body ? JSON.parse(init.body) : undefined });
    const body = path === '/screen-pop' ? pop : {};
    return { ok: true, status: 200, json: async () => body };
  });
});
afterEach(async () => {
  unmountShell();
  vi.unstubAllGlobals();
});

async function noteArea(): Promise<HTMLTextAreaElement> {
  const koe = fakeKoe({});
  const phone = await mountShell(koe.api, koe.gw);
  act(() => void phone.ring());
  await userEvent.click(await screen.findByTestId('answer'));
  return screen.getByTestId('note-text') as HTMLTextAreaElement;
}

// As a Japanese IME produces it: full-width digits, the long-vowel mark for "-".
const CARD = '４１１１ー１１１１ー１１１１ー１１１１';
const MASKED = '****ー****ー****ー１１１１';
const BEFORE = 'カード番号は';
const AFTER = 'です';

/** The composition's updates as the IME sends them: the card grows a few characters at a time. */
function composeSteps(prefix: string): string[] {
  const steps: string[] = [];
  for (let n = 4; n < CARD.length; n += 5) steps.push(prefix + CARD.slice(0, n));
  steps.push(prefix + CARD);
  return steps;
}

const sentNoteBodies = () => requests.filter((r) => r.path === '/notes').map((r) => (r.body as { body: string }).body);
const fiveDigitsInARow = /[0-9０-９]{5}|([0-9０-９][ー\-]?){5}/;

describe('note input through an IME', () => {
  it('redacts a card number committed at once (input while composing, then compositionend: Chrome order)', async () => {
    const area = await noteArea();
    fireEvent.change(area, { target: { value: BEFORE } });
    fireEvent.compositionStart(area, { data: '' });
    for (const value of composeSteps(BEFORE)) fireEvent.input(area, { target: { value }, isComposing: true });
    // While composing, the IME's text is left alone (changing it would cancel the composition).
    expect(area.value).toBe(BEFORE + CARD);
    fireEvent.compositionEnd(area, { data: CARD });
    expect(area.value).toBe(BEFORE + MASKED);
    expect(screen.getByTestId('note-masked').textContent).toBe('カード番号を伏せ字にしました（下4桁のみ残します）');

    fireEvent.change(area, { target: { value: BEFORE + MASKED + AFTER } });
    await userEvent.click(screen.getByTestId('note-save'));
    await waitFor(() => expect(sentNoteBodies()).toHaveLength(1));
    expect(sentNoteBodies()[0]).toBe(BEFORE + MASKED + AFTER);
    expect(screen.getByTestId('note-item').textContent).not.toMatch(fiveDigitsInARow);
  });

  it('redacts it when compositionend comes first and the committing input after it (Firefox order)', async () => {
    const area = await noteArea();
    fireEvent.compositionStart(area, { data: '' });
    for (const value of composeSteps('')) fireEvent.input(area, { target: { value }, isComposing: true });
    fireEvent.compositionEnd(area, { data: CARD });
    fireEvent.input(area, { target: { value: CARD }, isComposing: false });
    expect(area.value).toBe(MASKED);
    await userEvent.click(screen.getByTestId('note-save'));
    await waitFor(() => expect(sentNoteBodies()).toHaveLength(1));
    expect(sentNoteBodies()[0]).toBe(MASKED);
  });

  it('sends a redacted note even when saved in the middle of a composition (no compositionend ever came)', async () => {
    const area = await noteArea();
    fireEvent.compositionStart(area, { data: '' });
    for (const value of composeSteps(BEFORE)) fireEvent.input(area, { target: { value }, isComposing: true });
    await userEvent.click(screen.getByTestId('note-save'));
    await waitFor(() => expect(sentNoteBodies()).toHaveLength(1));
    expect(sentNoteBodies()[0]).toBe(BEFORE + MASKED);
    expect(sentNoteBodies()[0]).not.toMatch(fiveDigitsInARow);
    expect(useCustomerStore.getState().notes.map((n) => n.body)).toEqual([BEFORE + MASKED]);
  });

  it('redacts a card typed without an IME as before, and moves the caret back over astral digits', async () => {
    const area = await noteArea();
    await userEvent.type(area, '𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 ok');
    expect(area.value).toBe('**** **** **** 𝟏𝟏𝟏𝟏 ok');
    expect(area.selectionStart).toBe(area.value.length);
  });
});
