// Issue 18 item 5: the org's agent states policy (shared/gateway/policy.ts: the not-ready
// reasons, wrap-up extensions), the gateway's reason check before the model
// (server/sip/agent-state.ts unlistedReason) and the model's extendWrapUp
// (shared/rules/operator-model.ts): allowed only within the policy, the deadline moved in the
// state (so the stored next_deadline moves with it) and the timer firing once, at the new time.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NOT_READY_REASONS, DEFAULT_ORG_POLICY, OrgPolicyPatchSchema, OrgPolicySchema, notReadyReasonLabel,
} from '../../../shared/gateway/policy';
import { OperatorIntent, OperatorViewSchema } from '../../../shared/gateway/operator';
import { unlistedReason } from '../../../server/sip/agent-state';
import {
  DEFAULT_MODEL_POLICY, initialOperatorState, invariantProblems, nextDeadline, step, viewOf, type ModelPolicy, type OperatorEvent, type OperatorState,
} from '../../../shared/rules/operator-model';

const issuesOf = (agents: unknown) => {
  const r = OrgPolicySchema.safeParse({ agents });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the policy: not-ready reasons', () => {
  it('defaults to a Japanese call centre list, each with a ja and en label, in every stored policy that never set one', () => {
    expect(DEFAULT_ORG_POLICY.agents.notReadyReasons).toEqual(DEFAULT_NOT_READY_REASONS);
    expect(DEFAULT_NOT_READY_REASONS.map((r) => r.code)).toEqual(['lunch', 'meeting', 'training', 'follow_up', 'callback', 'other']);
    expect(notReadyReasonLabel(DEFAULT_NOT_READY_REASONS, 'lunch', 'ja')).toBe('昼休憩');
    expect(notReadyReasonLabel(DEFAULT_NOT_READY_REASONS, 'lunch', 'en')).toBe('Lunch');
    expect(notReadyReasonLabel(DEFAULT_NOT_READY_REASONS, 'nap', 'en')).toBeNull();
    // a stored policy from before the list (only the old agent fields): parsed with the defaults
    const old = OrgPolicySchema.parse({ agents: { wrapUpSeconds: 45, ringSeconds: 20, clientGraceSeconds: 10 } });
    expect(old.agents).toMatchObject({ wrapUpSeconds: 45, wrapUpExtendSeconds: 0, wrapUpMaxExtensions: 1, notReadyReasons: DEFAULT_NOT_READY_REASONS });
    // parsing twice never shares (or mutates) the defaults
    OrgPolicySchema.parse({}).agents.notReadyReasons[0]!.ja = '変更';
    expect(OrgPolicySchema.parse({}).agents.notReadyReasons[0]!.ja).toBe('昼休憩');
  });

  it('refuses an empty list, more than 20, a code twice, a system reason code, a code that is not lower-case ascii, an empty or over-long label', () => {
    const r = (code: string, ja = '理由', en = 'Reason') => ({ code, ja, en });
    expect(issuesOf({ notReadyReasons: [r('lunch')] })).toEqual([]);
    expect(issuesOf({ notReadyReasons: Array.from({ length: 20 }, (_, i) => r(`r${i}`)) })).toEqual([]);
    expect(issuesOf({ notReadyReasons: [] })).toHaveLength(1);
    expect(issuesOf({ notReadyReasons: Array.from({ length: 21 }, (_, i) => r(`r${i}`)) })).toHaveLength(1);
    expect(issuesOf({ notReadyReasons: [r('lunch'), r('lunch')] })).toEqual(['agents.notReadyReasons.1.code: the code lunch is listed twice']);
    expect(issuesOf({ notReadyReasons: [r('missed')] })).toEqual(['agents.notReadyReasons.0.code: the code missed is reserved']);
    for (const code of ['Lunch', '昼', '1st', 'a-b', '', 'x'.repeat(33)]) expect(issuesOf({ notReadyReasons: [r(code)] }), code).not.toEqual([]);
    expect(issuesOf({ notReadyReasons: [r('a', '')] })).not.toEqual([]);
    expect(issuesOf({ notReadyReasons: [r('a', '理'.repeat(41))] })).not.toEqual([]);
    expect(issuesOf({ notReadyReasons: [{ code: 'a', ja: 'あ' }] })).not.toEqual([]);
    expect(issuesOf({ wrapUpExtendSeconds: -1 })).not.toEqual([]);
    expect(issuesOf({ wrapUpExtendSeconds: 601 })).not.toEqual([]);
    expect(issuesOf({ wrapUpMaxExtensions: 11 })).not.toEqual([]);
  });

  it("a PATCH of the list alone keeps the section's other fields (no defaults filled in)", () => {
    expect(OrgPolicyPatchSchema.parse({ agents: { notReadyReasons: [{ code: 'a', ja: 'あ', en: 'A' }] } })).toEqual({ agents: { notReadyReasons: [{ code: 'a', ja: 'あ', en: 'A' }] } });
    expect(OrgPolicyPatchSchema.parse({ agents: { wrapUpExtendSeconds: 30 } })).toEqual({ agents: { wrapUpExtendSeconds: 30 } });
  });

  it("the gateway's check: a not-ready reason the org does not list, on setAvailability and finishWrapUp's next; no reason, ready and break pass", () => {
    const p = OrgPolicySchema.parse({ agents: { notReadyReasons: [{ code: 'lunch', ja: '昼休憩', en: 'Lunch' }] } }).agents;
    expect(unlistedReason(p, { kind: 'setAvailability', state: 'not_ready', reason: 'lunch' })).toBeNull();
    expect(unlistedReason(p, { kind: 'setAvailability', state: 'not_ready', reason: 'meeting' })).toBe('meeting');
    expect(unlistedReason(p, { kind: 'setAvailability', state: 'not_ready' })).toBeNull();
    expect(unlistedReason(p, { kind: 'setAvailability', state: 'break', reason: 'meeting' })).toBeNull();
    expect(unlistedReason(p, { kind: 'finishWrapUp', next: 'not_ready', reason: 'nap' })).toBe('nap');
    expect(unlistedReason(p, { kind: 'finishWrapUp', next: 'ready', reason: 'nap' })).toBeNull();
    expect(unlistedReason(p, { kind: 'finishWrapUp', next: 'not_ready' })).toBeNull();
  });

  it('the wire: extendWrapUp is an intent with a call id; a view carries how often its wrap-up was extended (absent in older views)', () => {
    expect(OperatorIntent.parse({ kind: 'extendWrapUp', callId: 'c1@x' })).toEqual({ kind: 'extendWrapUp', callId: 'c1@x' });
    expect(OperatorIntent.safeParse({ kind: 'extendWrapUp', callId: 'c1@x', seconds: 600 }).success).toBe(false);
    const view = viewOf(initialOperatorState(0));
    expect(OperatorViewSchema.parse({ ...view, wrapUp: { callId: 'c', until: 1 } }).wrapUp).toEqual({ callId: 'c', until: 1 });
    expect(OperatorViewSchema.parse({ ...view, wrapUp: { callId: 'c', until: 1, extensions: 2 } }).wrapUp).toEqual({ callId: 'c', until: 1, extensions: 2 });
  });
});

describe('the model: extending a wrap-up', () => {
  const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
  const EXTEND: ModelPolicy = { ...DEFAULT_MODEL_POLICY, wrapUpSeconds: 60, wrapUpExtendSeconds: 30, wrapUpMaxExtensions: 2 };
  function apply(s: OperatorState, ev: OperatorEvent, policy: ModelPolicy) {
    const r = step(s, ev, policy);
    expect(invariantProblems(r.state)).toEqual([]);
    return r;
  }
  /** Ready, then an answered call that ended at T0 + 10 s: in wrap-up until T0 + 70 s. */
  function inWrapUp(policy: ModelPolicy): OperatorState {
    let s = initialOperatorState(T0);
    const evs: OperatorEvent[] = [
      { type: 'connected', at: T0 + 1 }, { type: 'microphone', at: T0 + 2, available: true }, { type: 'setAvailability', at: T0 + 3, state: 'ready' },
      { type: 'offer', at: T0 + 4, callId: 'c1' }, { type: 'answered', at: T0 + 5, callId: 'c1' }, { type: 'ended', at: T0 + 10_000, callId: 'c1', cause: 'completed' },
    ];
    for (const ev of evs) s = apply(s, ev, policy).state;
    expect(s.wrapUp).toEqual({ callId: 'c1', until: T0 + 70_000 });
    return s;
  }

  it('refused when the policy allows none (extension_not_allowed), by default too', () => {
    for (const policy of [DEFAULT_MODEL_POLICY, { ...EXTEND, wrapUpExtendSeconds: 0 }]) {
      const s = inWrapUp({ ...policy, wrapUpSeconds: 60 });
      const r = apply(s, { type: 'extendWrapUp', at: T0 + 20_000, callId: 'c1' }, { ...policy, wrapUpSeconds: 60 });
      expect(r).toMatchObject({ ok: false, refusal: 'extension_not_allowed' });
      expect(r.state).toBe(s);
    }
  });

  it('each extension adds the policy seconds to the deadline, up to the maximum (then extension_limit); nextDeadline follows', () => {
    let s = inWrapUp(EXTEND);
    for (const n of [1, 2]) {
      const r = apply(s, { type: 'extendWrapUp', at: T0 + 20_000, callId: 'c1' }, EXTEND);
      expect(r.ok && !('ignored' in r)).toBe(true);
      s = r.state;
      expect(s.wrapUp).toEqual({ callId: 'c1', until: T0 + 70_000 + n * 30_000, extensions: n });
      expect(nextDeadline(s)).toBe(T0 + 70_000 + n * 30_000);
      expect(viewOf(s).wrapUp).toEqual({ callId: 'c1', until: T0 + 70_000 + n * 30_000, extensions: n });
    }
    expect(apply(s, { type: 'extendWrapUp', at: T0 + 21_000, callId: 'c1' }, EXTEND)).toMatchObject({ ok: false, refusal: 'extension_limit' });
  });

  it('refused for another call, for no wrap-up, and once the deadline has passed (the timer has it)', () => {
    const s = inWrapUp(EXTEND);
    expect(apply(s, { type: 'extendWrapUp', at: T0 + 20_000, callId: 'other' }, EXTEND)).toMatchObject({ ok: false, refusal: 'not_in_wrap_up' });
    expect(apply(s, { type: 'extendWrapUp', at: T0 + 70_000, callId: 'c1' }, EXTEND)).toMatchObject({ ok: false, refusal: 'not_in_wrap_up' });
    const done = apply(s, { type: 'finishWrapUp', at: T0 + 20_000, callId: 'c1' }, EXTEND).state;
    expect(apply(done, { type: 'extendWrapUp', at: T0 + 21_000, callId: 'c1' }, EXTEND)).toMatchObject({ ok: false, refusal: 'not_in_wrap_up' });
  });

  it('after an extension the timer fires once, at the new deadline: a tick at the old one changes nothing', () => {
    let s = inWrapUp(EXTEND);
    s = apply(s, { type: 'extendWrapUp', at: T0 + 20_000, callId: 'c1' }, EXTEND).state;
    const old = apply(s, { type: 'tick', at: T0 + 70_000 }, EXTEND);
    expect(old).toMatchObject({ ok: true, ignored: true });
    const fired = apply(s, { type: 'tick', at: T0 + 100_000 }, EXTEND);
    expect(fired.ok && !('ignored' in fired) && fired.effects).toEqual([{ type: 'notify', code: 'wrap_up_timed_out', callId: 'c1' }]);
    expect(fired.state).toMatchObject({ agent: 'ready', wrapUp: null });
    expect(fired.state.calls.find((c) => c.callId === 'c1')).toMatchObject({ state: 'wrapped_up', wrapUp: 'timed_out' });
    expect(nextDeadline(fired.state)).toBeNull();
    expect(apply(fired.state, { type: 'tick', at: T0 + 200_000 }, EXTEND)).toMatchObject({ ok: true, ignored: true });
  });
});
