import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useCustomerStore } from '../../renderer/src/features/customer/store';
import { usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決', '折り返し']);

type Handler = (path: string, body: unknown) => { status: number; body: unknown };
let gateway: Handler;
const requests: { method: string; path: string; body: unknown; auth: string | undefined }[] = [];

function json(status: number, body: unknown) {
  return { ok: status < 400, status, json: async () => body };
}

async function mount(opts: { agent?: 'ready' | 'not_ready' } = {}) {
  const koe = fakeKoe(opts);
  const phone = await mountShell(koe.api, koe.gw);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe(opts.agent ?? 'ready'));
  return { phone, koe };
}

beforeEach(() => {
  resetShellStores();
  requests.length = 0;
  gateway = (path) => (path === '/screen-pop' ? { status: 200, body: knownPop } : { status: 200, body: {} });
  vi.stubGlobal('fetch', async (url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const path = new URL(url).pathname;
    const body = init.body ? JSON.parse(init.body) : undefined;
    requests.push({ method: init.method ?? 'GET', path, body, auth: init.headers?.authorization });
    const r = gateway(path, body);
    return json(r.status, r.body);
  });
});
afterEach(async () => {
  unmountShell();
  vi.unstubAllGlobals();
});

describe('phone and customer views (fake SIP layer)', () => {
  it('shows registration in the status bar', async () => {
    await mount();
    expect(within(screen.getByTestId('status-phone')).getByText('登録済み')).toBeTruthy();
  });

  it('asks main for fresh SIP credentials when Kamailio refuses the ones held (403), else retries them', async () => {
    const { phone, koe } = await mount();
    phone.log.length = 0;
    koe.calls.length = 0;
    act(() => phone.listener!.registration('failed', '408 Request Timeout'));
    await waitFor(() => expect(phone.log).toContain('recover'));
    expect(koe.calls).toContain('sip.credentials {}');
    phone.log.length = 0;
    koe.calls.length = 0;
    act(() => phone.listener!.registration('failed', '403 Forbidden'));
    await waitFor(() => expect(phone.log).toContain('recover'));
    expect(koe.calls).toContain('sip.credentials {"renew":true}');
    expect(phone.log).toEqual(['credentials', 'recover']);
  });

  it('paints the ringing panel and the customer card in the same commit, from one screen pop', async () => {
    const { phone } = await mount();
    let commits = 0;
    let sawRingingWithoutCard = false;
    const unsub = usePhoneStore.subscribe(() => {
      commits++;
      if (usePhoneStore.getState().calls.length && !useCustomerStore.getState().pops['sip-1@test']) sawRingingWithoutCard = true;
    });
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    const ringing = await screen.findByTestId('ringing');
    expect(screen.getByTestId('customer-card').dataset.status).toBe('known');
    expect(screen.getByTestId('customer-name').textContent).toBe('山田 太郎');
    expect(within(ringing).getByTestId('ringing-number').textContent).toBe('090-1234-5678');
    expect(sawRingingWithoutCard).toBe(false);
    expect(commits).toBe(1);
    unsub();
    const pop = requests.find((r) => r.path === '/screen-pop')!;
    expect(pop.auth).toBe('Bearer access-token');
    expect(pop.body).toEqual({ callId: 'sip-1@test', callerNumber: '+819012345678', dialledNumber: '+81312345678', campaignId: CAMPAIGN });
  });

  it('shows "unknown caller" and no data when the pop finds nobody or fails', async () => {
    gateway = () => ({ status: 500, body: { error: { code: 'internal', message: 'x' } } });
    const { phone } = await mount();
    act(() => void phone.ring());
    await screen.findByTestId('ringing');
    expect(screen.getByTestId('customer-card').dataset.status).toBe('unknown');
    expect(screen.getByText('不明な発信者')).toBeTruthy();
  });

  it('refuses (486) a call the gateway did not offer: a not-ready operator is offered none', async () => {
    const { phone } = await mount({ agent: 'not_ready' });
    act(() => void phone.ring());
    await waitFor(() => expect(phone.log).toContain('reject call-1 486'), { timeout: 4000 });
    expect(screen.queryByTestId('ringing')).toBeNull();
    expect(requests.some((r) => r.path === '/screen-pop')).toBe(false);
  });

  it('a call whose media path is lost stays up with its controls and says it is reconnecting the audio, until the phone reports it back', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    const call = await screen.findByTestId('call');
    expect(call.dataset.media).toBe('ok');
    expect(screen.queryByTestId('call-media-lost')).toBeNull();
    act(() => phone.listener!.media!('call-1', 'lost'));
    await waitFor(() => expect(screen.getByTestId('call').dataset.media).toBe('lost'));
    const badge = screen.getByTestId('call-media-lost');
    expect(badge.getAttribute('role')).toBe('status');
    expect(badge.textContent).toBe('音声が途切れています。再接続中…(通話は続いています)');
    // still the operator's call: hang-up and mute stay available
    expect((within(screen.getByTestId('call')).getByTestId('hangup') as HTMLButtonElement).disabled).toBe(false);
    expect((within(screen.getByTestId('call')).getByTestId('mute') as HTMLButtonElement).disabled).toBe(false);
    act(() => phone.listener!.media!('call-1', 'back'));
    await waitFor(() => expect(screen.getByTestId('call').dataset.media).toBe('ok'));
    expect(screen.queryByTestId('call-media-lost')).toBeNull();
  });

  it('answers, holds, mutes, sends DTMF, hangs up and goes to wrap-up with a disposition', async () => {
    const { phone, koe } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    const call = await screen.findByTestId('call');
    expect(call.dataset.phase).toBe('established');
    await userEvent.click(within(call).getByTestId('hold'));
    await waitFor(() => expect(screen.getByTestId('call').dataset.held).toBe('true'));
    await userEvent.click(within(call).getByTestId('mute'));
    await waitFor(() => expect(screen.getByTestId('call').dataset.muted).toBe('true'));
    await userEvent.click(within(call).getByTestId('keypad-toggle'));
    await userEvent.click(screen.getByTestId('dtmf-5'));
    await userEvent.click(screen.getByTestId('dtmf-#'));
    await waitFor(() => expect(screen.getByTestId('dtmf-sent').textContent).toBe('5#'));
    expect(phone.log).toEqual(expect.arrayContaining(['answer call-1', 'hold call-1 true', 'mute call-1 true', 'dtmf call-1 5', 'dtmf call-1 #']));
    await waitFor(() => expect(requests.some((r) => r.method === 'PATCH' && (r.body as { answeredAt?: string }).answeredAt)).toBe(true));

    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    // the phone reported the facts; the wrap-up is the gateway's (its view names the call)
    expect(koe.gw.received.map((i) => i.kind)).toEqual(expect.arrayContaining(['ringing', 'answered', 'held', 'ended']));
    expect(useAgentStore.getState().view?.wrapUp?.callId).toBe('sip-1@test');
    expect(screen.getByTestId('agent-state').dataset.state).toBe('wrap_up');
    // The card stays for wrap-up.
    expect(screen.getByTestId('customer-name').textContent).toBe('山田 太郎');
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    await waitFor(() =>
      expect(requests.find((r) => r.method === 'PATCH' && (r.body as { disposition?: string }).disposition)?.body).toMatchObject({ disposition: '解決' }),
    );
    expect(requests.find((r) => (r.body as { disposition?: string })?.disposition)!.path).toBe('/calls/sip-1%40test');
    expect(koe.gw.received).toContainEqual({ kind: 'finishWrapUp', callId: 'sip-1@test', next: 'ready' });
    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.state).toBe('ready'));
    expect(screen.queryByTestId('wrapup')).toBeNull();
  });

  it('the disposition goes to main\'s outbox when the operator finishes, before the gateway answers the finish (a renderer crash meanwhile loses nothing)', async () => {
    const { phone, koe } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await screen.findByTestId('call');
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
    let answer = () => undefined as void;
    koe.gw.hold = new Promise<void>((r) => (answer = r)); // the gateway does not answer (yet)
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    await waitFor(() => expect(koe.gw.received).toContainEqual({ kind: 'finishWrapUp', callId: 'sip-1@test', next: 'ready' }));
    await waitFor(() => expect(requests.find((r) => r.method === 'PATCH' && (r.body as { disposition?: string }).disposition)?.body).toMatchObject({ disposition: '解決' }));
    // still waiting for the gateway: the wrap-up is open (saving)
    expect(screen.getByTestId('wrapup')).toBeTruthy();
    answer();
    await waitFor(() => expect(screen.queryByTestId('wrapup')).toBeNull());
  });

  it('redacts card numbers as the operator types and keeps the note until the gateway confirms it', async () => {
    let failures = 1;
    gateway = (path) => {
      if (path === '/screen-pop') return { status: 200, body: knownPop };
      if (path === '/notes' && failures-- > 0) return { status: 503, body: { error: { code: 'unavailable', message: 'down' } } };
      return { status: 200, body: {} };
    };
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    const area = screen.getByTestId('note-text') as HTMLTextAreaElement;
    await userEvent.type(area, 'カード 4111 1111 1111 1111 で支払い');
    expect(area.value).toBe('カード **** **** **** 1111 で支払い');
    await userEvent.click(screen.getByTestId('note-save'));
    const item = await screen.findByTestId('note-item');
    expect(item.dataset.status).toBe('pending');
    await waitFor(() => expect(screen.getByTestId('note-item').dataset.status).toBe('saved'), { timeout: 3000 });
    const sent = requests.filter((r) => r.path === '/notes').map((r) => r.body as { clientNoteId: string; body: string });
    expect(sent).toHaveLength(2);
    expect(sent[0]!.clientNoteId).toBe(sent[1]!.clientNoteId);
    expect(sent[0]!.body).not.toContain('4111 1111');
  });

  it('dials what the operator types as E.164 (Japan by default)', async () => {
    const { phone } = await mount();
    await userEvent.type(screen.getByTestId('dial-number'), '03-1234-5678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(phone.log).toContain('dial sip:+81312345678@koe.local'));
  });

  it('unmounts the customer card on lock while the call continues', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await screen.findByTestId('customer-card');
    await userEvent.click(screen.getByRole('button', { name: '今すぐロック' }));
    await screen.findByTestId('lock-screen');
    expect(screen.queryByTestId('customer-card')).toBeNull();
    expect(phone.log).not.toContain('hangup call-1');
    expect(usePhoneStore.getState().calls[0]!.phase).toBe('established');
    expect(document.querySelector('[data-testid="call-audio-host"]')).not.toBeNull();
  });

  it('transfers blind and attended', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
    await userEvent.click(screen.getByTestId('blind-transfer'));
    await waitFor(() => expect(phone.log).toContain('blind call-1 sip:op-2@koe.local'));
    await userEvent.click(screen.getByTestId('consult'));
    await waitFor(() => expect(phone.log).toContain('dial sip:op-2@koe.local'));
    expect(phone.log).toContain('hold call-1 true');
    const consultId = usePhoneStore.getState().calls.find((c) => c.consultFor)!.id;
    act(() => phone.phase(consultId, 'established'));
    await userEvent.click(await screen.findByTestId('complete-transfer'));
    await waitFor(() => expect(phone.log).toContain(`attended call-1 ${consultId}`));
  });

  it('an inbound call the phone refused before it rang (420/488) is reported ended: the gateway puts the offered operator back to ready', async () => {
    const { phone, koe } = await mount();
    act(() => void koe.gw.offer('sip-refused@test'));
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ringing'));
    act(() => phone.listener!.refusedCall!(420, 'sip-refused@test'));
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    expect(koe.gw.received).toContainEqual({ kind: 'ended', callId: 'sip-refused@test', cause: 'failed' });
    // a refused INVITE the gateway never offered changes nothing
    act(() => phone.listener!.refusedCall!(488, 'never-offered@test'));
    await waitFor(() => expect(koe.gw.received).toContainEqual({ kind: 'ended', callId: 'never-offered@test', cause: 'failed' }));
    expect(useAgentStore.getState().view?.agent).toBe('ready');
  });
});
