// Issue 18 item 5 as the operator sees it: the state buttons are one group whose pressed button
// is the gateway's current state; the not-ready reasons are the org's (GET /me/agent-policy), in
// the operator's language, here and on the lead's board; in wrap-up the time left counts down
// (agent panel and notes), "extend" is offered only while the org's policy allows it, and the
// end of the wrap-up says what was saved. Behind window.koe is the real operator model
// (FakeGateway in phone-fakes.ts), stepped with the policy the test gives it.
import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ja } from '../../renderer/src/i18n/ja';
import { en } from '../../renderer/src/i18n/en';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import { DEFAULT_MODEL_POLICY } from '../../shared/rules/operator-model';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const knownPop: ScreenPopResponse = knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決', '折り返し']);
const ORG_REASONS = [
  { code: 'lunch', ja: '昼休憩', en: 'Lunch' },
  { code: 'coaching', ja: 'コーチング', en: 'Coaching' },
  { code: 'desk', ja: '事務作業', en: 'Desk work' },
];

/** What GET /me/agent-policy answers (null: the request fails). */
let agentPolicy: Record<string, unknown> | null = {};
let policyReads = 0;

beforeEach(() => {
  resetShellStores();
  useAgentStore.setState({ refusal: null, notices: [], pending: [], policy: null, policyFailed: false });
  agentPolicy = { notReadyReasons: ORG_REASONS };
  policyReads = 0;
  vi.stubGlobal('fetch', async (url: string) => {
    const path = new URL(url).pathname;
    if (path === '/me/agent-policy') {
      policyReads++;
      if (!agentPolicy) return { ok: false, status: 503, json: async () => ({ error: { code: 'unavailable', message: 'down' } }) };
      return { ok: true, status: 200, json: async () => agentPolicy };
    }
    return { ok: true, status: 200, json: async () => (path === '/screen-pop' ? knownPop : {}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

async function mount(opts: { agent?: 'ready' | 'not_ready'; language?: 'ja' | 'en'; extend?: { seconds: number; max: number } } = {}) {
  const koe = fakeKoe(opts);
  // the fake gateway's clock is the PC's: the wrap-up deadline it sets is in this test's time
  koe.gw.now = Date.now();
  if (opts.extend) koe.gw.policy = { ...DEFAULT_MODEL_POLICY, wrapUpExtendSeconds: opts.extend.seconds, wrapUpMaxExtensions: opts.extend.max };
  const phone = await mountShell(koe.api, koe.gw, opts.language ?? 'ja');
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe(opts.agent ?? 'ready'));
  await waitFor(() => expect(useAgentStore.getState().policy).not.toBeNull());
  return { phone, gw: koe.gw };
}

const pressed = () =>
  ['agent-ready', 'agent-not-ready', 'agent-break'].filter((id) => screen.getByTestId(id).getAttribute('aria-pressed') === 'true');
const options = () => [...(screen.getByTestId('agent-reason') as HTMLSelectElement).options].map((o) => o.textContent);
const left = (testId: string) => Number(screen.getByTestId(testId).dataset.left);

async function intoWrapUp(phone: Awaited<ReturnType<typeof mount>>['phone']) {
  act(() => void phone.ring({ campaignId: CAMPAIGN }));
  await userEvent.click(await screen.findByTestId('answer'));
  await userEvent.click(screen.getByTestId('hangup'));
  await screen.findByTestId('wrapup');
}

describe('the current state is the selected one', () => {
  it('one group of toggles: the gateway\'s state is pressed (and ticked), the others not; pressing another state moves it once the gateway says so', async () => {
    const { gw } = await mount();
    const group = screen.getByRole('group', { name: ja.agent.stateGroup });
    expect(group.contains(screen.getByTestId('agent-ready'))).toBe(true);
    expect(pressed()).toEqual(['agent-ready']);
    // pressed, not merely disabled: still a control the keyboard reaches
    expect((screen.getByTestId('agent-ready') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('agent-ready').textContent).toBe(`✓ ${ja.agent.setReady}`);
    expect(screen.getByTestId('agent-ready').className).toContain('selected');
    await userEvent.click(screen.getByTestId('agent-break'));
    await waitFor(() => expect(pressed()).toEqual(['agent-break']));
    expect(screen.getByTestId('agent-break').className).toContain('selected');
    expect(screen.getByTestId('agent-ready').className).not.toContain('selected');
    // pressing the pressed state sends nothing
    const sent = gw.received.length;
    await userEvent.click(screen.getByTestId('agent-break'));
    expect(gw.received.length).toBe(sent);
  });

  it('a pending change is shown on its way while the current state stays pressed until the gateway answers', async () => {
    await mount();
    // main lists the intent as pending until the gateway answers (main/telephony/agent-state.ts)
    act(() => useAgentStore.setState({ pending: [{ id: 'p1', kind: 'setAvailability', state: 'break', callId: null }] }));
    expect(screen.getByTestId('agent-pending').textContent).toBe(ja.agent.pendingTo.replace('{{state}}', ja.agent.state.break));
    expect(pressed()).toEqual(['agent-ready']);
    act(() => useAgentStore.setState({ pending: [{ id: 'p2', kind: 'extendWrapUp', state: null, callId: 'c1' }] }));
    expect(screen.getByTestId('agent-pending').textContent).toBe(ja.agent.pendingExtend);
  });

  it('during a call no state is pressed and the group is disabled', async () => {
    const { phone } = await mount();
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await userEvent.click(await screen.findByTestId('answer'));
    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.state).toBe('on_call'));
    expect(pressed()).toEqual([]);
    for (const id of ['agent-ready', 'agent-not-ready', 'agent-break', 'agent-reason']) expect((screen.getByTestId(id) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("the org's not-ready reasons", () => {
  it.each([
    ['ja', ORG_REASONS.map((r) => r.ja), 'コーチング'],
    ['en', ORG_REASONS.map((r) => r.en), 'Coaching'],
  ] as const)('are offered and shown in the operator\'s language (%s); the code is what goes to the gateway', async (language, labels, shown) => {
    const { gw } = await mount({ language });
    expect(options()).toEqual(labels);
    await userEvent.selectOptions(screen.getByTestId('agent-reason'), 'coaching');
    await userEvent.click(screen.getByTestId('agent-not-ready'));
    await waitFor(() => expect(pressed()).toEqual(['agent-not-ready']));
    expect(gw.received).toContainEqual({ kind: 'setAvailability', state: 'not_ready', reason: 'coaching' });
    expect(screen.getByTestId('agent-state').textContent).toContain(`(${shown})`);
    // another reason while not ready: a change of reason, sent
    await userEvent.selectOptions(screen.getByTestId('agent-reason'), 'lunch');
    await userEvent.click(screen.getByTestId('agent-not-ready'));
    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.reason).toBe('lunch'));
    expect(screen.getByTestId('agent-state').textContent).toContain(language === 'ja' ? '(昼休憩)' : '(Lunch)');
  });

  it('a policy that cannot be read: the standard list is offered and the operator is told; a reason the gateway refuses reads the policy again', async () => {
    agentPolicy = null;
    const koe = fakeKoe({ agent: 'ready' });
    await mountShell(koe.api, koe.gw, 'ja');
    await screen.findByTestId('agent-policy-failed');
    expect(screen.getByTestId('agent-policy-failed').textContent).toBe(ja.agent.policyUnavailable);
    expect(options()).toEqual(['昼休憩', 'ミーティング', '研修', '後処理の続き', '折り返し対応', 'その他']);
    // the org's list is readable again; the gateway refuses the default code the org does not list
    agentPolicy = { notReadyReasons: ORG_REASONS };
    const reads = policyReads;
    koe.gw.intent = async (i) => {
      koe.gw.received.push(i);
      return { outcome: 'refused', refusal: 'unknown_reason' };
    };
    await userEvent.selectOptions(screen.getByTestId('agent-reason'), 'meeting');
    await userEvent.click(screen.getByTestId('agent-not-ready'));
    expect((await screen.findByTestId('agent-refusal')).textContent).toContain(ja.agent.refused.unknown_reason);
    await waitFor(() => expect(options()).toEqual(ORG_REASONS.map((r) => r.ja)));
    expect(policyReads).toBe(reads + 1);
    expect(screen.queryByTestId('agent-policy-failed')).toBeNull();
    expect(pressed()).toEqual(['agent-ready']);
  });

  it("the lead's board names an operator's reason in the lead's language (the org's label; a system reason by its own words)", async () => {
    const koe = fakeKoe({ language: 'en' });
    const lead = { id: '99999999-9999-4999-8999-999999999999', username: 'lead-a', displayName: 'Lead', role: 'team_lead', permissions: ['calls:handle', 'team:supervise'] };
    (koe.api as unknown as { session: { state: () => Promise<unknown> } }).session.state = async () => ({
      ok: true,
      value: { status: 'signed-in', user: lead, device: null, totpEnrolmentRequired: false, passwordChangeRequired: false, absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    await mountShell(koe.api, koe.gw, 'en');
    await screen.findByTestId('lead-board');
    const op = (username: string, reason: string | null) => ({
      userId: crypto.randomUUID(), username, displayName: username, teamIds: [], state: 'not_ready' as const, reason, since: new Date().toISOString(), registration: null, call: null,
    });
    act(() => koe.emit('board:changed', { operators: [op('a', 'coaching'), op('b', 'missed'), op('c', 'free text')], updatedAt: Date.now(), stats: null }));
    await waitFor(() => expect(screen.getAllByTestId('board-reason').map((e) => e.textContent)).toEqual([' (Coaching)', ` (${en.agent.reasonCode.missed})`, ' (free text)']));
  });
});

describe('the wrap-up countdown and its extension', () => {
  it('counts down from the gateway\'s deadline in the agent panel and beside the disposition; no extend button when the org allows none', async () => {
    const { phone } = await mount();
    await intoWrapUp(phone);
    const first = left('agent-wrapup-countdown');
    expect(first).toBeGreaterThan(50);
    expect(first).toBeLessThanOrEqual(60);
    expect(screen.getByTestId('agent-wrapup-countdown').textContent).toMatch(/^残り 0[01]:\d\d$/);
    expect(screen.getByTestId('notes-wrapup-countdown').textContent).toMatch(/^後処理 残り 0[01]:\d\d$/);
    // it counts down
    await waitFor(() => expect(left('agent-wrapup-countdown')).toBeLessThan(first), { timeout: 3000 });
    expect(screen.queryByTestId('wrapup-extend')).toBeNull();
    // the disposition comes before the note field (no scrolling to find it)
    const panel = screen.getByTestId('notes-panel');
    const order = [...panel.querySelectorAll('[data-testid]')].map((e) => e.getAttribute('data-testid'));
    expect(order.indexOf('disposition')).toBeLessThan(order.indexOf('note-text'));
  });

  it('"Extend (+30 s)" while the org allows it: the deadline moves by 30 s, and the button goes when no extension is left', async () => {
    agentPolicy = { notReadyReasons: ORG_REASONS, wrapUpExtendSeconds: 30, wrapUpMaxExtensions: 1 };
    const { phone, gw } = await mount({ extend: { seconds: 30, max: 1 } });
    await intoWrapUp(phone);
    const extend = await screen.findByTestId('wrapup-extend');
    expect(extend.textContent).toBe('延長（+30 秒）');
    expect(extend.getAttribute('aria-describedby')).toBe('agent-wrapup-countdown-extend-hint');
    expect(document.getElementById('agent-wrapup-countdown-extend-hint')!.textContent).toBe('あと 1 回延長できます');
    const before = gw.state.wrapUp!.until;
    await userEvent.click(extend);
    await waitFor(() => expect(useAgentStore.getState().view?.wrapUp?.extensions).toBe(1));
    expect(gw.received).toContainEqual({ kind: 'extendWrapUp', callId: 'sip-1@test' });
    expect(gw.state.wrapUp!.until).toBe(before + 30_000);
    expect(left('agent-wrapup-countdown')).toBeGreaterThan(60);
    expect(screen.queryByTestId('wrapup-extend')).toBeNull();
  });

  it('in English too', async () => {
    agentPolicy = { notReadyReasons: ORG_REASONS, wrapUpExtendSeconds: 45, wrapUpMaxExtensions: 2 };
    const { phone } = await mount({ language: 'en', extend: { seconds: 45, max: 2 } });
    await intoWrapUp(phone);
    expect((await screen.findByTestId('wrapup-extend')).textContent).toBe('Extend (+45 s)');
    expect(screen.getByTestId('agent-wrapup-countdown').textContent).toMatch(/^0[01]:\d\d left/);
    expect(screen.getByTestId('notes-wrapup-countdown').textContent).toMatch(/^Wrap-up: 0[01]:\d\d left$/);
  });
});

describe('the end of the wrap-up', () => {
  it.each(['ja', 'en'] as const)('confirms, politely, what was saved: the disposition and the time (%s)', async (language) => {
    const { phone } = await mount({ language });
    await intoWrapUp(phone);
    const saved = screen.getByTestId('wrapup-saved');
    expect(saved.getAttribute('aria-live')).toBe('polite');
    expect(saved.textContent).toBe('');
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    await waitFor(() => expect(screen.queryByTestId('wrapup')).toBeNull());
    const text = screen.getByTestId('wrapup-saved').textContent!;
    if (language === 'ja') expect(text).toMatch(/^保存しました \d{1,2}:\d\d:\d\d 対応結果: 解決$/);
    else expect(text).toMatch(/^Saved \d{1,2}:\d\d:\d\d, disposition: 解決$/);
  });

  it('says nothing was saved when the gateway refuses the end of the wrap-up (the panel stays open)', async () => {
    const { phone, gw } = await mount();
    await intoWrapUp(phone);
    await userEvent.selectOptions(screen.getByTestId('disposition'), '解決');
    gw.setLink('unreachable');
    await userEvent.click(screen.getByTestId('finish-wrapup'));
    await screen.findByTestId('agent-refusal');
    expect(screen.getByTestId('wrapup-saved').textContent).toBe('');
    expect(screen.getByTestId('wrapup')).toBeTruthy();
  });
});
