// Background work contains its own failures: the operator model's sweeper (deadlines: the
// wrap-up timer here) and the registry's listeners run outside any request; what fails there is
// reported (server/background.ts, errorSummary: no customer data) and the process goes on, with
// no unhandled rejection. (Before issue 12 this drove AgentRegistry.set and an in-memory timer;
// the deadline is now in the stored state and the sweeper feeds `tick`.)
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setBackgroundReporter, type FailureReporter } from '../../../server/background';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('background failures on %s', (backend) => {
  let h: Harness;
  const reports: { what: string; err: unknown }[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let previous: FailureReporter;
  beforeAll(async () => {
    h = await setup(backend);
    h.gw.ctx.agents.close(); // the test drives the sweeper itself, with the injected clock
    await h.patchPolicy({ agents: { wrapUpSeconds: 1 } });
    previous = setBackgroundReporter((what, err) => reports.push({ what, err }));
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    setBackgroundReporter(previous);
    process.off('unhandledRejection', onUnhandled);
    await h?.close();
  });
  afterEach(() => {
    reports.length = 0;
    unhandled.length = 0;
  });

  const who = () => ({ userId: h.users.operator.id, orgId: h.orgId, username: h.users.operator.username });

  it('reports a wrap-up deadline whose tick fails to store, keeps it due, and the next sweep ends it', async () => {
    const agents = h.gw.ctx.agents;
    await agents.apply(who(), { type: 'connected' });
    await agents.apply(who(), { type: 'microphone', available: true });
    await agents.apply(who(), { type: 'setAvailability', state: 'ready' });
    await agents.apply(who(), { type: 'offer', callId: 'bg-1@x' });
    await agents.apply(who(), { type: 'answered', callId: 'bg-1@x' });
    await agents.apply(who(), { type: 'ended', callId: 'bg-1@x', cause: 'completed' });
    expect((await agents.get(who().userId))!.model.agent).toBe('wrap_up');
    h.clock.advance(1_500); // the 1 s wrap-up is due
    // The database refuses the tick's write (as a lost connection would).
    const transaction = h.db.transaction.bind(h.db);
    h.db.transaction = (() => {
      throw new Error('database unavailable (on purpose)');
    }) as typeof h.db.transaction;
    try {
      expect(await agents.sweep()).toBe(1);
    } finally {
      h.db.transaction = transaction;
    }
    expect(reports.map((r) => r.what)).toEqual(['agents: sweeper tick']);
    expect((reports[0]!.err as Error).message).toContain('on purpose');
    expect(unhandled).toEqual([]);
    expect((await agents.get(who().userId))!.model.agent).toBe('wrap_up'); // nothing half-stored
    // the deadline is still due: the next sweep ends the wrap-up
    expect(await agents.sweep()).toBe(1);
    expect((await agents.get(who().userId))!.model.agent).toBe('ready');
  });

  it('reports a listener that throws; the change stands and other listeners still hear it', async () => {
    const agents = h.gw.ctx.agents;
    const heard: string[] = [];
    const offBad = agents.subscribe(() => {
      throw new Error('listener bug (on purpose)');
    });
    const offGood = agents.subscribe((c) => heard.push(c.state.agent));
    try {
      const out = await agents.apply(who(), { type: 'setAvailability', state: 'break' });
      expect(out.kind).toBe('accepted');
      expect((await agents.get(who().userId))!.model.agent).toBe('break');
    } finally {
      offBad();
      offGood();
    }
    expect(heard).toEqual(['break']);
    expect(reports.map((r) => r.what)).toEqual(['agents: state listener']);
    expect(unhandled).toEqual([]);
  });
});
