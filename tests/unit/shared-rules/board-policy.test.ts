// Issue 18 item 9: the org's board thresholds (shared/gateway/policy.ts BoardPolicySchema) and
// what the lead's board makes of them (renderer/src/features/supervision/board-view.ts).
import { describe, expect, it } from 'vitest';
import { BoardPolicySchema, DEFAULT_ORG_POLICY, OrgPolicyPatchSchema, OrgPolicySchema } from '../../../shared/gateway/policy';
import type { BoardOperator } from '../../../shared/gateway/supervision';
import { arrangeBoard, boardFlags } from '../../../renderer/src/features/supervision/board-view';

describe('the policy: board thresholds', () => {
  it('defaults to 10 min for a call, 2 min for a wrap-up, 15 min not ready, in every stored policy that never set them', () => {
    expect(DEFAULT_ORG_POLICY.board).toEqual({ longCallSeconds: 600, longWrapUpSeconds: 120, longNotReadySeconds: 900 });
    expect(OrgPolicySchema.parse({ agents: { wrapUpSeconds: 45 } }).board.longCallSeconds).toBe(600);
  });

  it('refuses what is not a whole number of seconds in range, and unknown keys', () => {
    expect(BoardPolicySchema.safeParse({ longCallSeconds: 59 }).success).toBe(false);
    expect(BoardPolicySchema.safeParse({ longCallSeconds: 14_401 }).success).toBe(false);
    expect(BoardPolicySchema.safeParse({ longWrapUpSeconds: 9 }).success).toBe(false);
    expect(BoardPolicySchema.safeParse({ longNotReadySeconds: 90.5 }).success).toBe(false);
    expect(BoardPolicySchema.safeParse({ longNotReadySeconds: '900' }).success).toBe(false);
    expect(BoardPolicySchema.safeParse({ longCalls: 600 }).success).toBe(false);
    expect(BoardPolicySchema.parse({ longCallSeconds: 60, longWrapUpSeconds: 10, longNotReadySeconds: 14_400 })).toBeTruthy();
  });

  it('a PATCH of one threshold leaves the others unset (they keep what the admin had)', () => {
    expect(OrgPolicyPatchSchema.parse({ board: { longCallSeconds: 300 } })).toEqual({ board: { longCallSeconds: 300 } });
  });
});

const NOW = Date.parse('2026-12-02T03:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
function op(username: string, state: BoardOperator['state'], sinceS: number | null, extra: Partial<BoardOperator> = {}): BoardOperator {
  return { userId: crypto.randomUUID(), username, displayName: username, teamIds: [], state, reason: null, since: sinceS === null ? null : ago(sinceS), registration: null, call: null, ...extra };
}
const call = (sinceS: number, status: 'ringing' | 'answered' = 'answered') => ({ callId: 'c', campaignId: null, campaignName: null, direction: 'inbound' as const, status, since: ago(sinceS), customerName: null });
const T = DEFAULT_ORG_POLICY.board;

describe('the board: flags by the thresholds', () => {
  it('flags at the threshold, not a second before', () => {
    expect(boardFlags(op('a', 'on_call', 600, { call: call(600) }), T, NOW)).toEqual(['longCall']);
    expect(boardFlags(op('a', 'on_call', 599, { call: call(599) }), T, NOW)).toEqual([]);
    expect(boardFlags(op('a', 'wrap_up', 120), T, NOW)).toEqual(['longWrapUp']);
    expect(boardFlags(op('a', 'wrap_up', 119), T, NOW)).toEqual([]);
    expect(boardFlags(op('a', 'break', 900), T, NOW)).toEqual(['longNotReady']);
    expect(boardFlags(op('a', 'not_ready', 899), T, NOW)).toEqual([]);
  });

  it('a ringing call is not a long call; a missed call is flagged while the operator stays not ready for it', () => {
    expect(boardFlags(op('a', 'on_call', 700, { call: call(700, 'ringing') }), T, NOW)).toEqual([]);
    expect(boardFlags(op('a', 'not_ready', 5, { reason: 'missed' }), T, NOW)).toEqual(['missed']);
    expect(boardFlags(op('a', 'not_ready', 5, { reason: 'lunch' }), T, NOW)).toEqual([]);
    expect(boardFlags(op('a', 'ready', 5, { reason: 'missed' }), T, NOW)).toEqual([]);
  });
});

describe('the board: arranging rows', () => {
  const rows = [op('b', 'ready', 30), op('a', 'offline', null), op('c', 'on_call', 10, { call: call(10) }), op('d', 'break', 500)];
  const arrange = (o: Partial<Parameters<typeof arrangeBoard>[1]>) =>
    arrangeBoard(rows, { text: '', state: 'all', sort: { key: 'name', direction: 'ascending' }, now: NOW, language: 'ja', ...o }).map((r) => r.username);

  it('sorts by name both ways, by state in the order a lead acts on, unknown times last both ways', () => {
    expect(arrange({})).toEqual(['a', 'b', 'c', 'd']);
    expect(arrange({ sort: { key: 'name', direction: 'descending' } })).toEqual(['d', 'c', 'b', 'a']);
    expect(arrange({ sort: { key: 'state', direction: 'ascending' } })).toEqual(['c', 'b', 'd', 'a']);
    expect(arrange({ sort: { key: 'timeInState', direction: 'ascending' } })).toEqual(['c', 'b', 'd', 'a']);
    expect(arrange({ sort: { key: 'timeInState', direction: 'descending' } })).toEqual(['d', 'b', 'c', 'a']);
    expect(arrange({ sort: { key: 'callTime', direction: 'descending' } })).toEqual(['c', 'a', 'b', 'd']);
  });

  it('filters by state (not ready takes break) and by a name fragment', () => {
    expect(arrange({ state: 'not_ready' })).toEqual(['d']);
    expect(arrange({ state: 'offline' })).toEqual(['a']);
    expect(arrange({ text: ' C ' })).toEqual(['c']);
  });
});
