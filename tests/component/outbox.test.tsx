// The operator's side of main's durable outbox (issue 19, item 1): what is pending is shown and
// stays true through a renderer crash (the shell mounted again over the same main), a refusal is
// said, and signing out with unsent items warns and keeps them. Behind the fake window.koe runs
// main's real OutboxService (tests/component/phone-fakes.ts), sending through the stubbed fetch.
import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useSessionStore } from '../../renderer/src/app/session-store';
import { useCustomerStore } from '../../renderer/src/features/customer/store';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決', '折り返し']);
let notesAnswer: { status: number; body: unknown } = { status: 503, body: { error: { code: 'unavailable', message: 'down' } } };
const posted: string[] = [];

beforeEach(() => {
  resetShellStores();
  posted.length = 0;
  notesAnswer = { status: 503, body: { error: { code: 'unavailable', message: 'down' } } };
  vi.stubGlobal('fetch', async (url: string, init: { method?: string; body?: string } = {}) => {
    const path = new URL(url).pathname;
    if (path === '/screen-pop') return { ok: true, status: 200, json: async () => knownPop };
    if (path === '/notes') {
      posted.push((JSON.parse(init.body!) as { clientNoteId: string }).clientNoteId);
      return { ok: notesAnswer.status < 400, status: notesAnswer.status, json: async () => notesAnswer.body };
    }
    // the call record's updates (ahead of the note in the outbox's order) follow the notes' answer: down or up
    if (path.startsWith('/calls/')) return notesAnswer.status === 503 ? { ok: false, status: 503, json: async () => notesAnswer.body } : { ok: true, status: 200, json: async () => ({}) };
    return { ok: false, status: 503, json: async () => ({ error: { code: 'unavailable', message: 'down' } }) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

async function noteWhileDown(koe: ReturnType<typeof fakeKoe>, text: string) {
  const phone = await mountShell(koe.api, koe.gw);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  act(() => void phone.ring());
  await userEvent.click(await screen.findByTestId('answer'));
  await userEvent.type(screen.getByTestId('note-text'), text);
  await userEvent.click(screen.getByTestId('note-save'));
  await screen.findByTestId('note-item');
  return phone;
}

describe('the outbox as the operator sees it', () => {
  it('shows what main holds, keeps showing it after a renderer crash, and marks it saved once the gateway takes it', async () => {
    const koe = fakeKoe();
    await noteWhileDown(koe, '明日 折り返し');
    expect(screen.getByTestId('note-item').dataset.status).toBe('pending');
    await waitFor(() => expect(Number(screen.getByTestId('outbox-pending').dataset.count)).toBeGreaterThanOrEqual(1));
    expect(screen.getByTestId('outbox-pending').textContent).toMatch(/送信待ち \d+ 件/);
    // the renderer crashes: its memory is gone, main (the fake's real OutboxService) is not
    unmountShell();
    resetShellStores();
    await mountShell(koe.api, koe.gw);
    // the note is listed again from main (still pending)
    expect(koe.outbox.list().some((i) => i.body === '明日 折り返し')).toBe(true);
    await waitFor(() => expect(useCustomerStore.getState().notes.map((n) => [n.body, n.status])).toEqual([['明日 折り返し', 'pending']]));
    // the gateway is back
    notesAnswer = { status: 200, body: {} };
    koe.outbox.flush();
    await waitFor(() => expect(useCustomerStore.getState().notes.map((n) => n.status)).toEqual(['saved']), { timeout: 5000 });
    expect(new Set(posted).size).toBe(1);
  }, 20_000);

  it('a refusal for good is said on the note', async () => {
    notesAnswer = { status: 404, body: { error: { code: 'not_found', message: 'no such call' } } };
    const koe = fakeKoe();
    await noteWhileDown(koe, 'だめなメモ');
    await waitFor(() => expect(screen.getByTestId('note-item').dataset.status).toBe('refused'));
    expect(screen.getByTestId('note-item').textContent).toContain('保存できませんでした');
    await waitFor(() => expect(koe.outbox.state().pending.filter((p) => p.kind === 'note')).toEqual([]));
  }, 20_000);

  it('signing out with unsent items warns (cancel stays signed in), then keeps them sealed for this user', async () => {
    const koe = fakeKoe();
    const phone = await noteWhileDown(koe, '残すメモ');
    await userEvent.click(screen.getByTestId('hangup'));
    await waitFor(() => expect(phone.log.some((l) => l.startsWith('hangup'))).toBe(true));
    await waitFor(() => expect(screen.queryByTestId('hangup')).toBeNull());
    await userEvent.click(screen.getByTestId('sign-out'));
    const dialog = await screen.findByTestId('sign-out-unsent');
    expect(dialog.getAttribute('role')).toBe('alertdialog');
    expect(dialog.textContent).toMatch(/送信待ちの項目が \d+ 件あります/);
    expect(document.activeElement).toBe(screen.getByTestId('sign-out-unsent-cancel'));
    await userEvent.click(screen.getByTestId('sign-out-unsent-cancel'));
    expect(screen.queryByTestId('sign-out-unsent')).toBeNull();
    expect(useSessionStore.getState().session.status).toBe('signed-in');
    const kept = koe.outbox.state().pending.length;
    expect(kept).toBeGreaterThanOrEqual(1);
    await userEvent.click(screen.getByTestId('sign-out'));
    await userEvent.click(await screen.findByTestId('sign-out-keep-unsent'));
    await waitFor(() => expect(useSessionStore.getState().session.status).toBe('signed-out'));
    // main closed the outbox: nothing of it in memory, the sealed file kept; the same user's next sign-in sends it
    expect(koe.outbox.state()).toEqual({ open: false, pending: [], unreadable: 0 });
    notesAnswer = { status: 200, body: {} };
    await koe.outbox.open('u1');
    await waitFor(() => expect(koe.outbox.state().pending).toEqual([]), { timeout: 5000 });
    // sent after the sign-in, once (the same clientNoteId however many tries)
    expect(posted.length).toBeGreaterThanOrEqual(1);
    expect(new Set(posted).size).toBe(1);
  }, 20_000);

  it('in English too', async () => {
    const koe = fakeKoe({ language: 'en' });
    const phone = await mountShell(koe.api, koe.gw, 'en');
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.type(screen.getByTestId('note-text'), 'call back tomorrow');
    await userEvent.click(screen.getByTestId('note-save'));
    expect((await screen.findByTestId('outbox-pending')).textContent).toMatch(/item\(s\) waiting to be sent/);
  });
});
