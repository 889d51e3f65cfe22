// The three-way call's controls (issue 18 item 6: consult, then join). Behind window.koe is the
// real operator model (FakeGateway runs shared/rules/operator-model.ts), so the checks on the
// gateway's state are what the gateway would hold. The mixing itself is the phone's
// (conference-mix.ts, unit-tested; the e2e test hears it).
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import { PhoneFailure } from '../../renderer/src/features/phone/sip-phone';
import { en } from '../../renderer/src/i18n/en';
import { ja } from '../../renderer/src/i18n/ja';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決']);

beforeEach(() => {
  resetShellStores();
  useAgentStore.setState({ refusal: null, notices: [], pending: [] });
  vi.stubGlobal('fetch', async (url: string) => {
    const path = new URL(url).pathname;
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? knownPop : {}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

const callEl = (id: string) => document.querySelector(`[data-testid="call"][data-call-id="${id}"]`) as HTMLElement;

/** A customer call answered, a consultation of op-2 placed (the customer goes on hold); `answered`: op-2 answers. */
async function consulting(language: 'ja' | 'en', answered = true) {
  const koe = fakeKoe({ language });
  const phone = await mountShell(koe.api, koe.gw, language);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  act(() => void phone.ring());
  await userEvent.click(await screen.findByTestId('answer'));
  await userEvent.type(await screen.findByTestId('transfer-target'), 'op-2');
  await userEvent.click(screen.getByTestId('consult'));
  await waitFor(() => expect(phone.log).toContain('dial sip:op-2@koe.local'));
  const consultId = usePhoneStore.getState().calls.find((c) => c.consultFor)!.id;
  if (answered) {
    act(() => phone.phase(consultId, 'established'));
    await waitFor(() => expect(callEl(consultId).dataset.phase).toBe('established'));
  }
  await waitFor(() => expect(callEl('call-1').dataset.held).toBe('true'));
  return { phone, gw: koe.gw, consultId };
}

describe('three-way call (consult, then join)', () => {
  it('Join is offered only while the consultation is connected and the customer waits on hold', async () => {
    const { phone, consultId } = await consulting('ja', false);
    // the colleague has not answered yet
    expect(screen.queryByTestId('join-conference')).toBeNull();
    act(() => phone.phase(consultId, 'established'));
    const join = await screen.findByTestId('join-conference');
    expect(join.textContent).toBe(ja.phone.joinConference);
    // only on the customer's call, not on the consultation's
    expect(within(callEl(consultId)).queryByTestId('join-conference')).toBeNull();
    // the operator takes the customer off hold by hand: two calls talking is not what Join is for
    await userEvent.click(within(callEl('call-1')).getByTestId('hold'));
    await waitFor(() => expect(callEl('call-1').dataset.held).toBe('false'));
    expect(screen.queryByTestId('join-conference')).toBeNull();
    expect(screen.queryByTestId('end-conference')).toBeNull();
  });

  it('joins by keyboard: the customer off hold, the phone mixes, both calls marked, the gateway holds two active calls (on call)', async () => {
    const { phone, gw, consultId } = await consulting('ja');
    const join = await screen.findByTestId('join-conference');
    join.focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(usePhoneStore.getState().conference).toEqual({ primaryId: 'call-1', consultId }));
    // off hold first, then the mix (the consultation's microphone feeds both)
    const tail = phone.log.slice(phone.log.indexOf('dial sip:op-2@koe.local') + 1);
    expect(tail).toEqual(['hold call-1 false', `conference ${consultId} call-1`]);
    expect(screen.queryByTestId('join-conference')).toBeNull();
    for (const id of ['call-1', consultId]) {
      expect(within(callEl(id)).getByTestId('conference-badge').textContent).toBe(ja.phone.inConference);
      expect((within(callEl(id)).getByTestId('hold') as HTMLButtonElement).disabled).toBe(true);
    }
    const endAll = screen.getByTestId('end-conference');
    expect(endAll.textContent).toBe(ja.phone.endConference);
    expect(document.activeElement).toBe(endAll); // the focus is not lost with the Join button
    expect(screen.getByTestId('conference-note').textContent).toBe(ja.phone.conferenceNote);
    // the gateway's model: both calls active, the operator on a call (what the lead's board shows)
    await waitFor(() => expect(gw.state.calls.filter((c) => c.state === 'answered').map((c) => c.callId).sort()).toEqual(['out-2@test', 'sip-1@test']));
    expect(gw.state.agent).toBe('on_call');
    expect(useAgentStore.getState().view?.agent).toBe('on_call');
  });

  it('mute is the operator\'s microphone in both mixes: both calls show it', async () => {
    const { phone, consultId } = await consulting('ja');
    await userEvent.click(await screen.findByTestId('join-conference'));
    await screen.findByTestId('end-conference');
    await userEvent.click(within(callEl('call-1')).getByTestId('mute'));
    expect(phone.log.at(-1)).toBe('mute call-1 true');
    await waitFor(() => expect(callEl(consultId).dataset.muted).toBe('true'));
    expect(callEl('call-1').dataset.muted).toBe('true');
    await userEvent.click(within(callEl(consultId)).getByTestId('mute'));
    await waitFor(() => expect(callEl('call-1').dataset.muted).toBe('false'));
    expect(callEl(consultId).dataset.muted).toBe('false');
  });

  it('a join that fails leaves both calls as they were (the customer back on hold) and says so, in English', async () => {
    const { phone, consultId } = await consulting('en');
    phone.failNext.set('joinConference', new PhoneFailure('conference_failed'));
    const join = await screen.findByTestId('join-conference');
    expect(join.textContent).toBe(en.phone.joinConference);
    await userEvent.click(join);
    await waitFor(() => expect(screen.getByTestId('phone-error').textContent).toBe(en.phone.errors.conference_failed));
    expect(phone.log.slice(-2)).toEqual(['hold call-1 false', 'hold call-1 true']);
    expect(callEl('call-1').dataset.held).toBe('true');
    expect(callEl(consultId).dataset.phase).toBe('established');
    expect(usePhoneStore.getState().conference).toBeNull();
    expect(screen.queryByTestId('conference-badge')).toBeNull();
    // still offered: the operator may try again
    expect(screen.getByTestId('join-conference')).toBeTruthy();
  });

  it('a join whose unhold fails changes nothing either', async () => {
    const { phone } = await consulting('ja');
    phone.failNext.set('hold', new PhoneFailure('hold_failed', 500));
    await userEvent.click(await screen.findByTestId('join-conference'));
    await waitFor(() => expect(screen.getByTestId('phone-error').textContent).toBe(ja.phone.errors.conference_failed));
    expect(phone.log.some((l) => l.startsWith('conference'))).toBe(false);
    expect(callEl('call-1').dataset.held).toBe('true');
  });

  it('the colleague hangs up: the customer call is a plain call again (hold, consult, transfer back), no wrap-up yet', async () => {
    const { phone, gw, consultId } = await consulting('en');
    await userEvent.click(await screen.findByTestId('join-conference'));
    await screen.findByTestId('end-conference');
    act(() => phone.phase(consultId, 'ended'));
    await waitFor(() => expect(screen.queryByTestId('end-conference')).toBeNull());
    expect(usePhoneStore.getState().conference).toBeNull();
    expect(screen.queryByTestId('conference-badge')).toBeNull();
    expect(screen.getAllByTestId('call')).toHaveLength(1);
    expect((screen.getByTestId('hold') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('consult').textContent).toBe(en.phone.consult);
    // the customer was not put back on hold (resumeAfterConsult is for a consultation without a join)
    expect(phone.log.at(-1)).toBe(`conference ${consultId} call-1`);
    await waitFor(() => expect(gw.state.calls.find((c) => c.callId === 'out-2@test')?.state).toBe('ended'));
    expect(gw.state.agent).toBe('on_call');
    expect(gw.state.wrapUp).toBeNull();
  });

  it('the customer hangs up: the operator stays with the colleague; the customer call\'s wrap-up follows the last call', async () => {
    const { phone, gw, consultId } = await consulting('ja');
    await userEvent.click(await screen.findByTestId('join-conference'));
    await screen.findByTestId('end-conference');
    act(() => phone.phase('call-1', 'ended'));
    await waitFor(() => expect(screen.queryByTestId('end-conference')).toBeNull());
    expect(screen.getAllByTestId('call').map((e) => e.dataset.callId)).toEqual([consultId]);
    expect((screen.getByTestId('hold') as HTMLButtonElement).disabled).toBe(false);
    await waitFor(() => expect(gw.state.calls.find((c) => c.callId === 'sip-1@test')?.state).toBe('ended'));
    expect(gw.state.agent).toBe('on_call');
    await userEvent.click(screen.getByTestId('hangup'));
    await waitFor(() => expect(gw.state.agent).toBe('wrap_up'));
    expect(gw.state.wrapUp?.callId).toBe('sip-1@test');
  });

  it('hang up all ends both calls', async () => {
    const { phone, gw, consultId } = await consulting('ja');
    await userEvent.click(await screen.findByTestId('join-conference'));
    await userEvent.click(await screen.findByTestId('end-conference'));
    await waitFor(() => expect(screen.queryAllByTestId('call')).toHaveLength(0));
    expect(phone.log).toEqual(expect.arrayContaining([`hangup ${consultId}`, 'hangup call-1']));
    await waitFor(() => expect(gw.state.agent).toBe('wrap_up'));
  });

  it('the shortcuts in a three-way call: mute mutes both, hold is refused, hang up ends the newest party (the colleague) and the customer call goes on', async () => {
    const { phone, consultId } = await consulting('ja');
    await userEvent.click(await screen.findByTestId('join-conference'));
    await screen.findByTestId('end-conference');
    const press = (code: string) => userEvent.keyboard(`{Control>}{Alt>}[${code}]{/Alt}{/Control}`);
    await press('KeyM');
    await waitFor(() => expect(callEl('call-1').dataset.muted).toBe('true'));
    expect(callEl(consultId).dataset.muted).toBe('true');
    const before = phone.log.length;
    await press('KeyH');
    expect(phone.log.slice(before).some((l) => l.startsWith('hold'))).toBe(false);
    await press('KeyE');
    await waitFor(() => expect(phone.log).toContain(`hangup ${consultId}`));
    expect(phone.log).not.toContain('hangup call-1');
    await waitFor(() => expect(screen.queryByTestId('end-conference')).toBeNull());
    expect(screen.getAllByTestId('call').map((e) => e.dataset.callId)).toEqual(['call-1']);
  });

  it('Complete transfer stays the way to leave the two connected', async () => {
    const { phone, consultId } = await consulting('ja');
    await userEvent.click(await screen.findByTestId('join-conference'));
    await screen.findByTestId('end-conference');
    await userEvent.click(screen.getByTestId('complete-transfer'));
    await waitFor(() => expect(phone.log).toContain(`attended call-1 ${consultId}`));
  });
});
