// The audit chain verified in the background (issue 17: the console shows the chain's status at
// any size): the gateway's ChainVerifier takes the status route's bounded step on a timer, so
// the status an admin opens is already current; a step never overlaps another; an entry altered
// behind the verified point is found by a later step; a failing step is reported, not thrown.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVerifier } from '../../../server/audit/chain-status';
import { BACKENDS, setup, tamperAudit, type Harness } from './harness';

describe.each(BACKENDS)('background audit chain verification on %s', (backend) => {
  let h: Harness;
  let adminToken: string;
  beforeAll(async () => {
    h = await setup(backend);
    adminToken = await h.token(h.users.admin);
  });
  afterAll(async () => h?.close());

  it('keeps the status current without anyone asking, finds an altered entry, and contains failures', async () => {
    // entries to verify: a few admin actions
    for (let i = 0; i < 5; i++) await h.ok('PATCH', '/admin/policy', adminToken, { lockout: { maxFailures: 5 + i } });
    const failures: string[] = [];
    const verifier = new ChainVerifier(h.db, h.clock, 0, (what) => failures.push(what));
    // two steps asked at once are one step
    const a = verifier.step();
    expect(verifier.step()).toBe(a);
    await a;
    const head = Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
    const cp = await h.db.selectFrom('audit_checkpoint').selectAll().executeTakeFirstOrThrow();
    expect(Number(cp.seq)).toBe(head); // verified to the head by the background step alone
    expect(cp.broken_seq).toBeNull();

    // an entry behind the verified point is altered: a later background step finds it
    await tamperAudit(h.db, `update audit_log set detail = '{"forged": true}'::jsonb where seq = 2`);
    for (let i = 0; i < 5 && (await h.db.selectFrom('audit_checkpoint').select('broken_seq').executeTakeFirstOrThrow()).broken_seq === null; i++) await verifier.step();
    const status = await h.ok('GET', '/admin/audit/status', adminToken);
    expect(status).toMatchObject({ broken: { seq: 2 } });
    expect(failures).toEqual([]);

    // a step that fails (the checkpoint row gone) is reported by name, and the verifier goes on
    const broken = new ChainVerifier(h.db, h.clock, 0, (what) => failures.push(what));
    await sql.raw('alter table audit_checkpoint rename to audit_checkpoint_away').execute(h.db);
    try {
      await broken.step();
    } finally {
      await sql.raw('alter table audit_checkpoint_away rename to audit_checkpoint').execute(h.db);
    }
    expect(failures).toEqual(['audit: verifying the chain in the background']);
    await broken.close();
    await verifier.close();
  });
});
