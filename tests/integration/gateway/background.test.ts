// Background work contains its own failures: the agent registry's wrap-up timer and its
// listeners run outside any request; what fails there is reported (server/background.ts,
// errorSummary: no customer data) and the process goes on, with no unhandled rejection.
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

  it('reports a wrap-up timer whose state change fails, and the registry goes on', async () => {
    const agents = h.gw.ctx.agents;
    await agents.set(who(), 'wrap_up', null, 'client');
    // The database refuses the timer's audit write (as a lost connection would).
    const transaction = h.db.transaction.bind(h.db);
    h.db.transaction = (() => {
      throw new Error('database unavailable (on purpose)');
    }) as typeof h.db.transaction;
    try {
      await new Promise((r) => setTimeout(r, 1_500)); // the 1 s wrap-up ends meanwhile
    } finally {
      h.db.transaction = transaction;
    }
    expect(reports.map((r) => r.what)).toEqual(['agents: wrap-up end']);
    expect((reports[0]!.err as Error).message).toContain('on purpose');
    expect(unhandled).toEqual([]);
    // the registry still works
    const ready = await agents.set(who(), 'ready', null, 'client');
    expect(ready.state).toBe('ready');
  });

  it('reports a listener that throws; the change stands and other listeners still hear it', async () => {
    const agents = h.gw.ctx.agents;
    const heard: string[] = [];
    const offBad = agents.subscribe(() => {
      throw new Error('listener bug (on purpose)');
    });
    const offGood = agents.subscribe((c) => heard.push(c.state));
    try {
      const record = await agents.set(who(), 'break', null, 'client');
      expect(record.state).toBe('break');
    } finally {
      offBad();
      offGood();
    }
    expect(heard).toEqual(['break']);
    expect(reports.map((r) => r.what)).toEqual(['agents: state listener']);
    expect(unhandled).toEqual([]);
  });
});
