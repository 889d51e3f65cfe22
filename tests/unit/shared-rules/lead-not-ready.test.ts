// Issue 18 item 9: a lead sets an operator not ready through the model's own setAvailability
// (byLead): the same refusals as the operator's (on a call, in wrap-up, offline), and the
// operator is told (the notify effect the gateway pushes as an operatorNotice).
import { describe, expect, it } from 'vitest';
import { initialOperatorState, step, type OperatorState } from '../../../shared/rules/operator-model';

function run(s: OperatorState, ...evs: Parameters<typeof step>[1][]): OperatorState {
  for (const ev of evs) {
    const r = step(s, ev);
    if (!r.ok) throw new Error(`refused ${ev.type}: ${r.refusal}`);
    s = r.state;
  }
  return s;
}

describe('a lead sets an operator not ready (setAvailability byLead)', () => {
  const connected = run(initialOperatorState(0), { type: 'connected', at: 1 }, { type: 'setAvailability', at: 2, state: 'break' });

  it('sets not ready with the reason and tells the operator; the operator setting it themselves is not a notice', () => {
    const r = step(connected, { type: 'setAvailability', at: 3, state: 'not_ready', reason: 'meeting', byLead: true });
    expect(r.ok && r.state).toMatchObject({ agent: 'not_ready', reason: 'meeting' });
    expect(r.ok && r.effects).toEqual([{ type: 'notify', code: 'set_not_ready_by_lead', callId: null }]);
    const own = step(connected, { type: 'setAvailability', at: 3, state: 'not_ready', reason: 'meeting' });
    expect(own.ok && own.effects).toEqual([]);
  });

  it('is refused on a call and in wrap-up, as the operator would be', () => {
    const onCall = run(connected, { type: 'dial', at: 3, callId: 'c1' }, { type: 'answered', at: 4, callId: 'c1' });
    expect(step(onCall, { type: 'setAvailability', at: 5, state: 'not_ready', reason: 'meeting', byLead: true })).toMatchObject({ ok: false, refusal: 'busy_with_call' });
    const wrapUp = run(onCall, { type: 'ended', at: 6, callId: 'c1', cause: 'completed' });
    expect(step(wrapUp, { type: 'setAvailability', at: 7, state: 'not_ready', reason: 'meeting', byLead: true })).toMatchObject({ ok: false, refusal: 'in_wrap_up' });
    expect(step(initialOperatorState(0), { type: 'setAvailability', at: 1, state: 'not_ready', reason: 'meeting', byLead: true })).toMatchObject({ ok: false, refusal: 'offline' });
  });
});
