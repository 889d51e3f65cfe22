// Issue 18 item 6 "Calls": the hold timer, the dial pad, redial and the campaign an outbound
// call is for (its caller ID). The SIP layer and the gateway are the fakes of phone-fakes.ts.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { usePhoneStore } from '../../renderer/src/features/phone/phone-store';
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

const CAMPAIGN_A = '11111111-1111-4111-8111-111111111111';
const CAMPAIGN_B = '33333333-3333-4333-8333-333333333333';
function campaignView(id: string, name: string, outboundCallerId: string | null) {
  const at = '2026-01-01T00:00:00.000Z';
  return { id, name, dids: [], hours: { timeZone: 'Asia/Tokyo', weekly: {}, closedDates: [], specialDates: {} }, dispositions: ['解決'], serviceLevelSeconds: 20, outboundCallerId, createdAt: at, updatedAt: at };
}

describe('the dial pad and redial', () => {
  it('builds the number from the pad and the keyboard, deletes with backspace, and strips separators from a pasted number', async () => {
    const { phone } = await mount();
    const field = screen.getByTestId('dial-number') as HTMLInputElement;
    for (const k of ['0', '9', '0']) await userEvent.click(screen.getByTestId(`pad-${k}`));
    expect(field.value).toBe('090');
    // keys typed while the pad has the focus go into the number; Backspace deletes
    screen.getByTestId('pad-0').focus();
    await userEvent.keyboard('12*#');
    expect(field.value).toBe('09012*#');
    await userEvent.keyboard('{Backspace}{Backspace}');
    await userEvent.click(screen.getByTestId('dial-backspace'));
    expect(field.value).toBe('0901');
    // typing into the field itself
    await userEvent.type(field, '23');
    expect(field.value).toBe('090123');
    await userEvent.clear(field);
    await userEvent.click(field);
    await userEvent.paste('090-1234-5678');
    expect(field.value).toBe('09012345678');
    await userEvent.clear(field);
    await userEvent.click(field);
    await userEvent.paste('+81 90 1234 5678');
    expect(field.value).toBe('+819012345678');
    // what is not a number (a colleague's SIP user) is pasted as it is
    await userEvent.clear(field);
    await userEvent.click(field);
    await userEvent.paste('op-2');
    expect(field.value).toBe('op-2');
    await userEvent.clear(field);
    await userEvent.click(field);
    await userEvent.paste('０９０ー１２３４ー５６７８');
    expect(field.value).toBe('09012345678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(phone.log).toContain('dial sip:+819012345678@koe.local'));
  });

  it('redials the last number this operator dialled, and forgets it when the session ends', async () => {
    const { phone, koe } = await mount();
    const redial = screen.getByTestId('redial') as HTMLButtonElement;
    expect(redial.disabled).toBe(true);
    await userEvent.type(screen.getByTestId('dial-number'), '03-1234-5678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(phone.log).toContain('dial sip:+81312345678@koe.local'));
    const out = usePhoneStore.getState().calls[0]!.id;
    act(() => phone.endWith(out, 486));
    await waitFor(() => expect(screen.getByTestId('phone-error').dataset.code).toBe('dial_busy'));
    // the field is empty again; Redial names the number in the national form
    expect((screen.getByTestId('dial-number') as HTMLInputElement).value).toBe('');
    expect(screen.getByTestId('redial').getAttribute('aria-label')).toBe('リダイヤル 03-1234-5678');
    phone.log.length = 0;
    await userEvent.click(screen.getByTestId('redial'));
    await waitFor(() => expect(phone.log).toEqual(['dial sip:+81312345678@koe.local']));
    act(() => phone.endWith(usePhoneStore.getState().calls.find((c) => c.phase !== 'ended')!.id, 480));
    await waitFor(() => expect(screen.getByTestId('phone-error').dataset.code).toBe('dial_no_answer'));

    // the session ends: the number goes with it (renderer memory only)
    act(() => koe.emit('session:changed', { status: 'signed-out', reason: 'signed-out' }));
    await screen.findByTestId('session-ended');
    expect(usePhoneStore.getState().lastDialled).toBeNull();
    expect(document.body.textContent).not.toContain('03-1234-5678');
  });
});

describe('the campaign an outbound call is for', () => {
  it('with several campaigns the operator chooses one, sees its caller ID, and the gateway hears it with the dial; redial keeps it', async () => {
    const asked: string[] = [];
    gateway = (path) => {
      asked.push(path);
      if (path === '/campaigns') return { status: 200, body: { campaigns: [campaignView(CAMPAIGN_A, '東京ガス相談窓口', '+81312345678'), campaignView(CAMPAIGN_B, '電気のご案内', null)] } };
      return { status: 404, body: { error: { code: 'not_found', message: 'none' } } };
    };
    const { phone, koe } = await mount();
    const select = (await screen.findByTestId('dial-campaign')) as HTMLSelectElement;
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['選択してください', '東京ガス相談窓口', '電気のご案内']);
    await userEvent.type(screen.getByTestId('dial-number'), '09011112222');
    // no campaign chosen yet: no call
    expect((screen.getByTestId('dial') as HTMLButtonElement).disabled).toBe(true);
    await userEvent.selectOptions(select, CAMPAIGN_B);
    expect(screen.getByTestId('dial-caller-id').textContent).toBe('通知番号はキャンペーンに未設定です');
    await userEvent.selectOptions(select, CAMPAIGN_A);
    expect(screen.getByTestId('dial-caller-id-number').textContent).toBe('03-1234-5678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(phone.log).toContain('dial sip:+819011112222@koe.local'));
    expect(koe.gw.received.find((i) => i.kind === 'dial')).toMatchObject({ kind: 'dial', number: '+819011112222', campaignId: CAMPAIGN_A });

    act(() => phone.endWith(usePhoneStore.getState().calls[0]!.id, 486));
    await waitFor(() => expect(screen.getByTestId('phone-error').dataset.code).toBe('dial_busy'));
    // another campaign chosen since: Redial still calls for the campaign of the call it repeats
    await userEvent.selectOptions(screen.getByTestId('dial-campaign'), CAMPAIGN_B);
    koe.gw.received.length = 0;
    await userEvent.click(screen.getByTestId('redial'));
    await waitFor(() => expect(koe.gw.received.find((i) => i.kind === 'dial')).toMatchObject({ number: '+819011112222', campaignId: CAMPAIGN_A }));
    expect(asked.filter((p) => p === '/campaigns')).toHaveLength(1);
  });

  it('one campaign is used without asking; a gateway that cannot list the campaigns is said, and the call still goes out', async () => {
    gateway = (path) => (path === '/campaigns' ? { status: 200, body: { campaigns: [campaignView(CAMPAIGN_A, '東京ガス相談窓口', '+81312345678')] } } : { status: 404, body: {} });
    const first = await mount();
    await screen.findByTestId('dial-caller-id');
    expect(screen.queryByTestId('dial-campaign')).toBeNull();
    await userEvent.type(screen.getByTestId('dial-number'), '09011112222');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(first.koe.gw.received.find((i) => i.kind === 'dial')).toMatchObject({ campaignId: CAMPAIGN_A }));
    unmountShell();
    resetShellStores();

    gateway = () => ({ status: 503, body: { error: { code: 'unavailable', message: 'down' } } });
    const second = await mount();
    expect((await screen.findByTestId('phone-error')).textContent).toBe('キャンペーンを読み込めなかったため、通知番号を選べません。しばらくしてからもう一度お試しください。');
    await userEvent.type(screen.getByTestId('dial-number'), '09011112222');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(second.phone.log).toContain('dial sip:+819011112222@koe.local'));
    expect(second.koe.gw.received.find((i) => i.kind === 'dial')).not.toHaveProperty('campaignId');
  });

  it('a dial the gateway refuses for a campaign that is not the operator\'s is said in their language', async () => {
    gateway = (path) => (path === '/campaigns' ? { status: 200, body: { campaigns: [campaignView(CAMPAIGN_A, '東京ガス相談窓口', '+81312345678')] } } : { status: 404, body: {} });
    const { phone, koe } = await mount();
    await screen.findByTestId('dial-caller-id');
    const intent = koe.gw.intent.bind(koe.gw);
    koe.gw.intent = async (i) => (i.kind === 'dial' ? { outcome: 'refused', refusal: 'unknown_campaign' } : intent(i));
    await userEvent.type(screen.getByTestId('dial-number'), '09011112222');
    await userEvent.click(screen.getByTestId('dial'));
    expect((await screen.findByTestId('phone-error')).dataset.code).toBe('dial_campaign');
    expect(phone.log).toContain('not dialled sip:+819011112222@koe.local');
  });
});

describe('the transfer directory', () => {
  const directory = {
    colleagues: [
      { userId: '44444444-4444-4444-8444-444444444444', displayName: '鈴木 一郎', sipUser: 'suzuki', state: 'ready' },
      { userId: '55555555-5555-4555-8555-555555555555', displayName: '高橋 美咲', sipUser: 'takahashi', state: 'on_call' },
    ],
    queues: [{ campaignId: CAMPAIGN_A, name: '東京ガス相談窓口', number: '+81312345678' }],
    quickConnects: [{ id: '66666666-6666-4666-8666-666666666666', name: '本社代表', number: '+81311112222', createdAt: '2026-01-01T00:00:00.000Z' }],
  };

  it('lists colleagues with their presence, queues and quick connects, searches them, and the choice fills the transfer target', async () => {
    gateway = (path) => (path === '/directory' ? { status: 200, body: directory } : { status: 404, body: {} });
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(await screen.findByTestId('directory-toggle'));
    const panel = await screen.findByTestId('directory');
    await waitFor(() => expect(within(panel).getAllByTestId('directory-entry')).toHaveLength(4));
    expect(within(panel).getAllByTestId('directory-entry').map((b) => b.textContent)).toEqual([
      '鈴木 一郎 受付可', '高橋 美咲 通話中', '東京ガス相談窓口 03-1234-5678', '本社代表 03-1111-2222',
    ]);
    // by name, and by number in any written form
    await userEvent.type(within(panel).getByTestId('directory-search'), '高橋');
    expect(within(panel).getAllByTestId('directory-entry').map((b) => b.dataset.target)).toEqual(['takahashi']);
    await userEvent.clear(within(panel).getByTestId('directory-search'));
    await userEvent.type(within(panel).getByTestId('directory-search'), '03-1111');
    expect(within(panel).getAllByTestId('directory-entry').map((b) => b.dataset.target)).toEqual(['+81311112222']);
    await userEvent.clear(within(panel).getByTestId('directory-search'));
    await userEvent.type(within(panel).getByTestId('directory-search'), 'suzuki');
    await userEvent.click(within(panel).getByTestId('directory-entry'));
    // the choice is the target, the focus is back on it, the directory closed
    const target = screen.getByTestId('transfer-target') as HTMLInputElement;
    expect(target.value).toBe('suzuki');
    expect(document.activeElement).toBe(target);
    expect(screen.queryByTestId('directory')).toBeNull();
    await userEvent.click(screen.getByTestId('blind-transfer'));
    await waitFor(() => expect(phone.log).toContain('blind call-1 sip:suzuki@koe.local'));
  });

  it('a directory the gateway cannot give is said; the target can still be typed', async () => {
    gateway = () => ({ status: 503, body: { error: { code: 'unavailable', message: 'down' } } });
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(await screen.findByTestId('directory-toggle'));
    expect((await screen.findByTestId('directory-error')).textContent).toBe('転送先一覧を読み込めませんでした。転送先を直接入力するか、しばらくしてからもう一度開いてください。');
    await userEvent.type(screen.getByTestId('transfer-target'), 'op-2');
    await userEvent.click(screen.getByTestId('blind-transfer'));
    await waitFor(() => expect(phone.log).toContain('blind call-1 sip:op-2@koe.local'));
  });
});
