// Issue 18 item 9, the raised hand in the operator model: the operator asks a team lead for help
// in any state but offline (on a call, in wrap-up, idle) and lowers it again; a lead acknowledges
// it ("I'm coming": it stays up, marked, the first lead's acknowledgement stands) or lowers it;
// it goes down by itself when the operator goes offline (sign-out, the client's grace ran out).
// Every change is an effect the gateway audits; the lead's actions tell the operator.
import { describe, expect, it } from 'vitest';
import { initialOperatorState, invariantProblems, step, viewOf, type OperatorEvent, type OperatorState } from '../../../shared/rules/operator-model';

const LEAD = { userId: 'lead-1', username: 'suzuki', displayName: '鈴木 健太' };
const OTHER = { userId: 'lead-2', username: 'yamada', displayName: '山田 一郎' };

function run(s: OperatorState, ...evs: OperatorEvent[]): OperatorState {
  for (const ev of evs) {
    const r = step(s, ev);
    if (!r.ok) throw new Error(`refused ${ev.type}: ${r.refusal}`);
    s = r.state;
    expect(invariantProblems(s)).toEqual([]);
  }
  return s;
}

describe('the raised hand', () => {
  const connected = run(initialOperatorState(0), { type: 'connected', at: 1 }, { type: 'microphone', at: 2, available: true });

  it('is raised with its time, shown in the view, and audited as raised by the operator; raising again keeps the first time', () => {
    expect(viewOf(connected).hand).toBeNull();
    const r = step(connected, { type: 'raiseHand', at: 1_000 });
    expect(r.ok && !('ignored' in r)).toBe(true);
    expect(r.state.hand).toEqual({ raisedAt: 1_000, acknowledgedAt: null, acknowledgedBy: null });
    expect(r.state.version).toBe(connected.version + 1);
    expect(r.ok && r.effects).toEqual([{ type: 'hand', change: 'raised', by: 'operator', lead: null, cause: null, raisedAt: 1_000 }]);
    expect(viewOf(r.state).hand).toEqual({ raisedAt: 1_000, acknowledgedAt: null, acknowledgedBy: null });
    const again = step(r.state, { type: 'raiseHand', at: 2_000 });
    expect(again).toMatchObject({ ok: true, ignored: true });
    expect(again.state.hand!.raisedAt).toBe(1_000);
  });

  it('is raised on a call and in wrap-up, and stays up through the call (the agent state does not touch it)', () => {
    const onCall = run(connected, { type: 'dial', at: 3, callId: 'c1' }, { type: 'answered', at: 4, callId: 'c1' }, { type: 'raiseHand', at: 5 });
    expect(onCall).toMatchObject({ agent: 'on_call', hand: { raisedAt: 5 } });
    const wrapUp = run(onCall, { type: 'ended', at: 6, callId: 'c1', cause: 'completed' });
    expect(wrapUp).toMatchObject({ agent: 'wrap_up', hand: { raisedAt: 5 } });
    const lowered = run(wrapUp, { type: 'lowerHand', at: 7 });
    expect(lowered.hand).toBeNull();
    expect(run(lowered, { type: 'raiseHand', at: 8 })).toMatchObject({ agent: 'wrap_up', hand: { raisedAt: 8 } });
  });

  it('is refused offline; lowering a hand that is down changes nothing for the operator and is refused for a lead', () => {
    expect(step(initialOperatorState(0), { type: 'raiseHand', at: 1 })).toMatchObject({ ok: false, refusal: 'offline' });
    expect(step(connected, { type: 'lowerHand', at: 2 })).toMatchObject({ ok: true, ignored: true });
    expect(step(connected, { type: 'lowerHand', at: 2, byLead: LEAD })).toMatchObject({ ok: false, refusal: 'no_hand' });
    expect(step(connected, { type: 'acknowledgeHand', at: 2, byLead: LEAD })).toMatchObject({ ok: false, refusal: 'no_hand' });
  });

  it("is acknowledged by a lead: kept up with the lead's name and time, the operator told; a second lead's acknowledgement does not replace the first", () => {
    const up = run(connected, { type: 'raiseHand', at: 10 });
    const r = step(up, { type: 'acknowledgeHand', at: 20, byLead: LEAD });
    expect(r.state.hand).toEqual({ raisedAt: 10, acknowledgedAt: 20, acknowledgedBy: LEAD });
    expect(viewOf(r.state).hand).toEqual({ raisedAt: 10, acknowledgedAt: 20, acknowledgedBy: '鈴木 健太' });
    expect(r.ok && r.effects).toEqual([
      { type: 'hand', change: 'acknowledged', by: 'lead', lead: LEAD, cause: null, raisedAt: 10 },
      { type: 'notify', code: 'hand_acknowledged', callId: null },
    ]);
    expect(step(r.state, { type: 'acknowledgeHand', at: 30, byLead: OTHER })).toMatchObject({ ok: true, ignored: true });
    // a supervision's start counts as an acknowledgement (cause supervision)
    const viaSupervision = step(up, { type: 'acknowledgeHand', at: 20, byLead: LEAD, viaSupervision: true });
    expect(viaSupervision.ok && viaSupervision.effects[0]).toMatchObject({ change: 'acknowledged', cause: 'supervision' });
  });

  it('is lowered by a lead (the operator told) or by the operator after an acknowledgement', () => {
    const acked = run(connected, { type: 'raiseHand', at: 10 }, { type: 'acknowledgeHand', at: 20, byLead: LEAD });
    const byLead = step(acked, { type: 'lowerHand', at: 30, byLead: OTHER });
    expect(byLead.state.hand).toBeNull();
    expect(byLead.ok && byLead.effects).toEqual([
      { type: 'hand', change: 'lowered', by: 'lead', lead: OTHER, cause: null, raisedAt: 10 },
      { type: 'notify', code: 'hand_lowered_by_lead', callId: null },
    ]);
    const own = step(acked, { type: 'lowerHand', at: 30 });
    expect(own.ok && own.effects).toEqual([{ type: 'hand', change: 'lowered', by: 'operator', lead: null, cause: null, raisedAt: 10 }]);
  });

  it('goes down by itself when the operator signs out or the client stays away past the grace, not at a mere disconnect', () => {
    const up = run(connected, { type: 'raiseHand', at: 10 });
    const out = step(up, { type: 'signedOut', at: 20 });
    expect(out.state).toMatchObject({ agent: 'offline', hand: null });
    expect(out.ok && out.effects).toContainEqual({ type: 'hand', change: 'lowered', by: 'gateway', lead: null, cause: 'signed_out', raisedAt: 10 });
    const away = run(up, { type: 'disconnected', at: 20 });
    expect(away.hand).toMatchObject({ raisedAt: 10 }); // a network blip: the hand stays while the client may come back
    const gone = step(away, { type: 'tick', at: 20 + 60_000 });
    expect(gone.state).toMatchObject({ agent: 'offline', hand: null });
    expect(gone.ok && gone.effects).toContainEqual({ type: 'hand', change: 'lowered', by: 'gateway', lead: null, cause: 'offline', raisedAt: 10 });
  });

  it('reads a state stored before the hand (no hand field) as down', () => {
    const { hand: _hand, ...old } = connected;
    expect(viewOf(old as OperatorState).hand).toBeNull();
    expect(step(old as OperatorState, { type: 'raiseHand', at: 5 }).state.hand).toMatchObject({ raisedAt: 5 });
  });
});
