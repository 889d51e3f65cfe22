// Main's AgentStateService: it renders only what the gateway pushed (the newest view), sends
// the renderer's intents and the phone's facts with an id and settles each on the gateway's
// answer (view or refusal), refuses intents at once while the link is down (never queued
// silently), queues facts and replays them in order, re-sends the microphone and the lock on
// every (re)connect, and forgets everything at the end of the session.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentStateService, type AgentTimers } from '../../../main/telephony/agent-state';
import type { IntentOutcome } from '../../../shared/ipc/contract';
import { initialOperatorState, step, viewOf, type OperatorView } from '../../../shared/rules/operator-model';

function harness(opts: { sendOk?: boolean } = {}) {
  const sent: { type: string; id?: string; intent?: { kind: string } & Record<string, unknown> }[] = [];
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const t: AgentTimers = {
    setTimeout: (fn, ms) => {
      timers.push({ fn, ms, cleared: false });
      return timers.length - 1;
    },
    clearTimeout: (h) => void (timers[h as number]!.cleared = true),
  };
  const svc = new AgentStateService({ send: (m) => (opts.sendOk === false ? false : (sent.push(m as never), true)) }, { timers: t });
  const snapshots: ReturnType<AgentStateService['snapshot']>[] = [];
  svc.onChange((s) => snapshots.push(s));
  return { svc, sent, timers, snapshots };
}

const view = (version: number, agent: OperatorView['agent'] = 'not_ready'): OperatorView => ({
  ...viewOf(initialOperatorState(0)),
  version,
  agent,
});

describe('AgentStateService (main)', () => {
  it('keeps the newest view the gateway pushed: older or repeated pushes are ignored', () => {
    const { svc } = harness();
    svc.linkState('ready', true);
    svc.fromGateway({ type: 'operatorState', view: view(5, 'ready') });
    svc.fromGateway({ type: 'operatorState', view: view(3, 'not_ready') });
    svc.fromGateway({ type: 'operatorState', view: view(5, 'break') });
    expect(svc.snapshot().view).toMatchObject({ version: 5, agent: 'ready' });
  });

  it('sends an intent with an id, lists it pending, settles it on the answer with that id', async () => {
    const { svc, sent, snapshots } = harness();
    svc.linkState('ready', true);
    const p = svc.intent({ kind: 'setAvailability', state: 'ready' });
    const msg = sent.find((m) => m.intent?.kind === 'setAvailability')!;
    expect(msg).toMatchObject({ type: 'operator', intent: { kind: 'setAvailability', state: 'ready' } });
    expect(svc.snapshot().pending).toEqual([{ id: msg.id, kind: 'setAvailability', state: 'ready', callId: null }]);
    // a push without the id (another event) does not settle it
    svc.fromGateway({ type: 'operatorState', view: view(1) });
    expect(svc.snapshot().pending).toHaveLength(1);
    svc.fromGateway({ type: 'operatorState', view: view(2, 'ready'), id: msg.id });
    expect(await p).toEqual({ outcome: 'accepted', view: view(2, 'ready') });
    expect(svc.snapshot().pending).toEqual([]);
    expect(snapshots.at(-1)!.view?.agent).toBe('ready');
  });

  it('settles a refused intent with the gateway refusal, and an unanswered one after the timeout', async () => {
    const { svc, sent, timers } = harness();
    svc.linkState('ready', true);
    const a = svc.intent({ kind: 'setAvailability', state: 'ready' });
    svc.fromGateway({ type: 'operatorRefused', id: sent.at(-1)!.id!, kind: 'setAvailability', refusal: 'no_microphone' });
    expect(await a).toEqual({ outcome: 'refused', refusal: 'no_microphone' });
    const b = svc.intent({ kind: 'setAvailability', state: 'break' });
    const timer = timers.at(-1)!;
    expect(timer.ms).toBe(10_000);
    timer.fn();
    expect(await b).toEqual({ outcome: 'refused', refusal: 'no_answer' });
    expect(svc.snapshot().pending).toEqual([]);
  });

  it('while the link is down: intents refused at once ("unreachable"), facts queued and replayed in order after it is back', async () => {
    const { svc, sent, snapshots } = harness();
    svc.linkState('connecting', true);
    expect(svc.snapshot().link).toBe('connecting');
    svc.linkState('ready', true);
    svc.linkState('closed', true);
    expect(snapshots.at(-1)!.link).toBe('unreachable');
    sent.length = 0;
    expect(await svc.intent({ kind: 'setAvailability', state: 'ready' })).toEqual({ outcome: 'refused', refusal: 'unreachable' });
    expect(await svc.intent({ kind: 'finishWrapUp', callId: 'c1' })).toEqual({ outcome: 'refused', refusal: 'unreachable' });
    expect(await svc.intent({ kind: 'dial', callId: 'c2', number: '+81312345678' })).toEqual({ outcome: 'refused', refusal: 'unreachable' });
    // the raised hand is the operator's intent too: a hand replayed later would ask for help the operator may no longer need
    expect(await svc.intent({ kind: 'hand', raised: true })).toEqual({ outcome: 'refused', refusal: 'unreachable' });
    expect(await svc.intent({ kind: 'answered', callId: 'c3' })).toEqual({ outcome: 'queued' });
    expect(await svc.intent({ kind: 'ended', callId: 'c3', cause: 'completed' })).toEqual({ outcome: 'queued' });
    expect(await svc.intent({ kind: 'microphone', available: false })).toEqual({ outcome: 'queued' });
    expect(sent).toEqual([]);
    // reconnecting is still "unreachable" until the gateway says ready
    svc.linkState('connecting', true);
    expect(svc.snapshot().link).toBe('unreachable');
    svc.linkState('ready', true);
    expect(svc.snapshot().link).toBe('connected');
    expect(sent.map((m) => m.intent)).toEqual([
      { kind: 'microphone', available: false },
      { kind: 'locked', locked: false },
      { kind: 'answered', callId: 'c3' },
      { kind: 'ended', callId: 'c3', cause: 'completed' },
    ]);
  });

  it('a pending intent when the link drops is answered "unreachable" (nothing will answer it)', async () => {
    const { svc } = harness();
    svc.linkState('ready', true);
    const p = svc.intent({ kind: 'setAvailability', state: 'ready' });
    svc.linkState('closed', true);
    expect(await p).toEqual({ outcome: 'refused', refusal: 'unreachable' });
  });

  it("reports main's lock at once while connected, and again on every reconnect", () => {
    const { svc, sent } = harness();
    svc.setLocked(true);
    expect(sent).toEqual([]);
    svc.linkState('ready', true);
    expect(sent.map((m) => m.intent)).toEqual([{ kind: 'locked', locked: true }]);
    svc.setLocked(false);
    expect(sent.at(-1)!.intent).toEqual({ kind: 'locked', locked: false });
  });

  it('forwards notices and hang-ups; forgets everything at the end of the session', async () => {
    const { svc } = harness();
    const notices: unknown[] = [];
    const hangUps: unknown[] = [];
    svc.onNotice((n) => notices.push(n));
    svc.onHangUp((h) => hangUps.push(h));
    svc.linkState('ready', true);
    svc.fromGateway({ type: 'operatorNotice', code: 'missed', callId: 'c1' });
    svc.fromGateway({ type: 'operatorHangUp', callId: 'c1', cause: 'no_answer' });
    expect(notices).toEqual([{ code: 'missed', callId: 'c1' }]);
    expect(hangUps).toEqual([{ callId: 'c1', cause: 'no_answer' }]);
    svc.fromGateway({ type: 'operatorState', view: view(4, 'ready') });
    const p = svc.intent({ kind: 'setAvailability', state: 'break' });
    void svc.intent({ kind: 'microphone', available: true });
    svc.reset();
    expect(await p).toEqual({ outcome: 'refused', refusal: 'signed_out' });
    expect(svc.snapshot()).toEqual({ view: null, link: 'offline', pending: [] });
    expect(svc.holdsAnything()).toBe(false);
    expect(await svc.intent({ kind: 'setAvailability', state: 'ready' })).toEqual({ outcome: 'refused', refusal: 'signed_out' });
  });

  it('whatever the order of pushes, answers and link changes: the view held is the newest pushed, every intent settles exactly once', async () => {
    type Op = { t: 'push'; v: number } | { t: 'intent' } | { t: 'answer'; k: number; refuse: boolean } | { t: 'link'; s: 'ready' | 'closed' } | { t: 'timeout'; k: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ t: fc.constant('push' as const), v: fc.nat(30) }),
      fc.constant({ t: 'intent' as const }),
      fc.record({ t: fc.constant('answer' as const), k: fc.nat(20), refuse: fc.boolean() }),
      fc.record({ t: fc.constantFrom('link' as const), s: fc.constantFrom('ready' as const, 'closed' as const) }),
      fc.record({ t: fc.constant('timeout' as const), k: fc.nat(20) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const { svc, sent, timers } = harness();
        let maxPushed = -1;
        const settled = new Map<number, IntentOutcome[]>();
        const promises: Promise<void>[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.t === 'push') {
            svc.fromGateway({ type: 'operatorState', view: view(o.v) });
            maxPushed = Math.max(maxPushed, o.v);
          } else if (o.t === 'intent') {
            const k = n++;
            settled.set(k, []);
            promises.push(svc.intent({ kind: 'setAvailability', state: 'ready' }).then((r) => void settled.get(k)!.push(r)));
          } else if (o.t === 'answer') {
            const m = sent.filter((x) => x.type === 'operator' && x.intent?.kind === 'setAvailability')[o.k];
            if (m) {
              if (o.refuse) svc.fromGateway({ type: 'operatorRefused', id: m.id!, kind: 'setAvailability', refusal: 'locked' });
              else svc.fromGateway({ type: 'operatorState', view: view(0), id: m.id! });
            }
          } else if (o.t === 'link') svc.linkState(o.s, true);
          else timers.filter((x) => !x.cleared)[o.k]?.fn();
        }
        svc.reset();
        await Promise.all(promises);
        for (const outcomes of settled.values()) expect(outcomes).toHaveLength(1);
        expect(svc.snapshot().pending).toEqual([]);
        return true;
      }),
      { numRuns: 200 },
    );
    // and the newest-view rule on its own
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 30 }), (versions) => {
        const { svc } = harness();
        for (const v of versions) svc.fromGateway({ type: 'operatorState', view: view(v) });
        expect(svc.snapshot().view!.version).toBe(Math.max(...versions));
      }),
    );
  });

  it('a view the model produced passes through unchanged', () => {
    const { svc } = harness();
    let s = initialOperatorState(1);
    s = step(s, { type: 'connected', at: 2 }).state;
    s = step(s, { type: 'microphone', at: 3, available: true }).state;
    s = step(s, { type: 'setAvailability', at: 4, state: 'ready' }).state;
    svc.fromGateway({ type: 'operatorState', view: viewOf(s) });
    expect(svc.snapshot().view).toEqual(viewOf(s));
  });

  it('forwards a card pushed with the ring to the renderer and keeps no copy; drops it while locked or the link is down', () => {
    const { svc } = harness();
    const cards: { callId: string }[] = [];
    svc.onCard((c) => cards.push(c));
    const card = { status: 'unknown' as const, blocked: false, campaign: null, customers: [], recentCalls: [], openNotes: [] };
    svc.fromGateway({ type: 'callCard', callId: 'a@x', card }); // link not up: dropped
    svc.linkState('ready', true);
    svc.fromGateway({ type: 'callCard', callId: 'b@x', card });
    svc.setLocked(true);
    svc.fromGateway({ type: 'callCard', callId: 'c@x', card }); // locked: dropped
    svc.setLocked(false);
    expect(cards.map((c) => c.callId)).toEqual(['b@x']);
    svc.reset();
    expect(svc.holdsAnything()).toBe(false);
  });
});
