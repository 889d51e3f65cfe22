// Issue 18 item 1, the customer workspace: search the operator's campaigns' customers, open one,
// edit it; register the unknown caller of the call in focus (prefilled with the caller's number
// and the call's campaign) and link the call; every mistake shown at its field before anything
// is sent, a failed save keeps what was typed; nothing of it survives the session.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useWorkspaceStore } from '../../renderer/src/features/customer/workspace-store';
import { splitPhones } from '../../renderer/src/features/customer/CustomerWorkspace';
import type { CustomerView, ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const OTHER_CAMPAIGN = '33333333-3333-4333-8333-333333333333';
const NEW_ID = '44444444-4444-4444-8444-444444444444';
const now = '2026-12-02T01:00:00.000Z';
const yamada: CustomerView = { id: '22222222-2222-4222-8222-222222222222', campaignId: CAMPAIGN, nameKanji: '山田 太郎', nameKana: 'ヤマダ タロウ', phones: ['+819011112222'], email: null, fields: {}, createdAt: now, updatedAt: now };

let requests: { method: string; path: string; body: unknown; query: string }[] = [];
let pop: ScreenPopResponse;
let failNext: { path: string; status: number; code: string } | null = null;

beforeEach(() => {
  resetShellStores();
  requests = [];
  failNext = null;
  pop = { status: 'unknown', blocked: false, campaign: { id: CAMPAIGN, name: '電気料金窓口', dispositions: ['解決'], openNow: true }, customers: [], recentCalls: [], openNotes: [] };
  vi.stubGlobal('fetch', async (url: string, init?: { method?: string; body?: string }) => {
    const u = new URL(url);
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(init.body) : undefined;
    requests.push({ method, path: u.pathname, body, query: u.search });
    const answer = (status: number, json: unknown) => ({ ok: status < 400, status, json: async () => json });
    if (failNext && u.pathname.startsWith(failNext.path)) {
      const f = failNext;
      failNext = null;
      return answer(f.status, { error: { code: f.code, message: 'refused' } });
    }
    if (u.pathname === '/screen-pop') return answer(200, pop);
    if (u.pathname === '/customers/search') return answer(200, { customers: u.searchParams.get('q') === '山田' ? [yamada] : [] });
    if (u.pathname === '/campaigns') return answer(200, { campaigns: [campaignView(CAMPAIGN, '電気料金窓口'), campaignView(OTHER_CAMPAIGN, 'ガス窓口')] });
    if (u.pathname === '/customers' && method === 'POST') return answer(200, { ...body, id: NEW_ID, email: body.email ?? null, fields: {}, createdAt: now, updatedAt: now });
    if (u.pathname.startsWith('/customers/') && method === 'PATCH') return answer(200, { ...yamada, ...body });
    if (u.pathname.startsWith('/calls/') && method === 'PATCH') {
      const callId = decodeURIComponent(u.pathname.slice('/calls/'.length));
      return answer(200, { id: NEW_ID, callId, campaignId: CAMPAIGN, customerId: body.customerId ?? null, operatorId: null, callerNumber: '+819055556666', dialledNumber: null, blocked: false, status: 'answered', ringingAt: now, answeredAt: now, endedAt: null, disposition: null, wrapUpSeconds: null, updatedAt: now });
    }
    return answer(200, {});
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

function campaignView(id: string, name: string) {
  return { id, name, dids: [], hours: { timeZone: 'Asia/Tokyo', weekly: {}, closedDates: [], specialDates: {} }, dispositions: [], blockedNumbers: [], serviceLevelSeconds: 20, outboundCallerId: null, createdAt: now, updatedAt: now };
}

async function mount(language: 'ja' | 'en' = 'ja') {
  const koe = fakeKoe({ language });
  const phone = await mountShell(koe.api, koe.gw, language);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { koe, phone };
}

// typing whole forms with userEvent takes seconds on a loaded machine: no timing is asserted here
describe('the customer workspace (issue 18 item 1)', { timeout: 30_000 }, () => {
  it('splits phone numbers typed with commas, Japanese commas or new lines', () => {
    expect(splitPhones('090-1111-2222、03-1234-5678, +81 6 1234 5678\n')).toEqual(['090-1111-2222', '03-1234-5678', '+81 6 1234 5678']);
    expect(splitPhones(' , ')).toEqual([]);
  });

  it('searches, opens a customer and edits it: the change is sent as the contract says and confirmed', async () => {
    await mount();
    await userEvent.type(screen.getByRole('searchbox', { name: 'お客様を検索' }), '佐藤');
    await userEvent.click(screen.getByTestId('customer-search-submit'));
    await waitFor(() => expect(screen.getByTestId('customer-search-status').textContent).toBe('「佐藤」に該当するお客様はいません（担当キャンペーン内）。'));
    await userEvent.clear(screen.getByTestId('customer-search-input'));
    await userEvent.type(screen.getByTestId('customer-search-input'), '山田{Enter}');
    await userEvent.click(await screen.findByRole('button', { name: '山田 太郎 を開く' }));
    expect(screen.getByTestId('customer-opened-name').textContent).toBe('山田 太郎');
    expect(within(screen.getByTestId('customer-opened')).getByTestId('customer-phone').textContent).toBe('090-1111-2222');

    await userEvent.click(screen.getByTestId('customer-edit'));
    const form = screen.getByTestId('customer-form');
    expect(form.dataset.mode).toBe('edit');
    await userEvent.clear(within(form).getByTestId('customer-form-phones'));
    await userEvent.type(within(form).getByTestId('customer-form-phones'), '090-1111-2222, 03-1234-5678');
    await userEvent.type(within(form).getByTestId('customer-form-email'), 'taro@example.jp');
    await userEvent.click(within(form).getByTestId('customer-form-save'));
    await waitFor(() => expect(screen.getByTestId('customer-search-status').textContent).toBe('山田 太郎 様の情報を更新しました。'));
    const patch = requests.find((r) => r.method === 'PATCH' && r.path === `/customers/${yamada.id}`)!;
    expect(patch.body).toEqual({ nameKanji: '山田 太郎', nameKana: 'ヤマダ タロウ', phones: ['090-1111-2222', '03-1234-5678'], email: 'taro@example.jp' });
    expect(screen.getAllByTestId('customer-phone').map((e) => e.textContent)).toContain('03-1234-5678');
  });

  it('mistakes are shown at their fields and nothing is sent; a refused save keeps what was typed', async () => {
    await mount('en');
    await userEvent.click(screen.getByTestId('customer-new'));
    const form = screen.getByTestId('customer-form');
    expect(form.dataset.mode).toBe('create');
    await userEvent.type(within(form).getByTestId('customer-form-phones'), '090-12');
    await userEvent.type(within(form).getByTestId('customer-form-email'), 'not-an-address');
    await userEvent.click(within(form).getByTestId('customer-form-save'));
    for (const f of ['campaignId', 'nameKanji', 'nameKana', 'phones', 'email']) expect(within(form).getByTestId(`customer-form-problem-${f}`)).toBeTruthy();
    expect(within(form).getByTestId('customer-form-kanji').getAttribute('aria-invalid')).toBe('true');
    expect(within(form).getByTestId('customer-form-problem-phones').textContent).toBe('A phone number is not valid (e.g. 090-1234-5678). Up to 10 numbers.');
    expect(requests.filter((r) => r.method === 'POST' && r.path === '/customers')).toEqual([]);

    await userEvent.selectOptions(within(form).getByTestId('customer-form-campaign'), 'ガス窓口');
    await userEvent.type(within(form).getByTestId('customer-form-kanji'), '佐藤 花子');
    await userEvent.type(within(form).getByTestId('customer-form-kana'), 'サトウ ハナコ');
    await userEvent.clear(within(form).getByTestId('customer-form-phones'));
    await userEvent.type(within(form).getByTestId('customer-form-phones'), '080-3333-4444');
    await userEvent.clear(within(form).getByTestId('customer-form-email'));
    failNext = { path: '/customers', status: 403, code: 'forbidden' };
    await userEvent.click(within(form).getByTestId('customer-form-save'));
    expect((await within(form).findByTestId('customer-form-failed')).textContent).toBe('You may not change this customer.');
    expect((within(form).getByTestId('customer-form-kanji') as HTMLInputElement).value).toBe('佐藤 花子');
    await userEvent.click(within(form).getByTestId('customer-form-save'));
    await waitFor(() => expect(screen.getByTestId('customer-search-status').textContent).toBe('佐藤 花子 was registered.'));
    const post = requests.filter((r) => r.method === 'POST' && r.path === '/customers').at(-1)!;
    expect(post.body).toEqual({ campaignId: OTHER_CAMPAIGN, nameKanji: '佐藤 花子', nameKana: 'サトウ ハナコ', phones: ['080-3333-4444'], email: null });
    expect(screen.getByTestId('customer-opened').dataset.customerId).toBe(NEW_ID);
  });

  it("registers the unknown caller of the call in focus: prefilled number and campaign, the call linked, the card shows the customer and the notes attach to it", async () => {
    const { phone } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819055556666' }));
    await userEvent.click(await screen.findByTestId('answer'));
    const card = await screen.findByTestId('customer-card');
    expect(card.dataset.status).toBe('unknown');
    await userEvent.click(within(card).getByTestId('customer-register'));
    const form = within(card).getByTestId('customer-form');
    expect((within(form).getByTestId('customer-form-phones') as HTMLInputElement).value).toBe('+819055556666');
    await waitFor(() => expect((within(form).getByTestId('customer-form-campaign') as HTMLSelectElement).value).toBe(CAMPAIGN));
    await userEvent.type(within(form).getByTestId('customer-form-kanji'), '高橋 一郎');
    await userEvent.type(within(form).getByTestId('customer-form-kana'), 'タカハシ イチロウ');
    await userEvent.click(within(form).getByTestId('customer-form-save'));
    await waitFor(() => expect(screen.getByTestId('customer-card').dataset.status).toBe('known'));
    expect(screen.getByTestId('customer-name').textContent).toBe('高橋 一郎');
    expect(screen.getByTestId('customer-saved').textContent).toBe('高橋 一郎 様を登録しました。');
    // the link is its own call (the outbox's answer/end patches carry no customer)
    const links = requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/calls/') && 'customerId' in (r.body as object));
    expect(links.map((r) => r.body)).toEqual([{ customerId: NEW_ID }]);
    expect(screen.queryByTestId('customer-link-failed')).toBeNull();
    // the note of this call now carries the customer
    await userEvent.type(screen.getByTestId('note-text'), '新規登録のお客様');
    await userEvent.click(screen.getByTestId('note-save'));
    await waitFor(() => expect(requests.find((r) => r.method === 'POST' && r.path === '/notes')?.body).toMatchObject({ customerId: NEW_ID, body: '新規登録のお客様' }));
  });

  it('a call that cannot be linked: the customer is registered and the operator is told', async () => {
    const { phone } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819055556666' }));
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(await screen.findByTestId('customer-register'));
    await userEvent.type(screen.getByTestId('customer-form-kanji'), '高橋 一郎');
    await userEvent.type(screen.getByTestId('customer-form-kana'), 'タカハシ イチロウ');
    await waitFor(() => expect((screen.getByTestId('customer-form-campaign') as HTMLSelectElement).value).toBe(CAMPAIGN));
    failNext = { path: '/calls/', status: 503, code: 'unavailable' };
    await userEvent.click(screen.getByTestId('customer-form-save'));
    expect((await screen.findByTestId('customer-link-failed')).textContent).toContain('関連付けに失敗しました');
    expect(screen.getByTestId('customer-name').textContent).toBe('高橋 一郎');
  });

  it('a blocked caller is not offered for registration', async () => {
    pop = { ...pop, blocked: true };
    const { phone } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819055556666' }));
    const card = await screen.findByTestId('customer-card');
    await within(card).findByTestId('customer-blocked');
    expect(within(card).queryByTestId('customer-register')).toBeNull();
  });

  it('the search, its results and the opened customer end with the session', async () => {
    await mount();
    await userEvent.type(screen.getByTestId('customer-search-input'), '山田{Enter}');
    await screen.findByTestId('customer-result');
    await userEvent.click(screen.getByTestId('customer-result'));
    expect(useWorkspaceStore.getState().opened?.id).toBe(yamada.id);
    const { resetUserData } = await import('../../renderer/src/app/user-data');
    act(() => resetUserData());
    expect(useWorkspaceStore.getState()).toMatchObject({ query: '', results: [], opened: null, status: 'idle' });
  });
});
