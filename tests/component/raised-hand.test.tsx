// Issue 18 item 9, the raised hand as the operator and the lead see it. The operator: a toggle in
// the agent panel's heading (aria-pressed, ticked by more than colour) that raises and lowers the
// hand through the `hand` intent, shows the time it went up and that a lead acknowledged it (the
// lead's name in its description, a notice), also during a call, by mouse, keyboard and Ctrl+Alt+S.
// The lead: the row highlighted with the time, first on the board while nobody acknowledged it,
// found by the "hand raised" filter, answered with "I'm coming" / "lower" (the request the
// gateway decides), said once in a polite live region (not a second role="status"). ja and en.
// Behind window.koe is the real operator model (FakeGateway in phone-fakes.ts).
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ja } from '../../renderer/src/i18n/ja';
import { en } from '../../renderer/src/i18n/en';
import { formatTime } from '../../renderer/src/i18n/format';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { initialSupervisionState, useSupervisionStore } from '../../renderer/src/features/supervision/store';
import type { BoardOperator } from '../../shared/gateway/supervision';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const LEAD = { userId: '99999999-9999-4999-8999-999999999999', username: 'suzuki', displayName: '鈴木 健太' };
/** The lead's hand requests sent, and the status the gateway answers them with. */
let handRequests: { path: string; body: unknown }[] = [];
let handStatus = 200;

beforeEach(() => {
  resetShellStores();
  useAgentStore.setState({ refusal: null, notices: [], pending: [], policy: null, policyFailed: false });
  useSupervisionStore.setState({ ...initialSupervisionState });
  handRequests = [];
  handStatus = 200;
  vi.stubGlobal('fetch', async (url: string, init?: { body?: string }) => {
    const path = new URL(url).pathname;
    if (path.endsWith('/hand')) {
      handRequests.push({ path, body: JSON.parse(init?.body ?? 'null') });
      if (handStatus !== 200) return { ok: false, status: handStatus, json: async () => ({ error: { code: handStatus === 404 ? 'not_found' : 'conflict', message: 'no' } }) };
      return { ok: true, status: 200, json: async () => ({ userId: path.split('/')[3], hand: null }) };
    }
    if (path === '/supervision/board-policy') return { ok: true, status: 200, json: async () => ({ longCallSeconds: 600, longWrapUpSeconds: 120, longNotReadySeconds: 900 }) };
    return { ok: true, status: 200, json: async () => ({}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

async function mountOperator(language: 'ja' | 'en' = 'ja') {
  const koe = fakeKoe({ agent: 'ready', language });
  koe.gw.now = Date.now();
  const phone = await mountShell(koe.api, koe.gw, language);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { phone, gw: koe.gw };
}
const toggle = () => screen.getByTestId('hand-toggle');
const description = () => document.getElementById(toggle().getAttribute('aria-describedby')!)!.textContent;

describe("the operator's raised hand", () => {
  it.each([
    ['ja', ja],
    ['en', en],
  ] as const)('raises and lowers by mouse, shows the time raised, and the lead acknowledging it (%s)', async (language, texts) => {
    const { gw } = await mountOperator(language);
    expect(toggle().textContent).toBe(`✋ ${texts.agent.hand.raise}`);
    expect(toggle().getAttribute('aria-pressed')).toBe('false');
    expect(toggle().getAttribute('aria-keyshortcuts')).toBe('Control+Alt+S');
    expect(description()).toBe(texts.agent.hand.describeDown);
    await userEvent.click(toggle());
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('true'));
    expect(gw.received).toContainEqual({ kind: 'hand', raised: true });
    const raisedAt = gw.state.hand!.raisedAt;
    const time = formatTime(raisedAt, language);
    expect(toggle().textContent).toBe(`✋ ${texts.agent.hand.raised.replace('{{time}}', time)}`);
    expect(toggle().className).toContain('selected');
    expect(description()).toBe(texts.agent.hand.describeRaised.replace('{{time}}', time));

    // a lead acknowledges it: the toggle says so, the description names the lead, a notice tells the operator
    act(() => void gw.event({ type: 'acknowledgeHand', byLead: LEAD, at: raisedAt + 60_000 }));
    await waitFor(() => expect(toggle().dataset.acknowledged).toBe('true'));
    expect(toggle().textContent).toBe(`✋ ${texts.agent.hand.raised.replace('{{time}}', time)} ✓ ${texts.agent.hand.acknowledgedShort}`);
    expect(description()).toBe(
      texts.agent.hand.describeAcknowledged.replace('{{time}}', time).replace('{{name}}', LEAD.displayName).replace('{{ackTime}}', formatTime(raisedAt + 60_000, language)),
    );
    const notice = screen.getAllByTestId('agent-notice').find((n) => n.dataset.code === 'hand_acknowledged')!;
    expect(notice.getAttribute('role')).toBe('alert');
    expect(notice.textContent).toContain(texts.agent.notice.hand_acknowledged);

    await userEvent.click(toggle());
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('false'));
    expect(gw.received).toContainEqual({ kind: 'hand', raised: false });
    expect(toggle().textContent).toBe(`✋ ${texts.agent.hand.raise}`);
  });

  it('is a keyboard control (Enter, Space) and Ctrl+Alt+S presses it; it works during a call', async () => {
    const { phone, gw } = await mountOperator();
    toggle().focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('true'));
    await userEvent.keyboard(' ');
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('false'));
    // on a call: the state buttons are disabled, the hand is not
    act(() => void phone.ring({ campaignId: CAMPAIGN }));
    await userEvent.click(await screen.findByTestId('answer'));
    await waitFor(() => expect(screen.getByTestId('agent-state').dataset.state).toBe('on_call'));
    expect((screen.getByTestId('agent-ready') as HTMLButtonElement).disabled).toBe(true);
    expect((toggle() as HTMLButtonElement).disabled).toBe(false);
    await userEvent.keyboard('{Control>}{Alt>}[KeyS]{/Alt}{/Control}');
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('true'));
    expect(gw.state).toMatchObject({ agent: 'on_call', hand: { acknowledgedAt: null } });
  });

  it('cannot be pressed while the gateway is unreachable (nothing would reach a lead); a lead lowering it tells the operator', async () => {
    const { gw } = await mountOperator();
    await userEvent.click(toggle());
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('true'));
    act(() => void gw.event({ type: 'lowerHand', byLead: LEAD }));
    await waitFor(() => expect(toggle().getAttribute('aria-pressed')).toBe('false'));
    expect(screen.getAllByTestId('agent-notice').some((n) => n.dataset.code === 'hand_lowered_by_lead' && n.textContent!.includes(ja.agent.notice.hand_lowered_by_lead))).toBe(true);
    act(() => gw.setLink('unreachable'));
    await waitFor(() => expect((toggle() as HTMLButtonElement).disabled).toBe(true));
  });
});

// ------------------------------------------------------------------ the lead's board
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
function op(username: string, displayName: string, state: BoardOperator['state'], extra: Partial<BoardOperator> = {}): BoardOperator {
  return { userId: crypto.randomUUID(), username, displayName, teamIds: [], state, reason: null, since: ago(60), registration: 'registered', call: null, hand: null, ...extra };
}
const OPERATORS = [
  op('abe', '阿部 一郎', 'ready'),
  op('sato', '佐藤 花子', 'on_call', { hand: { raisedAt: ago(90), acknowledgedAt: null, acknowledgedBy: null } }),
  op('ito', '伊藤 次郎', 'wrap_up', { hand: { raisedAt: ago(200), acknowledgedAt: ago(100), acknowledgedBy: '山田 一郎' } }),
  op('ueda', '上田 三郎', 'not_ready'),
];

async function mountLead(language: 'ja' | 'en' = 'ja', operators = OPERATORS) {
  const koe = fakeKoe({ language });
  const lead = { id: LEAD.userId, username: LEAD.username, displayName: LEAD.displayName, role: 'team_lead', permissions: ['calls:handle', 'team:supervise'] };
  (koe.api as unknown as { session: { state: () => Promise<unknown> } }).session.state = async () => ({
    ok: true,
    value: { status: 'signed-in', user: lead, device: null, totpEnrolmentRequired: false, passwordChangeRequired: false, absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  await mountShell(koe.api, koe.gw, language);
  await screen.findByTestId('lead-board');
  act(() => koe.emit('board:changed', { operators, updatedAt: Date.now(), stats: null }));
  await waitFor(() => expect(screen.getAllByTestId('board-row')).toHaveLength(operators.length));
  return koe;
}
const names = () => screen.getAllByTestId('board-row').map((r) => r.dataset.username);
const row = (username: string) => screen.getAllByTestId('board-row').find((r) => r.dataset.username === username)!;

describe("the lead's board: raised hands", () => {
  it.each([
    ['ja', ja],
    ['en', en],
  ] as const)('highlights the row with the time raised and who acknowledged it, first while nobody has (%s)', async (language, texts) => {
    await mountLead(language);
    const sato = OPERATORS[1]!;
    const ito = OPERATORS[2]!;
    // by name the order would differ; the hand nobody answered comes first
    expect(names()[0]).toBe('sato');
    expect(row('sato').dataset.hand).toBe('raised');
    expect(row('sato').className).toContain('board-hand');
    expect(row('sato').dataset.flags).toContain('hand');
    expect(within(row('sato')).getByTestId('board-hand').textContent).toBe(`✋ ${texts.cockpit.hand.raised.replace('{{time}}', formatTime(sato.hand!.raisedAt, language))}`);
    // acknowledged: still marked (and named), back in the lead's order
    expect(row('ito').dataset.hand).toBe('acknowledged');
    expect(row('ito').className).not.toContain('board-hand');
    expect(within(row('ito')).getByTestId('board-hand').textContent).toBe(
      `✋ ${texts.cockpit.hand.raised.replace('{{time}}', formatTime(ito.hand!.raisedAt, language))} · ${texts.cockpit.hand.acknowledged.replace('{{name}}', '山田 一郎')}`,
    );
    expect(within(row('ito')).queryByTestId('hand-acknowledge-ito')).toBeNull();
    expect(within(row('abe')).queryByTestId('board-hand')).toBeNull();
    expect(within(row('abe')).queryByTestId('hand-actions-abe')).toBeNull();
    // the filter: raised hands only, whatever the state
    await userEvent.selectOptions(screen.getByTestId('board-filter-state'), texts.cockpit.states.hand);
    expect(names()).toEqual(['sato', 'ito']);
  });

  it("answers by mouse and keyboard: \"I'm coming\" and \"lower\" send the request; a refusal is said in the lead's language", async () => {
    await mountLead();
    const sato = OPERATORS[1]!;
    const ack = within(row('sato')).getByTestId('hand-acknowledge-sato');
    expect(ack.getAttribute('aria-label')).toBe(ja.cockpit.hand.acknowledgeLabel.replace('{{name}}', sato.displayName));
    expect(ack.textContent).toBe(ja.cockpit.hand.acknowledge);
    await userEvent.click(ack);
    await waitFor(() => expect(handRequests).toEqual([{ path: `/supervision/operators/${sato.userId}/hand`, body: { action: 'acknowledge' } }]));
    within(row('sato')).getByTestId('hand-lower-sato').focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(handRequests.at(-1)).toEqual({ path: `/supervision/operators/${sato.userId}/hand`, body: { action: 'lower' } }));
    expect(screen.queryByTestId('hand-error')).toBeNull();
    handStatus = 409;
    await userEvent.click(within(row('sato')).getByTestId('hand-lower-sato'));
    expect((await screen.findByTestId('hand-error')).textContent).toBe(ja.cockpit.hand.error.conflict);
    handStatus = 404;
    await userEvent.click(within(row('sato')).getByTestId('hand-acknowledge-sato'));
    await waitFor(() => expect(screen.getByTestId('hand-error').textContent).toBe(ja.cockpit.hand.error.not_found));
  });

  it('says a newly raised hand once in a polite live region (no second role="status"); a hand raised again later is said again', async () => {
    const koe = await mountLead('en', [OPERATORS[0]!, OPERATORS[3]!]);
    const region = screen.getByTestId('board-hand-announcement');
    expect(region.getAttribute('aria-live')).toBe('polite');
    expect(region.getAttribute('role')).toBeNull();
    expect(region.textContent).toBe('');
    const abe = OPERATORS[0]!;
    const raisedAt = ago(5);
    act(() => koe.emit('board:changed', { operators: [{ ...abe, hand: { raisedAt, acknowledgedAt: null, acknowledgedBy: null } }, OPERATORS[3]!], updatedAt: Date.now(), stats: null }));
    const said = en.cockpit.hand.announce.replace('{{name}}', abe.displayName).replace('{{time}}', formatTime(raisedAt, 'en'));
    await waitFor(() => expect(region.textContent).toBe(said));
    // the board's role="status" count is unchanged: none of its own outside a supervision
    expect(within(screen.getByTestId('lead-board')).queryAllByRole('status')).toHaveLength(0);
    // lowered, then raised again at a new time: said again
    act(() => koe.emit('board:changed', { operators: [{ ...abe, hand: null }, OPERATORS[3]!], updatedAt: Date.now(), stats: null }));
    const again = ago(1);
    act(() => koe.emit('board:changed', { operators: [{ ...abe, hand: { raisedAt: again, acknowledgedAt: null, acknowledgedBy: null } }, OPERATORS[3]!], updatedAt: Date.now(), stats: null }));
    await waitFor(() => expect(region.textContent).toBe(en.cockpit.hand.announce.replace('{{name}}', abe.displayName).replace('{{time}}', formatTime(again, 'en'))));
  });
});
