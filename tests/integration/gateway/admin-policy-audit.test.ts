// The policy lane of the admin console (issue 17) at the gateway: policy and audit routes are
// refused to an operator and a team lead by the gateway; a policy change that would lock its
// author out is refused with a structured `policy_lockout` (which list, which address) and
// changes nothing; the audit filters (source address, action prefix, actor, target, time) and
// keyset paging; another org's entries never show; the chain's status route verifies from its
// checkpoint in bounded slices and finds an entry edited ahead of and behind its frontier.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../../server/audit/audit';
import { auditChainStatus as statusStep, STATUS_BUDGET } from '../../../server/audit/chain-status';
import type { Db } from '../../../server/db/schema';
import type { ManualClock } from '../../../server/clock';

/** One status step with no time bound (the tests assert what a step reaches, not how fast). */
const auditChainStatus = (db: Db, clock: ManualClock, budget = STATUS_BUDGET) => statusStep(db, clock, budget, 600_000);
import { createOrg } from '../../../server/orgs';
import { BACKENDS, setup, tamperAudit, type Harness } from './harness';

describe.each(BACKENDS)('admin policy and audit routes on %s', (backend) => {
  let h: Harness;
  let adminToken: string;
  let orgB: string;
  beforeAll(async () => {
    h = await setup(backend);
    adminToken = await h.token(h.users.admin);
    orgB = await createOrg(h.gw.ctx, 'B株式会社', { deviceBindingRoles: [], totpRequiredRoles: [] });
  });
  afterAll(async () => h?.close());

  const get = (url: string, token = adminToken, ip?: string) => h.req('GET', url, { token, ...(ip ? { ip } : {}) });

  it('refuses every policy and audit route to an operator and a team lead (403 from the gateway), and a refused change changes nothing', async () => {
    const before = await h.ok('GET', '/admin/policy', adminToken);
    for (const who of [h.users.operator, h.users.lead]) {
      const token = await h.token(who);
      for (const url of ['/admin/policy', '/admin/audit', '/admin/audit?sourceIp=10.0.0.1', '/admin/audit/export', '/admin/audit/status']) {
        const res = await get(url, token);
        expect(res.status, `${who.username} ${url}`).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
      const patch = await h.req('PATCH', '/admin/policy', { token, body: { lockout: { maxFailures: 1 } } });
      expect(patch.status).toBe(403);
    }
    expect(await h.ok('GET', '/admin/policy', adminToken)).toEqual(before);
  });

  it('refuses a change that would lock its author out: policy_lockout naming the list and the address; nothing saved or audited', async () => {
    const changed = async () => (await h.auditActions({ action: 'policy.changed' })).length;
    const n = await changed();
    const orgRes = await h.req('PATCH', '/admin/policy', { token: adminToken, ip: '203.0.113.7', body: { ipAllowlist: { org: ['198.51.100.0/24'] } } });
    expect(orgRes.status).toBe(400);
    expect(orgRes.body.error).toMatchObject({ code: 'policy_lockout', lockout: { address: '203.0.113.7', org: true, role: null } });
    expect(orgRes.body.error.message).toContain('203.0.113.7');
    // both lists at once, and the role list of someone else's role does not count
    const both = await h.req('PATCH', '/admin/policy', {
      token: adminToken, ip: '203.0.113.7',
      body: { ipAllowlist: { org: ['198.51.100.0/24'], roles: { admin: ['192.0.2.0/24'], operator: ['192.0.2.0/24'] } } },
    });
    expect(both.body.error).toMatchObject({ code: 'policy_lockout', lockout: { address: '203.0.113.7', org: true, role: 'admin' } });
    // an IPv6 caller inside an IPv4-only list
    const v6 = await h.req('PATCH', '/admin/policy', { token: adminToken, ip: '2001:db8::7', body: { ipAllowlist: { org: ['203.0.113.0/24'] } } });
    expect(v6.body.error).toMatchObject({ code: 'policy_lockout', lockout: { address: '2001:db8::7', org: true } });
    const policy = (await h.ok('GET', '/admin/policy', adminToken)).policy;
    expect(policy.ipAllowlist).toEqual({ org: [], roles: {} });
    expect(await changed()).toBe(n);
    // with the address included it saves (and another role's list is the admin's to set)
    const ok = await h.req('PATCH', '/admin/policy', {
      token: adminToken, ip: '203.0.113.7', body: { ipAllowlist: { org: ['203.0.113.0/24', '10.0.0.0/8', '2001:db8::/32'], roles: { operator: ['192.0.2.0/24'] } } },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await changed()).toBe(n + 1);
    await h.req('PATCH', '/admin/policy', { token: adminToken, ip: '203.0.113.7', body: { ipAllowlist: { org: [], roles: {} } } });
  });

  it('a PATCH of one field keeps every other field of its section (no defaults filled in by the parse)', async () => {
    await h.ok('PATCH', '/admin/policy', adminToken, { lockout: { maxFailures: 7, windowMinutes: 20, lockMinutes: 45 } });
    const after = await h.ok('PATCH', '/admin/policy', adminToken, { lockout: { maxFailures: 4 } });
    expect(after.policy.lockout).toEqual({ maxFailures: 4, windowMinutes: 20, lockMinutes: 45 });
    expect((await h.ok('GET', '/admin/policy', adminToken)).policy.lockout).toEqual({ maxFailures: 4, windowMinutes: 20, lockMinutes: 45 });
    await h.ok('PATCH', '/admin/policy', adminToken, { lockout: { maxFailures: 5, windowMinutes: 15, lockMinutes: 30 } });
  });

  it('filters by source address (IPv4 and IPv6 as the gateway writes them), only the org\'s own entries', async () => {
    await h.signIn(h.users.operator, { ip: '198.51.100.23' });
    await h.signIn(h.users.operator, { ip: '198.51.100.24' });
    await h.signIn(h.users.operator, { ip: '2001:db8:0:0::42' });
    // another org's entry from the same address
    await audit(h.db, h.clock, { action: 'auth.sign_in.success', orgId: orgB, sourceIp: '198.51.100.23' });
    const res = await h.ok('GET', '/admin/audit?sourceIp=198.51.100.23', adminToken);
    expect(res.entries.length).toBeGreaterThan(0);
    for (const e of res.entries) {
      expect(e.sourceIp).toBe('198.51.100.23');
      expect(e.orgId).toBe(h.orgId);
    }
    const v6 = await h.ok('GET', `/admin/audit?sourceIp=${encodeURIComponent('2001:DB8::0:42')}`, adminToken);
    expect(v6.entries.length).toBeGreaterThan(0);
    expect(v6.entries.every((e: { sourceIp: string }) => e.sourceIp === '2001:db8::42')).toBe(true);
    for (const bad of ['10.0.0.0/8', 'not-an-ip', '1.2.3.4; drop table audit_log', '300.1.1.1']) {
      const r = await get(`/admin/audit?sourceIp=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
    }
  });

  it('filters by action prefix (an underscore and a % are taken literally), actor, target and time; pages newest first by seq', async () => {
    for (let i = 0; i < 7; i++) await audit(h.db, h.clock, { action: 'test_x.paged', orgId: h.orgId, target: { type: 'thing', id: `t-${i % 2}` } });
    await audit(h.db, h.clock, { action: 'testAx.paged', orgId: h.orgId }); // "_" as a wildcard would match this
    await audit(h.db, h.clock, { action: 'test%.paged', orgId: h.orgId });
    const prefixed = await h.ok('GET', '/admin/audit?action=test_x.*', adminToken);
    expect(prefixed.entries.map((e: { action: string }) => e.action)).toEqual(Array(7).fill('test_x.paged'));
    const percent = await h.ok('GET', `/admin/audit?action=${encodeURIComponent('test%.*')}`, adminToken);
    expect(percent.entries.map((e: { action: string }) => e.action)).toEqual(['test%.paged']);
    // keyset pages: 3 + 3 + 1, strictly descending, no overlap
    const p1 = (await h.ok('GET', '/admin/audit?action=test_x.*&limit=3', adminToken)).entries;
    const p2 = (await h.ok('GET', `/admin/audit?action=test_x.*&limit=3&before=${p1[2].seq}`, adminToken)).entries;
    const p3 = (await h.ok('GET', `/admin/audit?action=test_x.*&limit=3&before=${p2[2].seq}`, adminToken)).entries;
    const seqs = [...p1, ...p2, ...p3].map((e: { seq: number }) => e.seq);
    expect(seqs.length).toBe(7);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(7);
    const target = await h.ok('GET', '/admin/audit?action=test_x.*&targetId=t-1', adminToken);
    expect(target.entries.length).toBe(3);
    const actor = await h.ok('GET', `/admin/audit?actorUserId=${h.users.admin.id}`, adminToken);
    expect(actor.entries.length).toBeGreaterThan(0);
    expect(actor.entries.every((e: { actorUserId: string }) => e.actorUserId === h.users.admin.id)).toBe(true);
    const future = new Date(h.clock.now().getTime() + 3_600_000).toISOString();
    expect((await h.ok('GET', `/admin/audit?from=${encodeURIComponent(future)}`, adminToken)).entries).toEqual([]);
    // another org's user as the actor answers like one with no entries
    expect((await h.ok('GET', `/admin/audit?actorUserId=${crypto.randomUUID()}`, adminToken)).entries).toEqual([]);
  });

  describe('the chain status', () => {
    const tamper = (statement: string) => tamperAudit(h.db, statement);
    /** The checkpoint back to "nothing verified" (a repaired chain is re-verified from the start). */
    const resetCheckpoint = () =>
      h.db.updateTable('audit_checkpoint')
        .set({ seq: 0, hash: '0'.repeat(64), verified_at: null, sweep_seq: 0, sweep_hash: '0'.repeat(64), sweep_completed_at: null, broken_seq: null, broken_kind: null, broken_at: null })
        .where('id', '=', 1).execute();

    it('verifies from its checkpoint in bounded slices, and answers through the route', async () => {
      await resetCheckpoint();
      const head = Number((await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
      expect(head).toBeGreaterThan(10);
      const first = await auditChainStatus(h.db, h.clock, 4);
      expect(first).toMatchObject({ headSeq: head, verifiedSeq: 4, broken: null });
      const second = await auditChainStatus(h.db, h.clock, 4);
      expect(second.verifiedSeq).toBe(8);
      let res = await h.ok('GET', '/admin/audit/status', adminToken);
      for (let i = 0; i < 100 && res.verifiedSeq < res.headSeq; i++) res = await h.ok('GET', '/admin/audit/status', adminToken);
      expect(res.broken).toBeNull();
      expect(res.verifiedSeq).toBe(res.headSeq);
      expect(res.verifiedAt).toBe(h.clock.now().toISOString());
      // the re-check goes through the whole verified chain once the frontier caught up (each call a time-bounded slice)
      let again = await h.ok('GET', '/admin/audit/status', adminToken);
      for (let i = 0; i < 100 && again.recheckCompletedAt === null; i++) again = await h.ok('GET', '/admin/audit/status', adminToken);
      expect(again.recheckCompletedAt).toBe(h.clock.now().toISOString());
    });

    it('finds an entry edited ahead of the frontier, and keeps reporting it', async () => {
      const status = await h.ok('GET', '/admin/audit/status', adminToken);
      for (let i = 0; i < 3; i++) await audit(h.db, h.clock, { action: 'test.tail', orgId: h.orgId });
      const target = status.headSeq + 2;
      await tamper(`update audit_log set detail = '{"forged": true}'::jsonb where seq = ${target}`);
      try {
        let res = await h.ok('GET', '/admin/audit/status', adminToken);
        for (let i = 0; i < 100 && !res.broken; i++) res = await h.ok('GET', '/admin/audit/status', adminToken);
        expect(res.broken).toMatchObject({ seq: target, kind: 'altered' });
        expect(res.verifiedSeq).toBe(status.headSeq);
        expect((await h.ok('GET', '/admin/audit/status', adminToken)).broken?.seq).toBe(target);
      } finally {
        await tamper(`update audit_log set detail = '{}'::jsonb where seq = ${target}`);
        await resetCheckpoint();
      }
    });

    it('finds an entry edited behind the frontier on the re-check pass', async () => {
      const caughtUp = await auditChainStatus(h.db, h.clock);
      expect(caughtUp.broken).toBeNull();
      expect(caughtUp.verifiedSeq).toBe(caughtUp.headSeq);
      const original = await h.db.selectFrom('audit_log').select('actor_username').where('seq', '=', 3).executeTakeFirstOrThrow();
      await tamper(`update audit_log set actor_username = 'mallory' where seq = 3`);
      try {
        const res = await auditChainStatus(h.db, h.clock);
        expect(res.broken).toMatchObject({ seq: 3, kind: 'altered' });
      } finally {
        await sql`alter table audit_log disable trigger user`.execute(h.db);
        await h.db.updateTable('audit_log').set({ actor_username: original.actor_username }).where('seq', '=', 3).execute();
        await sql`alter table audit_log enable trigger user`.execute(h.db);
        await resetCheckpoint();
      }
    });

    it('finds a tail cut (the head moved back with its entries deleted)', async () => {
      await auditChainStatus(h.db, h.clock);
      const head = await h.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
      const prev = await h.db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', '=', Number(head.seq) - 1).executeTakeFirstOrThrow();
      const last = await h.db.selectFrom('audit_log').selectAll().where('seq', '=', Number(head.seq)).executeTakeFirstOrThrow();
      await tamper(`delete from audit_log where seq = ${Number(head.seq)}`);
      await h.db.updateTable('audit_head').set({ seq: Number(prev.seq), hash: prev.hash }).where('id', '=', 1).execute();
      try {
        const res = await auditChainStatus(h.db, h.clock);
        expect(res.broken).toMatchObject({ seq: Number(head.seq), kind: 'head' });
      } finally {
        await sql`alter table audit_log disable trigger user`.execute(h.db);
        await h.db.insertInto('audit_log').values({ ...last, detail: JSON.stringify(last.detail) }).execute();
        await sql`alter table audit_log enable trigger user`.execute(h.db);
        await h.db.updateTable('audit_head').set({ seq: head.seq, hash: head.hash }).where('id', '=', 1).execute();
        await resetCheckpoint();
      }
      expect((await auditChainStatus(h.db, h.clock)).broken).toBeNull();
    });
  });
});
