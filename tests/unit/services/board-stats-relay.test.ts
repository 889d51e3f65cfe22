// Issue 15: the queue statistics the gateway pushes to a lead (boardStats) land in the board
// state main keeps and forwards (board:changed, checked against the IPC contract), and stay
// there through the board's row updates and snapshots.
import { describe, expect, it } from 'vitest';
import { SupervisionRelay } from '../../../main/telephony/supervision';
import { WsServerMessage } from '../../../shared/gateway/api';
import { contract } from '../../../shared/ipc/contract';

const stats = {
  at: 1,
  campaigns: [{ campaignId: 'c1', name: '窓口', waiting: 2, oldestWaitingSince: 0, offered: 5, answered: 3, abandoned: 1, serviceLevel: 0.5, targetSeconds: 20, averageHandleSeconds: 90 }],
  operators: [{ userId: 'u1', calls: 3, missed: 1, handleSeconds: 270, stateSeconds: { ready: 10, on_call: 200 } }],
};
const operator = { userId: '00000000-0000-4000-8000-000000000001', username: 'op', displayName: 'x', teamIds: [], state: 'ready', reason: null, since: null, registration: null, call: null };

describe('board statistics in main', () => {
  it('reach the renderer and survive row updates and snapshots', () => {
    const relay = new SupervisionRelay({ send: () => true }, () => 1);
    const emitted: { stats?: unknown }[] = [];
    relay.onEvent((event, payload) => event === 'board:changed' && emitted.push(payload as never));
    for (const m of [{ type: 'boardStats', stats }, { type: 'boardUpdate', operator }, { type: 'board', operators: [operator] }]) {
      const wire = WsServerMessage.parse(m);
      relay.fromGateway(wire as never);
    }
    expect(emitted).toHaveLength(3);
    for (const p of emitted) {
      expect(contract.events['board:changed'].safeParse(p).success).toBe(true);
      expect(p.stats).toEqual(stats);
    }
  });

  it('a malformed statistics push is refused by the contract (negative counts, unknown states)', () => {
    expect(WsServerMessage.safeParse({ type: 'boardStats', stats: { ...stats, operators: [{ ...stats.operators[0], stateSeconds: { dancing: 1 } }] } }).success).toBe(false);
    expect(WsServerMessage.safeParse({ type: 'boardStats', stats: { ...stats, campaigns: [{ ...stats.campaigns[0], waiting: 1.5 }] } }).success).toBe(false);
    expect(WsServerMessage.safeParse({ type: 'boardStats', stats: { ...stats, campaigns: [{ ...stats.campaigns[0], offered: -1 }] } }).success).toBe(false);
  });
});
