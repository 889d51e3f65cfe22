// The operator model (shared/rules/operator-model.ts): each edge of the operator's day as an
// example, then random event sequences (fast-check), out of order and repeated, against the
// invariants: never on call without a live call, every ended answered call wrapped up exactly
// once, the client's rendering equal to the gateway's state however pushes arrive.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CALL_GRACE_SECONDS, DEFAULT_MODEL_POLICY, END_CAUSES, endCauseOfSipStatus, initialOperatorState, invariantProblems, newerView, nextDeadline, offerable, ringSecondsOf, step, viewOf,
  type OperatorEvent, type OperatorState, type OperatorView, type StepResult, type Transition,
} from '../../../shared/rules/operator-model';

const P = DEFAULT_MODEL_POLICY;
const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

/** Applies events in order; every step must keep the invariants; refusals are collected. */
function run(events: OperatorEvent[], from = initialOperatorState(T0)) {
  let state = from;
  const refusals: string[] = [];
  const transitions: Transition[] = [];
  const effects: unknown[] = [];
  for (const ev of events) {
    const r = step(state, ev);
    if (!r.ok) refusals.push(r.refusal);
    else if (!('ignored' in r)) {
      transitions.push(...r.transitions);
      effects.push(...r.effects);
    }
    state = r.state;
    expect(invariantProblems(state), `after ${JSON.stringify(ev)}`).toEqual([]);
  }
  return { state, refusals, transitions, effects };
}

let t = T0;
const at = (plusMs = 1_000) => (t += plusMs);
/** Signed in, microphone reported, ready. */
function readyOperator(): OperatorState {
  t = T0;
  return run([
    { type: 'connected', at: at() },
    { type: 'microphone', at: at(), available: true },
    { type: 'setAvailability', at: at(), state: 'ready' },
  ]).state;
}

describe('operator model: the edges of the day', () => {
  it('a signed-in operator starts not ready ("signed_in") and cannot go ready before the client reports a microphone', () => {
    t = T0;
    const r = run([{ type: 'connected', at: at() }, { type: 'setAvailability', at: at(), state: 'ready' }]);
    expect(r.state.agent).toBe('not_ready');
    expect(r.state.reasonCode).toBe('signed_in');
    expect(r.refusals).toEqual(['no_microphone']);
  });

  it('no microphone: cannot go ready; losing it while ready makes the operator not ready ("no_microphone")', () => {
    const s = readyOperator();
    const r = run([{ type: 'microphone', at: at(), available: false }, { type: 'setAvailability', at: at(), state: 'ready' }], s);
    expect(r.state.agent).toBe('not_ready');
    expect(r.state.reasonCode).toBe('no_microphone');
    expect(r.refusals).toEqual(['no_microphone']);
    expect(offerable(r.state)).toBe(false);
  });

  it('an answered inbound call: ringing -> on call -> wrap-up -> ready, with exactly one wrap-up', () => {
    const r = run([
      { type: 'offer', at: at(), callId: 'c1' },
      { type: 'ringing', at: at(), callId: 'c1' },
      { type: 'answered', at: at(), callId: 'c1' },
      { type: 'ended', at: at(), callId: 'c1', cause: 'completed' },
    ], readyOperator());
    expect(r.state.agent).toBe('wrap_up');
    expect(r.state.wrapUp?.callId).toBe('c1');
    const done = run([{ type: 'finishWrapUp', at: at(), callId: 'c1' }, { type: 'finishWrapUp', at: at(), callId: 'c1' }], r.state);
    expect(done.state.agent).toBe('ready');
    expect(done.state.calls.find((c) => c.callId === 'c1')).toMatchObject({ state: 'wrapped_up', wrapUp: 'saved', cause: 'completed' });
    expect(done.refusals).toEqual([]); // the repeated finish is a duplicate, not an error
  });

  it('nobody answers: at the ring deadline the call ends "no_answer", the phone is told to stop, the operator is not ready ("missed") and told', () => {
    const s = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'ringing', at: at(), callId: 'c1' }], readyOperator()).state;
    expect(nextDeadline(s)).toBe(s.ringUntil);
    const r = run([{ type: 'tick', at: s.ringUntil! }], s);
    expect(r.state.agent).toBe('not_ready');
    expect(r.state.reasonCode).toBe('missed');
    expect(r.state.calls[0]).toMatchObject({ state: 'ended', cause: 'no_answer', wrapUp: null });
    expect(r.effects).toEqual([{ type: 'hangUp', callId: 'c1', cause: 'no_answer' }, { type: 'notify', code: 'missed', callId: 'c1' }]);
  });

  it('declined and busy leave a visible reason; the caller hanging up while it rings returns the operator to ready', () => {
    const declined = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'declined' }], readyOperator());
    expect([declined.state.agent, declined.state.reasonCode]).toEqual(['not_ready', 'declined']);
    const busy = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'busy' }], readyOperator());
    expect([busy.state.agent, busy.state.reasonCode]).toEqual(['not_ready', 'busy']);
    const gone = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'completed' }], readyOperator());
    expect(gone.state.agent).toBe('ready');
    expect(gone.state.calls[0]!.cause).toBe('caller_abandoned');
  });

  it('a BYE that overtakes the phone\'s "answered" still gives a wrap-up (the network saw the call answered); the late "answered" changes nothing', () => {
    for (const first of ['offer', 'dial'] as const) {
      const r = run([
        { type: first, at: at(), callId: 'c1' }, { type: 'ringing', at: at(), callId: 'c1' },
        { type: 'ended', at: at(), callId: 'c1', cause: 'completed', answered: true },
        { type: 'answered', at: at(), callId: 'c1' },
      ], readyOperator());
      expect(r.state.agent, first).toBe('wrap_up');
      expect(r.state.calls[0], first).toMatchObject({ state: 'ended', cause: 'completed' });
      expect(r.state.calls[0]!.answeredAt, first).not.toBeNull();
      expect(r.state.wrapUp?.callId, first).toBe('c1');
    }
    // without the proof it is a caller who gave up while it rang: no wrap-up
    const cancel = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'completed' }], readyOperator());
    expect([cancel.state.agent, cancel.state.wrapUp, cancel.state.calls[0]!.cause]).toEqual(['ready', null, 'caller_abandoned']);
  });

  it('an outbound call makes the operator on call (no inbound offer meanwhile) and gets a wrap-up like an inbound one', () => {
    const s = readyOperator();
    const r = run([
      { type: 'dial', at: at(), callId: 'o1' },
      { type: 'offer', at: at(), callId: 'i1' },
      { type: 'answered', at: at(), callId: 'o1' },
      { type: 'ended', at: at(), callId: 'o1', cause: 'completed' },
    ], s);
    expect(r.refusals).toEqual(['not_available']);
    expect(r.state.agent).toBe('wrap_up');
    expect(r.state.wrapUp?.callId).toBe('o1');
  });

  it('an unanswered outbound call returns the operator to where they were (not ready with their reason), with no wrap-up', () => {
    const s = run([{ type: 'setAvailability', at: at(), state: 'not_ready', reason: '折り返し' }], readyOperator()).state;
    const r = run([{ type: 'dial', at: at(), callId: 'o1' }, { type: 'ended', at: at(), callId: 'o1', cause: 'busy' }], s);
    expect([r.state.agent, r.state.reason]).toEqual(['not_ready', '折り返し']);
    expect(r.state.wrapUp).toBeNull();
  });

  it('wrap-up timer vs open panel: the timer wins (wrapped up "timed_out", ready, told); a late finish is refused; the next call has its own wrap-up', () => {
    const s = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'completed' },
    ], readyOperator()).state;
    const r = run([
      { type: 'tick', at: s.wrapUp!.until },
      { type: 'offer', at: at(P.wrapUpSeconds * 1000 + 1000), callId: 'c2' },
      { type: 'answered', at: at(), callId: 'c2' },
      { type: 'ended', at: at(), callId: 'c2', cause: 'completed' },
    ], s);
    expect(r.state.calls.find((c) => c.callId === 'c1')).toMatchObject({ state: 'wrapped_up', wrapUp: 'timed_out' });
    expect(r.effects).toContainEqual({ type: 'notify', code: 'wrap_up_timed_out', callId: 'c1' });
    expect(r.state.wrapUp?.callId).toBe('c2');
  });

  it('during wrap-up: no inbound offer, no second outbound call, no availability change', () => {
    const s = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'completed' },
    ], readyOperator()).state;
    const r = run([
      { type: 'offer', at: at(), callId: 'c2' }, { type: 'dial', at: at(), callId: 'o2' }, { type: 'setAvailability', at: at(), state: 'ready' },
    ], s);
    expect(r.refusals).toEqual(['not_available', 'in_wrap_up', 'in_wrap_up']);
    expect(r.state.agent).toBe('wrap_up');
  });

  it('finishing wrap-up can choose break or not ready instead of ready', () => {
    const s = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'completed' },
    ], readyOperator()).state;
    expect(run([{ type: 'finishWrapUp', at: at(), callId: 'c1', next: 'break' }], s).state.agent).toBe('break');
    const nr = run([{ type: 'finishWrapUp', at: at(), callId: 'c1', next: 'not_ready' }], s).state;
    expect([nr.agent, nr.reasonCode]).toEqual(['not_ready', 'after_call']);
  });

  it('a failed transfer keeps the customer where they were (held) and tells the operator; a completed one ends the call into wrap-up', () => {
    const s = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'held', at: at(), callId: 'c1', held: true },
      { type: 'transfer', at: at(), callId: 'c1', phase: 'started' },
    ], readyOperator()).state;
    const failed = run([{ type: 'transfer', at: at(), callId: 'c1', phase: 'failed' }], s);
    expect(failed.state.calls[0]!.state).toBe('held');
    expect(failed.state.agent).toBe('on_call');
    expect(failed.effects).toEqual([{ type: 'notify', code: 'transfer_failed', callId: 'c1' }]);
    const done = run([{ type: 'transfer', at: at(), callId: 'c1', phase: 'completed' }], s);
    expect(done.state.calls[0]).toMatchObject({ state: 'ended', cause: 'transferred' });
    expect(done.state.agent).toBe('wrap_up');
  });

  it('an attended transfer: the consultation leg has no wrap-up of its own; the customer call has one', () => {
    const r = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'held', at: at(), callId: 'c1', held: true },
      { type: 'dial', at: at(), callId: 'k1', consultFor: 'c1' }, { type: 'answered', at: at(), callId: 'k1' },
      { type: 'transfer', at: at(), callId: 'c1', phase: 'completed' }, { type: 'ended', at: at(), callId: 'k1', cause: 'completed' },
    ], readyOperator());
    expect(r.state.wrapUp?.callId).toBe('c1');
    expect(r.state.calls.find((c) => c.callId === 'k1')!.wrapUp).toBeNull();
  });

  // The three-way call (issue 18 item 6) is mixed in the operator's softphone: to the model it is
  // the consultation's two calls with the customer taken off hold (no event of its own). These
  // pin that the model keeps that state as it is, on every way out of it.
  it('a three-way call (consult, then join): both calls active, on call, offers and a third call refused; either party leaving keeps the other', () => {
    const joined = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'held', at: at(), callId: 'c1', held: true },
      { type: 'dial', at: at(), callId: 'k1', consultFor: 'c1' }, { type: 'answered', at: at(), callId: 'k1' },
      { type: 'held', at: at(), callId: 'c1', held: false },
    ], readyOperator());
    expect(joined.refusals).toEqual([]);
    expect(joined.state.agent).toBe('on_call');
    expect(joined.state.calls.map((c) => [c.callId, c.state])).toEqual([['c1', 'answered'], ['k1', 'answered']]);
    expect(offerable(joined.state)).toBe(false);
    const third = run([{ type: 'incoming', at: at(), callId: 'x1' }, { type: 'dial', at: at(), callId: 'd1' }, { type: 'dial', at: at(), callId: 'k2', consultFor: 'c1' }], joined.state);
    expect(third.refusals).toEqual(['busy_with_call', 'busy_with_call', 'busy_with_call']);

    // the colleague hangs up: the customer call goes on, no wrap-up yet; its end opens the one wrap-up
    const colleagueLeft = run([{ type: 'ended', at: at(), callId: 'k1', cause: 'completed' }], joined.state);
    expect(colleagueLeft.state).toMatchObject({ agent: 'on_call', wrapUp: null });
    const afterCustomer = run([{ type: 'ended', at: at(), callId: 'c1', cause: 'completed' }], colleagueLeft.state);
    expect(afterCustomer.state.agent).toBe('wrap_up');
    expect(afterCustomer.state.wrapUp?.callId).toBe('c1');

    // the customer hangs up: the operator stays on the call with the colleague; the customer's
    // wrap-up is open meanwhile and the agent is wrap_up once the colleague's call ends
    const customerLeft = run([{ type: 'ended', at: at(), callId: 'c1', cause: 'completed' }], joined.state);
    expect(customerLeft.state.agent).toBe('on_call');
    expect(customerLeft.state.wrapUp?.callId).toBe('c1');
    const afterColleague = run([{ type: 'ended', at: at(), callId: 'k1', cause: 'completed' }], customerLeft.state);
    expect(afterColleague.state.agent).toBe('wrap_up');
    expect(afterColleague.state.calls.find((c) => c.callId === 'k1')!.wrapUp).toBeNull();

    // the operator leaves them connected (attended transfer from the joined state)
    const handedOver = run([
      { type: 'transfer', at: at(), callId: 'c1', phase: 'started' }, { type: 'transfer', at: at(), callId: 'c1', phase: 'completed' },
      { type: 'ended', at: at(), callId: 'k1', cause: 'completed' },
    ], joined.state);
    expect(handedOver.state.calls.find((c) => c.callId === 'c1')).toMatchObject({ state: 'ended', cause: 'transferred' });
    expect(handedOver.state.agent).toBe('wrap_up');
  });

  it('a call that reaches the operator without routing (incoming): rings when not ready, blocks offers, a decline leaves the reason as it was, no wrap-up', () => {
    let s = run([{ type: 'setAvailability', at: at(), state: 'not_ready', reason: '研修' }], readyOperator()).state;
    const ring = run([{ type: 'incoming', at: at(), callId: 'x1' }], s);
    expect(ring.state).toMatchObject({ agent: 'ringing' });
    expect(offerable(ring.state)).toBe(false);
    expect(nextDeadline(ring.state)).toBeNull(); // no ring deadline: the caller's side ends it
    const declined = run([{ type: 'ended', at: at(), callId: 'x1', cause: 'declined' }], ring.state);
    expect(declined.state).toMatchObject({ agent: 'not_ready', reason: '研修', reasonCode: null });
    // answered and ended: no wrap-up, back to ready (where the operator stood)
    s = readyOperator();
    const talk = run([{ type: 'incoming', at: at(), callId: 'x2' }, { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'x2' }], s);
    expect(talk.refusals).toEqual(['not_available']);
    expect(talk.state.agent).toBe('on_call');
    const over = run([{ type: 'ended', at: at(), callId: 'x2', cause: 'completed' }], talk.state);
    expect(over.state).toMatchObject({ agent: 'ready', wrapUp: null });
    expect(over.state.calls.find((c) => c.callId === 'x2')).toMatchObject({ state: 'ended', wrapUp: null });
  });

  it('incoming during wrap-up keeps the wrap-up open; a consultation arriving while the customer is held is accepted; a second ringing call is refused', () => {
    const s = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'ended', at: at(), callId: 'c1', cause: 'completed' },
      { type: 'incoming', at: at(), callId: 'x1' }, { type: 'answered', at: at(), callId: 'x1' }, { type: 'ended', at: at(), callId: 'x1', cause: 'completed' },
    ], readyOperator());
    expect(s.state).toMatchObject({ agent: 'wrap_up', wrapUp: { callId: 'c1' } });
    const held = run([
      { type: 'finishWrapUp', at: at(), callId: 'c1' }, { type: 'offer', at: at(), callId: 'c2' }, { type: 'answered', at: at(), callId: 'c2' },
      { type: 'held', at: at(), callId: 'c2', held: true }, { type: 'incoming', at: at(), callId: 'x2' }, { type: 'incoming', at: at(), callId: 'x3' },
    ], s.state);
    expect(held.refusals).toEqual(['busy_with_call']);
    expect(held.state.calls.filter((c) => c.state !== 'ended' && c.state !== 'wrapped_up').map((c) => c.callId)).toEqual(['c2', 'x2']);
    const offline = run([{ type: 'incoming', at: at(), callId: 'x9' }], initialOperatorState(T0));
    expect(offline.refusals).toEqual(['offline']);
  });

  it('locked: offered no calls (ready -> not ready "locked"); a call in progress keeps going and ends into wrap-up; unlock does not make ready by itself', () => {
    const s = readyOperator();
    const locked = run([{ type: 'locked', at: at(), locked: true }, { type: 'offer', at: at(), callId: 'c9' }], s);
    expect([locked.state.agent, locked.state.reasonCode]).toEqual(['not_ready', 'locked']);
    expect(locked.refusals).toEqual(['not_available']);
    const during = run([
      { type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'locked', at: at(), locked: true },
      { type: 'ended', at: at(), callId: 'c1', cause: 'completed' }, { type: 'finishWrapUp', at: at(), callId: 'c1' }, { type: 'locked', at: at(), locked: false },
    ], s);
    expect([during.state.agent, during.state.reasonCode]).toEqual(['not_ready', 'locked']);
  });

  it('a client that vanishes in conversation keeps its call through a 30 s network cut (grace of at least CALL_GRACE_SECONDS), and loses it after', () => {
    const s = readyOperator();
    const t0 = at();
    const onCall = run([{ type: 'offer', at: t0, callId: 'c1' }, { type: 'answered', at: t0, callId: 'c1' }, { type: 'disconnected', at: t0 }], s).state;
    expect(onCall.graceUntil).toBe(t0 + CALL_GRACE_SECONDS * 1000);
    // the org's 20 s grace has passed: the call is still on
    const later = run([{ type: 'tick', at: t0 + 30_000 }], onCall);
    expect(later.effects).toEqual([]);
    expect(later.state.agent).toBe('on_call');
    // the network is back: nothing was lost
    const back = run([{ type: 'connected', at: t0 + 32_000 }], later.state).state;
    expect([back.agent, back.graceUntil, back.calls.find((c) => c.callId === 'c1')?.state]).toEqual(['on_call', null, 'answered']);
    // never back: client lost at the call grace
    const gone = run([{ type: 'tick', at: t0 + CALL_GRACE_SECONDS * 1000 }], later.state);
    expect(gone.effects).toContainEqual({ type: 'hangUp', callId: 'c1', cause: 'client_lost' });
    // an idle client keeps the org's grace
    expect(run([{ type: 'disconnected', at: t0 }], readyOperator()).state.graceUntil).toBe(t0 + DEFAULT_MODEL_POLICY.graceSeconds * 1000);
  });

  it('a client that vanishes: not offered calls at once, offline after the grace period with its calls ended "client_lost"; a reconnect within grace keeps the state', () => {
    const s = readyOperator();
    const gone = run([{ type: 'disconnected', at: at() }], s).state;
    expect(offerable(gone)).toBe(false);
    expect(step(gone, { type: 'offer', at: at(), callId: 'c1' })).toMatchObject({ ok: false, refusal: 'not_connected' });
    const back = run([{ type: 'connected', at: at() }], gone).state;
    expect(back.agent).toBe('ready');
    const lost = run([{ type: 'tick', at: gone.graceUntil! }], gone).state;
    expect(lost.agent).toBe('offline');
    const onCall = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }, { type: 'disconnected', at: at() }], s).state;
    const r = run([{ type: 'tick', at: onCall.graceUntil! }], onCall);
    expect(r.state.agent).toBe('offline');
    expect(r.effects).toContainEqual({ type: 'hangUp', callId: 'c1', cause: 'client_lost' });
    expect(r.state.calls.find((c) => c.callId === 'c1')).toMatchObject({ state: 'wrapped_up', wrapUp: 'timed_out' });
  });

  it('the watchdog: a call the engines no longer know is ended "repair", audited as a repair, and the operator is not left on call', () => {
    const s = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }], readyOperator()).state;
    const r = run([{ type: 'reconcile', at: at(), liveCallIds: ['other'] }], s);
    expect(r.effects).toContainEqual({ type: 'repaired', callId: 'c1', was: 'answered' });
    expect(r.state.agent).toBe('wrap_up'); // it was answered: the operator still records what happened
    const ringing = run([{ type: 'offer', at: at(), callId: 'c2' }], readyOperator()).state;
    expect(step(ringing, { type: 'reconcile', at: at(100), liveCallIds: [] })).toMatchObject({ ignored: true });
  });

  it('sign-out during a call hangs it up on purpose and leaves nothing live', () => {
    const s = run([{ type: 'offer', at: at(), callId: 'c1' }, { type: 'answered', at: at(), callId: 'c1' }], readyOperator()).state;
    const r = run([{ type: 'signedOut', at: at() }], s);
    expect(r.state.agent).toBe('offline');
    expect(r.effects).toContainEqual({ type: 'hangUp', callId: 'c1', cause: 'signed_out' });
  });
});

describe('SIP final status -> end cause (one mapping for the phone and for Kamailio\'s reports)', () => {
  it.each([
    [null, 'completed'], [487, 'completed'], [603, 'declined'], [486, 'busy'], [600, 'busy'],
    [404, 'no_answer'], [408, 'no_answer'], [410, 'no_answer'], [480, 'no_answer'], [488, 'failed'], [500, 'failed'], [503, 'failed'],
  ] as const)('%s -> %s', (status, cause) => {
    expect(endCauseOfSipStatus(status)).toBe(cause);
  });
});

// ---- properties ------------------------------------------------------------------------------

const CALL_IDS = ['a', 'b', 'c', 'd'];
const callId = fc.constantFrom(...CALL_IDS);
const gap = fc.integer({ min: 0, max: 90_000 });
const w = <T,>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
type Make = (at: number) => OperatorEvent;
const availability = fc.constantFrom('ready', 'not_ready', 'break') as fc.Arbitrary<'ready' | 'not_ready' | 'break'>;
const LEAD = { userId: 'lead-1', username: 'suzuki', displayName: '鈴木 健太' };
const eventArb: fc.Arbitrary<Make> = fc.oneof(
  w(2, fc.constant<Make>((at) => ({ type: 'connected', at }))),
  w(1, fc.constant<Make>((at) => ({ type: 'disconnected', at }))),
  w(1, fc.constant<Make>((at) => ({ type: 'signedOut', at }))),
  w(4, fc.record({ state: availability, reason: fc.option(fc.string({ maxLength: 5 })) }).map(({ state, reason }): Make => (at) => ({ type: 'setAvailability', at, state, reason }))),
  w(1, fc.boolean().map((locked): Make => (at) => ({ type: 'locked', at, locked }))),
  w(2, fc.constantFrom(true, true, false).map((available): Make => (at) => ({ type: 'microphone', at, available }))),
  w(6, callId.map((callId): Make => (at) => ({ type: 'offer', at, callId }))),
  w(2, callId.map((callId): Make => (at) => ({ type: 'incoming', at, callId }))),
  w(3, fc.record({ callId, consultFor: fc.option(callId) }).map(({ callId, consultFor }): Make => (at) => ({ type: 'dial', at, callId, consultFor }))),
  w(3, callId.map((callId): Make => (at) => ({ type: 'ringing', at, callId }))),
  w(6, callId.map((callId): Make => (at) => ({ type: 'answered', at, callId }))),
  w(2, fc.record({ callId, held: fc.boolean() }).map(({ callId, held }): Make => (at) => ({ type: 'held', at, callId, held }))),
  w(3, fc.record({ callId, phase: fc.constantFrom('started', 'failed', 'completed') as fc.Arbitrary<'started' | 'failed' | 'completed'> })
    .map(({ callId, phase }): Make => (at) => ({ type: 'transfer', at, callId, phase }))),
  w(5, fc.record({ callId, cause: fc.constantFrom(...END_CAUSES) }).map(({ callId, cause }): Make => (at) => ({ type: 'ended', at, callId, cause }))),
  w(2, callId.map((callId): Make => (at) => ({ type: 'ended', at, callId, cause: 'completed', answered: true }))),
  w(4, fc.record({ callId, next: fc.option(availability, { nil: undefined }) }).map(({ callId, next }): Make => (at) => ({ type: 'finishWrapUp', at, callId, next }))),
  w(3, fc.constant<Make>((at) => ({ type: 'tick', at }))),
  w(2, fc.subarray(CALL_IDS).map((liveCallIds): Make => (at) => ({ type: 'reconcile', at, liveCallIds }))),
  // the raised hand (issue 18 item 9): the operator raises and lowers it, a lead acknowledges or lowers it
  w(2, fc.constant<Make>((at) => ({ type: 'raiseHand', at }))),
  w(1, fc.boolean().map((byLead): Make => (at) => ({ type: 'lowerHand', at, ...(byLead ? { byLead: LEAD } : {}) }))),
  w(1, fc.boolean().map((viaSupervision): Make => (at) => ({ type: 'acknowledgeHand', at, byLead: LEAD, viaSupervision }))),
);
/** Most runs start with an operator who signed in, has a microphone and is ready. */
const PRELUDE: Make[] = [(at) => ({ type: 'connected', at }), (at) => ({ type: 'microphone', at, available: true }), (at) => ({ type: 'setAvailability', at, state: 'ready' })];
/** Events with times; sometimes a time earlier than the last (an event reported late). */
const sequenceArb = fc.tuple(fc.array(fc.tuple(eventArb, gap, fc.boolean()), { maxLength: 80 }), fc.nat(9)).map(([xs, p]) => {
  let now = T0;
  const all: [Make, number, boolean][] = [...(p > 0 ? PRELUDE.map((m): [Make, number, boolean] => [m, 1, false]) : []), ...xs];
  return all.map(([make, dt, late]) => {
    now += dt;
    return make(late ? now - Math.floor(dt / 2) - 1 : now);
  });
});

describe('operator model: properties over random event sequences', () => {
  it('never throws, and every reachable state keeps the invariants (never on call without a live call, never ready while locked, ...)', () => {
    fc.assert(
      fc.property(sequenceArb, (events) => {
        let s = initialOperatorState(T0);
        for (const ev of events) {
          s = step(s, ev).state;
          expect(invariantProblems(s), `after ${JSON.stringify(ev)}`).toEqual([]);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it('every answered customer call that ends is wrapped up exactly once (saved or timed out), consultation legs never', () => {
    fc.assert(
      fc.property(sequenceArb, (events) => {
        let s = initialOperatorState(T0);
        const log: Transition[] = [];
        let last = T0;
        const apply = (ev: OperatorEvent) => {
          const r = step(s, ev);
          if (r.ok && !('ignored' in r)) log.push(...r.transitions);
          s = r.state;
          last = Math.max(last, ev.at);
        };
        for (const ev of events) apply(ev);
        // let every timer run out: wrap-ups close by saving or by the timer
        apply({ type: 'tick', at: last + (P.wrapUpSeconds + P.ringSeconds + P.graceSeconds) * 1000 + 1 });
        apply({ type: 'tick', at: last + 2 * (P.wrapUpSeconds + P.ringSeconds + P.graceSeconds) * 1000 + 2 });
        // calls are identified by their offer/dial: a call id may be reused after it ended
        const lives: { id: string; answered: boolean; ended: boolean; wrapped: number }[] = [];
        const current = new Map<string, (typeof lives)[number]>();
        for (const tr of log) {
          if (tr.subject !== 'call') continue;
          if (tr.from === 'none') {
            const life = { id: tr.callId!, answered: false, ended: false, wrapped: 0 };
            lives.push(life);
            current.set(tr.callId!, life);
            continue;
          }
          const life = current.get(tr.callId!)!;
          if (tr.to === 'answered' && tr.from !== 'held' && tr.from !== 'transferring') life.answered = true;
          if (tr.to === 'ended') life.ended = true;
          if (tr.to === 'wrapped_up') life.wrapped += 1;
        }
        const consults = new Set<string>();
        for (const ev of events) if ((ev.type === 'dial' && ev.consultFor) || ev.type === 'incoming') consults.add(ev.callId);
        for (const life of lives) {
          if (life.wrapped > 1) throw new Error(`call ${life.id} wrapped up ${life.wrapped} times`);
          if (!life.answered && life.wrapped) throw new Error(`call ${life.id} wrapped up without an answer`);
          if (life.answered && life.ended && life.wrapped !== 1 && !consults.has(life.id)) {
            throw new Error(`call ${life.id} answered and ended, wrapped up ${life.wrapped} times`);
          }
        }
        expect(s.wrapUp).toBeNull();
      }),
      { numRuns: 3_000 },
    );
  });

  it('the client renders what the gateway says: pushes reordered and repeated still leave the client with the gateway\'s view', () => {
    fc.assert(
      fc.property(sequenceArb, fc.array(fc.nat(), { maxLength: 200 }), (events, shuffle) => {
        let s = initialOperatorState(T0);
        const pushes: OperatorView[] = [];
        let client: OperatorView | null = null;
        let k = 0;
        for (const ev of events) {
          const r: StepResult = step(s, ev);
          s = r.state;
          if (r.ok && !('ignored' in r)) pushes.push(viewOf(s));
          // deliver some pending pushes in a random order, some twice
          const n = shuffle[k++ % Math.max(1, shuffle.length)] ?? 0;
          for (let i = 0; i < n % 3 && pushes.length; i++) {
            const j = (shuffle[(k + i) % Math.max(1, shuffle.length)] ?? 0) % pushes.length;
            client = newerView(client, pushes[j]!);
            if ((n & 4) === 0) pushes.splice(j, 1);
          }
          // the client never shows a state the gateway did not have
          if (client && client.version > s.version) throw new Error('client ahead of the gateway');
        }
        for (const p of pushes) client = newerView(client, p);
        if (s.version > 0) expect(client).toEqual(viewOf(s));
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('the campaign\'s ring timeout (issue 15: ring-no-answer -> the next operator)', () => {
  it('an offer with ringSeconds rings that long (the deadline Kamailio\'s branch timer has too), then "missed"', () => {
    const s = readyOperator();
    const offerAt = at();
    const offered = run([{ type: 'offer', at: offerAt, callId: 'c1', ringSeconds: 5 }], s).state;
    expect(offered.ringUntil).toBe(offerAt + 5_000);
    expect(nextDeadline(offered)).toBe(offerAt + 5_000);
    // a tick before the deadline changes nothing; at the deadline: no answer, not ready "missed"
    expect(run([{ type: 'tick', at: offerAt + 4_999 }], offered).state.agent).toBe('ringing');
    const missed = run([{ type: 'tick', at: offerAt + 5_000 }], offered);
    expect(missed.state).toMatchObject({ agent: 'not_ready', reasonCode: 'missed', ringUntil: null });
    expect(missed.effects).toEqual([{ type: 'hangUp', callId: 'c1', cause: 'no_answer' }, { type: 'notify', code: 'missed', callId: 'c1' }]);
  });

  it('Kamailio\'s report of the ring timer (408) before the sweeper\'s tick: the same outcome, once', () => {
    const s = readyOperator();
    const offerAt = at();
    const offered = run([{ type: 'offer', at: offerAt, callId: 'c1', ringSeconds: 5 }], s).state;
    const reported = run([{ type: 'ended', at: offerAt + 5_001, callId: 'c1', cause: endCauseOfSipStatus(408) }], offered);
    expect(reported.state).toMatchObject({ agent: 'not_ready', reasonCode: 'missed', ringUntil: null });
    expect(reported.effects).toEqual([{ type: 'notify', code: 'missed', callId: 'c1' }]);
    // the tick after it, and the report again: nothing more
    const later = step(reported.state, { type: 'tick', at: offerAt + 6_000 });
    expect(later).toMatchObject({ ok: true, ignored: true });
    expect(step(reported.state, { type: 'ended', at: offerAt + 6_000, callId: 'c1', cause: 'no_answer' })).toMatchObject({ ok: true, ignored: true });
  });

  it('without ringSeconds (or with a value out of range) the policy\'s ring timeout holds', () => {
    expect(ringSecondsOf(undefined, P)).toBe(P.ringSeconds);
    expect(ringSecondsOf(null, P)).toBe(P.ringSeconds);
    for (const bad of [0, -5, 1.5, 601, Number.NaN, Number.POSITIVE_INFINITY]) expect(ringSecondsOf(bad, P), String(bad)).toBe(P.ringSeconds);
    expect(ringSecondsOf(15, P)).toBe(15);
    const s = readyOperator();
    const offerAt = at();
    expect(run([{ type: 'offer', at: offerAt, callId: 'c1' }], s).state.ringUntil).toBe(offerAt + P.ringSeconds * 1000);
    expect(run([{ type: 'offer', at: offerAt, callId: 'c1', ringSeconds: 0 }], s).state.ringUntil).toBe(offerAt + P.ringSeconds * 1000);
  });

  it('reject from the operator\'s leg: 603 "declined", 486 "busy"; the operator is not offered again until they choose ready', () => {
    for (const [status, code] of [[603, 'declined'], [486, 'busy']] as const) {
      const s = readyOperator();
      const offered = run([{ type: 'offer', at: at(), callId: 'c1', ringSeconds: 15 }], s).state;
      const r = run([{ type: 'ended', at: at(), callId: 'c1', cause: endCauseOfSipStatus(status) }], offered).state;
      expect(r).toMatchObject({ agent: 'not_ready', reasonCode: code });
      expect(offerable(r)).toBe(false);
      expect(step(r, { type: 'offer', at: at(), callId: 'c2' })).toMatchObject({ ok: false, refusal: 'not_available' });
    }
  });
});
