// Issue 18 item 9, the lead's cockpit as the lead sees it: the board sorted by any column from
// its header (aria-sort says how), filtered by name and state, rows over the org's thresholds
// highlighted with a badge that names why (GET /supervision/board-policy), a missed call named
// until the operator's state changes, and the supervised operator and mode unmistakable.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ja } from '../../renderer/src/i18n/ja';
import type { BoardOperator } from '../../shared/gateway/supervision';
import { useSupervisionStore, initialSupervisionState } from '../../renderer/src/features/supervision/store';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';

/** What GET /supervision/board-policy answers (null: the request fails). */
let boardPolicy: Record<string, unknown> | null = null;
/** What the lead's set-not-ready requests sent, and the status the gateway answers them with. */
let setNotReady: { path: string; body: unknown }[] = [];
let setNotReadyStatus = 200;

beforeEach(() => {
  resetShellStores();
  useSupervisionStore.setState({ ...initialSupervisionState });
  boardPolicy = { longCallSeconds: 300, longWrapUpSeconds: 60, longNotReadySeconds: 600 };
  setNotReady = [];
  setNotReadyStatus = 200;
  vi.stubGlobal('fetch', async (url: string, init?: { body?: string }) => {
    const path = new URL(url).pathname;
    if (path.endsWith('/not-ready')) {
      setNotReady.push({ path, body: JSON.parse(init?.body ?? 'null') });
      if (setNotReadyStatus !== 200) return { ok: false, status: setNotReadyStatus, json: async () => ({ error: { code: 'conflict', message: 'busy_with_call' } }) };
      return { ok: true, status: 200, json: async () => ({ userId: path.split('/')[3], state: 'not_ready', reason: 'meeting' }) };
    }
    if (path === '/supervision/board-policy') {
      if (!boardPolicy) return { ok: false, status: 503, json: async () => ({ error: { code: 'unavailable', message: 'down' } }) };
      return { ok: true, status: 200, json: async () => boardPolicy };
    }
    return { ok: true, status: 200, json: async () => ({}) };
  });
});
afterEach(() => {
  unmountShell();
  vi.unstubAllGlobals();
});

const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
function op(username: string, displayName: string, state: BoardOperator['state'], sinceS: number, extra: Partial<BoardOperator> = {}): BoardOperator {
  return { userId: crypto.randomUUID(), username, displayName, teamIds: [], state, reason: null, since: ago(sinceS), registration: 'registered', call: null, ...extra };
}
const call = (sinceS: number) => ({ callId: `c-${sinceS}`, campaignId: null, campaignName: 'さくら銀行', direction: 'inbound' as const, status: 'answered' as const, since: ago(sinceS), customerName: null });

const OPERATORS = [
  op('ito', '伊藤 次郎', 'on_call', 400, { call: call(400) }), // over 300 s: long call
  op('abe', '阿部 一郎', 'ready', 30),
  op('ueda', '上田 三郎', 'wrap_up', 90), // over 60 s: long wrap-up
  op('kato', '加藤 四郎', 'not_ready', 90, { reason: 'missed' }),
  op('sato', '佐藤 花子', 'on_call', 20, { call: call(20) }),
  op('kudo', '工藤 五郎', 'offline', 5000),
];

async function mountLead(operators = OPERATORS) {
  const koe = fakeKoe({});
  const lead = { id: '99999999-9999-4999-8999-999999999999', username: 'lead-a', displayName: 'Lead', role: 'team_lead', permissions: ['calls:handle', 'team:supervise'] };
  (koe.api as unknown as { session: { state: () => Promise<unknown> } }).session.state = async () => ({
    ok: true,
    value: { status: 'signed-in', user: lead, device: null, totpEnrolmentRequired: false, passwordChangeRequired: false, absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  await mountShell(koe.api, koe.gw, 'ja');
  await screen.findByTestId('lead-board');
  act(() => koe.emit('board:changed', { operators, updatedAt: Date.now(), stats: null }));
  await waitFor(() => expect(screen.getAllByTestId('board-row')).toHaveLength(operators.length));
  return koe;
}

const names = () => screen.getAllByTestId('board-row').map((r) => r.dataset.username);
const row = (username: string) => screen.getAllByTestId('board-row').find((r) => r.dataset.username === username)!;

describe("the lead's board: sorting and filtering", () => {
  it('sorts by the column whose header button is pressed, again to reverse, and aria-sort says so', async () => {
    await mountLead();
    // by name first (Japanese reading order of the display names as the collator sees them)
    const byName = [...OPERATORS].sort((a, b) => new Intl.Collator('ja').compare(a.displayName, b.displayName)).map((o) => o.username);
    expect(names()).toEqual(byName);
    const header = (key: string) => screen.getByTestId(`sort-${key}`).closest('th')!;
    expect(header('name').getAttribute('aria-sort')).toBe('ascending');

    await userEvent.click(screen.getByTestId('sort-callTime'));
    // shortest call first, operators without a call last
    expect(names().slice(0, 2)).toEqual(['sato', 'ito']);
    expect(header('callTime').getAttribute('aria-sort')).toBe('ascending');
    expect(header('name').getAttribute('aria-sort')).toBe('none');
    await userEvent.click(screen.getByTestId('sort-callTime'));
    expect(names().slice(0, 2)).toEqual(['ito', 'sato']);
    expect(header('callTime').getAttribute('aria-sort')).toBe('descending');

    // the keyboard reaches and presses a header: longest in state first after two presses
    screen.getByTestId('sort-timeInState').focus();
    await userEvent.keyboard('{Enter}');
    await userEvent.keyboard('{Enter}');
    expect(names()[0]).toBe('kudo');
    expect(header('timeInState').getAttribute('aria-sort')).toBe('descending');
  });

  it('filters by name (display or user name) and by state, and says how many are shown', async () => {
    await mountLead();
    await userEvent.type(screen.getByTestId('board-filter-text'), '佐藤');
    expect(names()).toEqual(['sato']);
    expect(screen.getByTestId('board-shown').textContent).toBe('1 / 6 人を表示');
    await userEvent.clear(screen.getByTestId('board-filter-text'));
    await userEvent.type(screen.getByTestId('board-filter-text'), 'KAT');
    expect(names()).toEqual(['kato']);
    await userEvent.clear(screen.getByTestId('board-filter-text'));

    await userEvent.selectOptions(screen.getByTestId('board-filter-state'), ja.cockpit.states.on_call);
    expect(names().sort()).toEqual(['ito', 'sato']);
    await userEvent.selectOptions(screen.getByTestId('board-filter-state'), ja.cockpit.states.wrap_up);
    expect(names()).toEqual(['ueda']);
    await userEvent.type(screen.getByTestId('board-filter-text'), '佐藤');
    expect(screen.queryAllByTestId('board-row')).toHaveLength(0);
    expect(screen.getByTestId('board-no-match').textContent).toBe(ja.cockpit.noMatch);
  });
});

describe("the lead's board: the org's thresholds", () => {
  it('highlights a long call, a long wrap-up and a missed call with a badge naming why; the others not', async () => {
    await mountLead();
    await waitFor(() => expect(row('ito').dataset.flags).toBe('longCall'));
    expect(within(row('ito')).getByTestId('board-flag-longCall').textContent).toBe('長時間通話');
    expect(row('ito').className).toContain('board-flagged');
    expect(within(row('ueda')).getByTestId('board-flag-longWrapUp').textContent).toBe('長時間後処理');
    expect(within(row('kato')).getByTestId('board-flag-missed').textContent).toBe('不在着信');
    for (const u of ['abe', 'sato', 'kudo']) {
      expect(row(u).dataset.flags).toBe('');
      expect(row(u).className).not.toContain('board-flagged');
    }
  });

  it("uses the org's numbers: a higher long-call threshold leaves the 400 s call plain", async () => {
    boardPolicy = { longCallSeconds: 900, longWrapUpSeconds: 60, longNotReadySeconds: 60 };
    await mountLead();
    await waitFor(() => expect(useSupervisionStore.getState()).toMatchObject({ thresholds: { longCallSeconds: 900 } }));
    expect(row('ito').dataset.flags).toBe('');
    // not ready for 90 s with a 60 s threshold: long not ready, beside the missed call
    expect(row('kato').dataset.flags!.split(' ').sort()).toEqual(['longNotReady', 'missed']);
  });

  it('a missed call shows until the operator state changes', async () => {
    const koe = await mountLead();
    expect(within(row('kato')).getByTestId('board-flag-missed')).toBeTruthy();
    const kato = OPERATORS.find((o) => o.username === 'kato')!;
    act(() => koe.emit('board:changed', { operators: [{ ...kato, state: 'ready', reason: null, since: ago(0) }], updatedAt: Date.now(), stats: null }));
    await waitFor(() => expect(row('kato').dataset.state).toBe('ready'));
    expect(within(row('kato')).queryByTestId('board-flag-missed')).toBeNull();
  });

  it('says so when the thresholds cannot be read, and highlights by the defaults', async () => {
    boardPolicy = null;
    await mountLead();
    expect((await screen.findByTestId('board-thresholds-failed')).textContent).toBe(ja.cockpit.thresholdsFailed);
    // the default long call is 600 s: the 400 s call is not flagged
    expect(row('ito').dataset.flags).toBe('');
  });
});

describe("the lead's board: the active supervision", () => {
  it("shows each call's quality as the operator's phone measured it: level and MOS, the figures for assistive technology", async () => {
    const at = new Date().toISOString();
    await mountLead([
      op('ito', '伊藤 次郎', 'on_call', 40, { call: { ...call(40), quality: { mos: 4.3, jitterMs: 4, lossPct: 0, rttMs: 40, at } } }),
      op('sato', '佐藤 花子', 'on_call', 20, { call: { ...call(20), quality: { mos: 2.8, jitterMs: 45, lossPct: 8.5, rttMs: 180, at } } }),
      op('abe', '阿部 一郎', 'on_call', 10, { call: call(10) }),
    ]);
    const q = (u: string) => within(row(u)).queryByTestId('board-quality');
    expect([q('ito')?.dataset.level, q('sato')?.dataset.level, q('abe')]).toEqual(['good', 'poor', null]);
    expect(q('ito')!.textContent).toMatch(/^良好 4\.3/);
    expect(q('sato')!.textContent).toMatch(/^不良 2\.8/);
    expect(q('sato')!.textContent).toContain('8.5');
  });

  it('marks the supervised operator row and names the operator and the mode in the panel', async () => {
    await mountLead();
    const ito = OPERATORS[0]!;
    act(() => useSupervisionStore.setState({ lead: { supervisionId: 's1', callId: ito.call!.callId, operatorId: ito.userId, mode: 'whisper', status: 'listening', error: null, operatorConnected: true } }));
    await waitFor(() => expect(row('ito').getAttribute('aria-current')).toBe('true'));
    expect(within(row('ito')).getByTestId('board-supervising').textContent).toBe('ささやき中');
    expect(screen.getAllByTestId('board-row').filter((r) => r.getAttribute('aria-current'))).toHaveLength(1);
    expect(screen.getByTestId('supervision-title').textContent).toBe('ささやき中 — 対象: 伊藤 次郎');
    expect(screen.getByTestId('mode-whisper').getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByTestId('mode-monitor').getAttribute('aria-pressed')).toBe('false');
    // the pressed mode is marked by more than colour
    expect(screen.getByTestId('mode-whisper').textContent).toContain('✓');
    expect(screen.getByTestId('mode-monitor').textContent).not.toContain('✓');
  });
});

describe("the lead's board: setting an operator not ready", () => {
  it("sends the chosen org reason for a ready operator, is not offered on a call, and says why the gateway refused", async () => {
    await mountLead();
    const abe = OPERATORS.find((o) => o.username === 'abe')!;
    expect(within(row('ito')).queryByTestId('set-not-ready-ito')).toBeNull(); // on a call
    expect(within(row('kudo')).queryByTestId('set-not-ready-kudo')).toBeNull(); // offline
    await userEvent.selectOptions(within(row('abe')).getByTestId('set-not-ready-reason-abe'), 'ミーティング');
    await userEvent.click(within(row('abe')).getByTestId('set-not-ready-button-abe'));
    await waitFor(() => expect(setNotReady).toEqual([{ path: `/supervision/operators/${abe.userId}/not-ready`, body: { reason: 'meeting' } }]));
    expect(screen.queryByTestId('set-not-ready-error')).toBeNull();

    setNotReadyStatus = 409;
    await userEvent.click(within(row('abe')).getByTestId('set-not-ready-button-abe'));
    expect((await screen.findByTestId('set-not-ready-error')).textContent).toBe(ja.cockpit.setNotReady.error.conflict);
  });
});
