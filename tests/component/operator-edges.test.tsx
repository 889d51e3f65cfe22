// The operator's edges as the client shows them. Behind window.koe is the real operator model
// (FakeGateway in phone-fakes.ts runs shared/rules/operator-model.ts step/viewOf), so what the
// panels show is what the gateway's model says after the facts and intents this client sent.
// Every check is on what the operator sees (translated text, enabled controls) and on what the
// client told the gateway.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PHONE_ERRORS, PhoneFailure } from '../../renderer/src/features/phone/sip-phone';
import { en } from '../../renderer/src/i18n/en';
import { ja } from '../../renderer/src/i18n/ja';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useAppStore } from '../../renderer/src/app/app-store';
import { useCustomerStore } from '../../renderer/src/features/customer/store';
import { usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import { useSessionStore } from '../../renderer/src/app/session-store';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { OPERATOR_NOTICES } from '../../shared/gateway/operator';
import { IntentRefusal } from '../../shared/ipc/contract';
import { AGENT_STATES, SYSTEM_REASONS, initialOperatorState, viewOf } from '../../shared/rules/operator-model';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決', '折り返し']);

type Tree = { [k: string]: string | Tree };
const leaves = (t: Tree): string[] => Object.values(t).flatMap((v) => (typeof v === 'string' ? [v] : leaves(v)));
const JA_TEXTS = new Set(leaves(ja));
const EN_TEXTS = new Set(leaves(en as unknown as Tree));

let media: { inputs: number; getUserMedia: () => Promise<unknown> } | null = null;
const deviceListeners = new Set<() => void>();
function installMedia(inputs: number, getUserMedia: () => Promise<unknown> = async () => ({ getTracks: () => [] })) {
  media = { inputs, getUserMedia };
  Object.defineProperty(navigator, 'mediaDevices', {
    configurable: true,
    value: {
      enumerateDevices: async () => [
        ...Array.from({ length: media!.inputs }, (_, i) => ({ kind: 'audioinput', deviceId: `in-${i}`, label: '' })),
        { kind: 'audiooutput', deviceId: 'out-0', label: '' },
      ],
      getUserMedia: () => media!.getUserMedia(),
      addEventListener: (_: string, l: () => void) => deviceListeners.add(l),
      removeEventListener: (_: string, l: () => void) => deviceListeners.delete(l),
    },
  });
}

async function mount(opts: { agent?: 'ready' | 'not_ready'; language?: 'ja' | 'en' } = {}) {
  const koe = fakeKoe(opts);
  const phone = await mountShell(koe.api, koe.gw, opts.language ?? 'ja');
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe(opts.agent ?? 'ready'));
  return { phone, koe, gw: koe.gw };
}

const agentState = () => screen.getByTestId('agent-state');

beforeEach(() => {
  resetShellStores();
  useAgentStore.setState({ refusal: null, notices: [], pending: [] });
  vi.stubGlobal('fetch', async (url: string) => {
    const path = new URL(url).pathname;
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? knownPop : {}) };
  });
});
afterEach(async () => {
  unmountShell();
  vi.unstubAllGlobals();
  if (media) {
    delete (navigator as unknown as Record<string, unknown>).mediaDevices;
    media = null;
    deviceListeners.clear();
  }
});

describe('the agent panel renders the gateway view', () => {
  it.each(['ja', 'en'] as const)('translates every system reason (%s)', async (language) => {
    const { koe } = await mount({ agent: 'not_ready', language });
    const texts = language === 'ja' ? ja : en;
    let version = 100;
    for (const code of SYSTEM_REASONS) {
      const view = { ...viewOf(initialOperatorState(0)), version: ++version, agent: 'not_ready' as const, reasonCode: code, since: Date.now() };
      act(() => koe.emit('agent:changed', { view, link: 'connected', pending: [] }));
      await waitFor(() => expect(agentState().dataset.reason).toBe(code));
      expect(agentState().textContent).toContain(texts.agent.reasonCode[code]);
      expect(agentState().textContent).toContain(texts.agent.state.not_ready);
    }
  });

  it('shows an intent pending until the gateway answers; never "ready" before it says so', async () => {
    const { gw } = await mount({ agent: 'not_ready' });
    let release!: () => void;
    gw.hold = new Promise<void>((r) => (release = r));
    // main lists the intent as pending while it waits (as AgentStateService does)
    await userEvent.click(screen.getByTestId('agent-ready'));
    act(() => useAgentStore.setState({ pending: [{ id: 'i1', kind: 'setAvailability', state: 'ready', callId: null }] }));
    expect(agentState().dataset.state).toBe('not_ready');
    expect(screen.getByTestId('agent-pending').textContent).toBe('送信中: 受付可');
    act(() => useAgentStore.setState({ pending: [] }));
    gw.hold = null;
    release();
    await waitFor(() => expect(agentState().dataset.state).toBe('ready'));
    expect(screen.queryByTestId('agent-pending')).toBeNull();
  });

  it.each([
    ['ja', '送信されませんでした: ゲートウェイに接続できません。接続が戻ってからもう一度お試しください。', 'ゲートウェイに接続できません。'],
    ['en', 'Not sent: the gateway is unreachable. Please try again when it is back.', 'The gateway is unreachable.'],
  ] as const)('gateway unreachable (%s): the panel says so instead of a stale "ready", intents are refused visibly, and it recovers', async (language, refused, panel) => {
    const { gw } = await mount({ language });
    act(() => gw.setLink('unreachable'));
    expect(agentState().dataset.state).toBe('unreachable');
    expect(agentState().textContent).toContain(panel);
    expect(agentState().textContent).not.toContain(language === 'ja' ? ja.agent.state.ready : en.agent.state.ready);
    await userEvent.click(screen.getByTestId('agent-break'));
    expect(screen.getByTestId('agent-refusal').textContent).toContain(refused);
    expect(gw.state.agent).toBe('ready'); // nothing changed at the gateway
    act(() => gw.setLink('connected'));
    await waitFor(() => expect(agentState().dataset.state).toBe('ready'));
  });

  it('gateway unreachable: a call is not dialled and the operator is told why (not sent, not queued)', async () => {
    const { phone, gw } = await mount();
    act(() => gw.setLink('unreachable'));
    await userEvent.type(screen.getByTestId('dial-number'), '0312345678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(screen.getByTestId('phone-error').textContent).toBe(ja.phone.errors.gateway_unreachable));
    expect(phone.log).toContain('not dialled sip:+81312345678@koe.local');
    expect(phone.log.some((l) => l.startsWith('dial '))).toBe(false);
  });

  it("refusals of the gateway's model are shown in the operator's words (locked: cannot become ready)", async () => {
    const { gw } = await mount({ agent: 'not_ready' });
    act(() => void gw.event({ type: 'locked', locked: true }));
    // the lock screen is main's; here only the model is locked, the panel stays visible
    await userEvent.click(screen.getByTestId('agent-ready'));
    expect(screen.getByTestId('agent-refusal').textContent).toContain(ja.agent.refused.locked);
  });
});

describe('no microphone', () => {
  it('reports it, disables Ready with the reason shown; a microphone plugged in enables it again', async () => {
    installMedia(0);
    const { gw } = await mount({ agent: 'not_ready' });
    await waitFor(() => expect(gw.received).toContainEqual({ kind: 'microphone', available: false }));
    await waitFor(() => expect((screen.getByTestId('agent-ready') as HTMLButtonElement).disabled).toBe(true));
    expect(screen.getByTestId('agent-no-microphone').textContent).toBe(ja.agent.noMicrophone);
    expect(gw.state.microphone).toBe(false);
    media!.inputs = 1;
    act(() => deviceListeners.forEach((l) => l()));
    await waitFor(() => expect(gw.state.microphone).toBe(true));
    await waitFor(() => expect((screen.getByTestId('agent-ready') as HTMLButtonElement).disabled).toBe(false));
    expect(screen.queryByTestId('agent-no-microphone')).toBeNull();
  });

  it('a ready operator whose microphone goes away is made not ready by the gateway (no_microphone)', async () => {
    installMedia(1);
    const { gw } = await mount();
    await waitFor(() => expect(gw.received).toContainEqual({ kind: 'microphone', available: true }));
    media!.inputs = 0;
    act(() => deviceListeners.forEach((l) => l()));
    await waitFor(() => expect(agentState().dataset.reason).toBe('no_microphone'));
    expect(agentState().textContent).toContain(ja.agent.reasonCode.no_microphone);
  });

  it('answering when the microphone cannot be opened says why and keeps the call ringing (never a raw error)', async () => {
    installMedia(1, async () => {
      throw new DOMException('Requested device not found', 'NotFoundError');
    });
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    const error = await screen.findByTestId('phone-error');
    expect(error.textContent).toBe(ja.phone.errors.no_microphone);
    expect(document.body.textContent).not.toContain('Requested device not found');
    expect(phone.log.some((l) => l.startsWith('answer') || l.startsWith('reject'))).toBe(false);
    expect(screen.getByTestId('ringing')).toBeTruthy();
    expect(usePhoneStore.getState().microphone).toBe(false);
  });
});

describe('calls at the edges', () => {
  it('a call nobody answers: the gateway ends it, the phone hangs up, the operator is told and is not ready (missed)', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring());
    await screen.findByTestId('ringing');
    await waitFor(() => expect(gw.received).toContainEqual({ kind: 'ringing', callId: 'sip-1@test' }));
    act(() => gw.ringTimesOut());
    await waitFor(() => expect(phone.log).toContain('reject call-1 480'));
    await waitFor(() => expect(screen.queryByTestId('ringing')).toBeNull());
    expect(agentState().dataset.reason).toBe('missed');
    expect(agentState().textContent).toContain('受付不可 (不在着信)');
    expect(screen.getByTestId('agent-notice').textContent).toContain(ja.agent.notice.missed);
    // the phone reported nothing for a call the gateway ended
    expect(gw.received.filter((i) => i.kind === 'ended')).toEqual([]);
  });

  it('a declined call: reported "declined", the operator is not ready (declined)', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('reject'));
    await waitFor(() => expect(gw.received).toContainEqual({ kind: 'ended', callId: 'sip-1@test', cause: 'declined' }));
    await waitFor(() => expect(agentState().dataset.reason).toBe('declined'));
    expect(phone.log).toContain('reject call-1 603');
  });

  it('an offered call arriving while this phone already has a call is refused 486 and the gateway hears "busy"', async () => {
    const { phone, gw } = await mount();
    // an outbound call is live here
    await userEvent.type(screen.getByTestId('dial-number'), '0312345678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(phone.log).toContain('dial sip:+81312345678@koe.local'));
    expect(gw.state.agent).toBe('on_call');
    // the gateway would not offer it (the model refuses); a stray INVITE with the same id as an offer is refused
    act(() => void phone.ring());
    await waitFor(() => expect(phone.log).toContain('reject call-2 486'), { timeout: 4000 });
  });

  it("a colleague's direct call (no DID routing) rings a not-ready operator; the gateway takes it in; declining it leaves the operator as they were", async () => {
    const { phone, gw } = await mount({ agent: 'not_ready' });
    act(() => void phone.ring({ remote: 'op-2', campaignId: null, dialledNumber: null }));
    await screen.findByTestId('ringing');
    await waitFor(() => expect(agentState().dataset.state).toBe('ringing'));
    expect(gw.received).toContainEqual({ kind: 'ringing', callId: 'sip-1@test' });
    await userEvent.click(screen.getByTestId('reject'));
    await waitFor(() => expect(agentState().dataset.state).toBe('not_ready'));
    expect(agentState().dataset.reason).toBe('signed_in');
  });

  it('outbound: the gateway hears of the call (dial with its SIP Call-ID) before the INVITE; refused -> not dialled, said why', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    // during wrap-up the model refuses a new call
    await userEvent.type(screen.getByTestId('dial-number'), '0312345678');
    await userEvent.click(screen.getByTestId('dial'));
    await waitFor(() => expect(screen.getByTestId('phone-error').textContent).toBe(ja.phone.errors.dial_in_wrap_up));
    expect(phone.log).toContain('not dialled sip:+81312345678@koe.local');
    expect(gw.received.at(-1)).toMatchObject({ kind: 'dial', number: '+81312345678' });
  });

  it('wrap-up timer vs open panel: the timer wins, the panel closes, the customer leaves the screen and a notice says so; the next call gets its own wrap-up', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    expect(screen.getByTestId('customer-name').textContent).toBe('山田 太郎');
    act(() => gw.wrapUpTimesOut());
    await waitFor(() => expect(screen.queryByTestId('wrapup')).toBeNull());
    expect(screen.queryByTestId('customer-card')).toBeNull();
    expect(screen.getByTestId('agent-notice').textContent).toContain(ja.agent.notice.wrap_up_timed_out);
    expect(agentState().dataset.state).toBe('ready');
    // the second call: its own wrap-up, not the first one's
    act(() => void phone.ring({ campaignId: CAMPAIGN, remote: '+819011112222' }));
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    expect(useCustomerStore.getState().wrapUp?.sipCallId).toBe('sip-2@test');
    await userEvent.selectOptions(screen.getByTestId('wrapup-next'), 'break');
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    await waitFor(() => expect(agentState().dataset.state).toBe('break'));
    expect(gw.received).toContainEqual({ kind: 'finishWrapUp', callId: 'sip-2@test', next: 'break' });
  });

  it('a late finish (the timer already won) closes the panel without an error', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    let release!: () => void;
    gw.hold = new Promise<void>((r) => (release = r));
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    gw.hold = null;
    act(() => gw.wrapUpTimesOut());
    release();
    await waitFor(() => expect(screen.queryByTestId('wrapup')).toBeNull());
    expect(screen.getByTestId('agent-notice').dataset.code).toBe('wrap_up_timed_out');
  });
});

describe('lock and sign-out during a call', () => {
  it('locked during a call: hang up, mute and hold stay usable, customer data is gone, the gateway knows the operator is locked', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await userEvent.click(await screen.findByTestId('answer'));
    await screen.findByTestId('customer-card');
    await userEvent.click(screen.getByRole('button', { name: '今すぐロック' }));
    const lock = await screen.findByTestId('lock-screen');
    expect(gw.state.locked).toBe(true);
    const calls = within(lock).getByTestId('locked-calls');
    expect(document.body.textContent).not.toContain('山田 太郎');
    // the caller's number in neither form, nor in an attribute (the number's title holds the E.164)
    expect(document.body.textContent).not.toContain('090-1234-5678');
    expect(document.body.innerHTML).not.toContain('+819012345678');
    await userEvent.click(within(calls).getByTestId('hold'));
    await waitFor(() => expect(phone.log).toContain('hold call-1 true'));
    await userEvent.click(within(calls).getByTestId('mute'));
    await waitFor(() => expect(phone.log).toContain('mute call-1 true'));
    await userEvent.click(within(calls).getByTestId('hangup'));
    await waitFor(() => expect(phone.log).toContain('hangup call-1'));
    await waitFor(() => expect(screen.queryByTestId('locked-calls')).toBeNull());
    // the wrap-up waits behind the lock; the gateway has it
    expect(gw.state.wrapUp?.callId).toBe('sip-1@test');
  });

  it('a call ringing when the screen locks shows its ringing controls (no number) and can be answered', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await screen.findByTestId('ringing');
    await userEvent.click(screen.getByRole('button', { name: '今すぐロック' }));
    const lock = await screen.findByTestId('lock-screen');
    const ringing = within(lock).getByTestId('ringing');
    expect(within(ringing).queryByTestId('ringing-number')).toBeNull();
    await userEvent.click(within(ringing).getByTestId('answer'));
    await waitFor(() => expect(phone.log).toContain('answer call-1'));
    expect(within(lock).getByTestId('hangup')).toBeTruthy();
  });

  it.each([
    ['ja', 'サインアウト', '通話中です。通話を終了してサインアウトしますか？', 'キャンセル', '通話を終了してサインアウト'],
    ['en', 'Sign out', 'A call is in progress. End the call and sign out?', 'Cancel', 'End the call and sign out'],
  ] as const)('sign-out during a call asks first (%s): Cancel keeps the call; ending it hangs up, then signs out', async (language, signOut, question, cancel, endIt) => {
    const { phone, koe } = await mount({ language });
    const order: string[] = [];
    const signOutApi = koe.api.session.signOut;
    (koe.api.session as { signOut: typeof signOutApi }).signOut = (i) => {
      order.push('signOut');
      return signOutApi(i);
    };
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.click(screen.getByRole('button', { name: signOut }));
    expect(screen.getByTestId('sign-out-confirm').textContent).toContain(question);
    await userEvent.click(screen.getByRole('button', { name: cancel }));
    expect(screen.queryByTestId('sign-out-confirm')).toBeNull();
    expect(useSessionStore.getState().session.status).toBe('signed-in');
    expect(phone.log).not.toContain('hangup call-1');
    await userEvent.click(screen.getByRole('button', { name: signOut }));
    const origHangup = phone.hangup.bind(phone);
    phone.hangup = async (id) => {
      order.push(`hangup ${id}`);
      return origHangup(id);
    };
    await userEvent.click(screen.getByRole('button', { name: endIt }));
    await waitFor(() => expect(useSessionStore.getState().session.status).toBe('signed-out'));
    expect(order).toEqual(['hangup call-1', 'signOut']);
  });

  it('sign-out with no call does not ask', async () => {
    await mount();
    await userEvent.click(screen.getByRole('button', { name: 'サインアウト' }));
    await waitFor(() => expect(useSessionStore.getState().session.status).toBe('signed-out'));
  });
});

describe('transfers that fail keep the customer', () => {
  it('blind transfer to an offline colleague (480): the call stays, the gateway hears started then failed, the operator is told', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    phone.failNext.set('blindTransfer', new PhoneFailure('transfer_unavailable', 480));
    await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
    await userEvent.click(screen.getByTestId('blind-transfer'));
    await waitFor(() => expect(screen.getByTestId('phone-error').textContent).toBe(ja.phone.errors.transfer_unavailable));
    const transfers = gw.received.filter((i) => i.kind === 'transfer');
    expect(transfers).toEqual([
      { kind: 'transfer', callId: 'sip-1@test', phase: 'started' },
      { kind: 'transfer', callId: 'sip-1@test', phase: 'failed' },
    ]);
    expect(gw.state.calls.find((c) => c.callId === 'sip-1@test')?.state).toBe('answered');
    expect(screen.getByTestId('call').dataset.phase).toBe('established');
  });

  it('consult to an offline colleague (the consultation gets 480): the customer is taken off hold and the operator told', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
    await userEvent.click(screen.getByTestId('consult'));
    await waitFor(() => expect(phone.log).toContain('dial sip:op-2@koe.local'));
    expect(phone.log).toContain('hold call-1 true');
    const consult = usePhoneStore.getState().calls.find((c) => c.consultFor)!;
    act(() => phone.endWith(consult.id, 480));
    await waitFor(() => expect(phone.log).toContain('hold call-1 false'));
    expect(screen.getByTestId('phone-error').textContent).toBe(ja.phone.errors.consult_unavailable);
    expect(screen.getByTestId('call').dataset.held).toBe('false');
  });

  it('a consultation refused before the dial even returned (a fast 480) still says why and unholds the customer', async () => {
    const { phone } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
    phone.dialEndsWith = 480;
    await userEvent.click(screen.getByTestId('consult'));
    await waitFor(() => expect(phone.log).toContain('hold call-1 false'));
    expect(screen.getByTestId('phone-error').textContent).toBe(ja.phone.errors.consult_unavailable);
  });

  it('a completed transfer is reported as such (not as an ordinary end)', async () => {
    const { phone, gw } = await mount();
    act(() => void phone.ring());
    await userEvent.click(await screen.findByTestId('answer'));
    await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
    await userEvent.click(screen.getByTestId('blind-transfer'));
    await waitFor(() => expect(phone.log).toContain('blind call-1 sip:op-2@koe.local'));
    act(() => phone.phase('call-1', 'ended'));
    await waitFor(() => expect(gw.received.at(-1)).toEqual({ kind: 'transfer', callId: 'sip-1@test', phase: 'completed' }));
    expect(gw.received.some((i) => i.kind === 'ended')).toBe(false);
  });
});

describe("errors in the operator's language", () => {
  const RAW = 'Boom: SIP.js exploded in an English sentence';
  /** Every alert's own text is a known translation (ja), and no raw error text is anywhere. */
  function expectOnlyTranslations(texts: Set<string>) {
    const alerts = [...document.querySelectorAll('[role="alert"], [data-testid="phone-error"], [data-testid="agent-refusal"], [data-testid="agent-notice"]')];
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) {
      if (a.getAttribute('data-testid') === 'ringing') continue;
      const own = [...a.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent!.trim()).filter(Boolean).join(' ');
      expect(texts.has(own), `not a translation: "${own}"`).toBe(true);
    }
    expect(document.body.textContent).not.toContain(RAW);
    const stores = JSON.stringify([usePhoneStore.getState(), useAgentStore.getState(), useCustomerStore.getState(), useAppStore.getState()]);
    expect(stores).not.toContain(RAW);
  }

  it.each([
    ['answer', async () => userEvent.click(await screen.findByTestId('answer'))],
    ['hold', async () => userEvent.click(await screen.findByTestId('hold'))],
    ['blindTransfer', async () => {
      await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
      await userEvent.click(screen.getByTestId('blind-transfer'));
    }],
    ['dial', async () => {
      await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
      await userEvent.click(screen.getByTestId('consult'));
    }],
  ] as const)('a raw English error from the phone layer (%s) reaches neither the UI nor a store', async (method, act_) => {
    const { phone } = await mount();
    act(() => void phone.ring());
    if (method !== 'answer') await userEvent.click(await screen.findByTestId('answer'));
    phone.failNext.set(method, new Error(RAW));
    await act_();
    await screen.findByTestId('phone-error');
    expect(screen.getByTestId('phone-error').dataset.code).toBe('unexpected');
    expectOnlyTranslations(JA_TEXTS);
  });

  it('in English too: a raw error and a gateway refusal show only English translations', async () => {
    const { phone, gw } = await mount({ language: 'en' });
    act(() => void phone.ring());
    phone.failNext.set('answer', new Error(RAW));
    await userEvent.click(await screen.findByTestId('answer'));
    await screen.findByTestId('phone-error');
    act(() => gw.setLink('unreachable'));
    await userEvent.click(screen.getByTestId('agent-break'));
    await screen.findByTestId('agent-refusal');
    expectOnlyTranslations(EN_TEXTS);
  });

  it('every refusal, notice, reason, state and phone error code has a ja and an en text', () => {
    for (const texts of [ja, en]) {
      for (const k of IntentRefusal.options) expect(texts.agent.refused[k], k).toBeTruthy();
      for (const k of OPERATOR_NOTICES) expect(texts.agent.notice[k], k).toBeTruthy();
      for (const k of SYSTEM_REASONS) expect(texts.agent.reasonCode[k], k).toBeTruthy();
      for (const k of AGENT_STATES) expect(texts.agent.state[k], k).toBeTruthy();
      for (const k of PHONE_ERRORS) expect(texts.phone.errors[k], k).toBeTruthy();
    }
  });
});
