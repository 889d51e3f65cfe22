// The audit chain: every append links to the previous hash; verify finds the first broken
// link after edits, deletions, reorderings and tail cuts done straight in SQL (as a DB
// superuser would, triggers disabled); concurrent appends never fork the chain.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, canonicalJson, verifyAuditChain } from '../../../server/audit/audit';
import { BACKENDS, setup, tamperAudit, type Harness } from './harness';

describe.each(BACKENDS)('audit chain on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  const tamper = (statement: string) => tamperAudit(h.db, statement);

  /** Snapshot and restore so each tampering test starts from a valid chain. */
  async function withRestore(fn: () => Promise<void>) {
    const rows = await h.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    const head = await h.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    try {
      await fn();
    } finally {
      await sql.raw('alter table audit_log disable trigger user').execute(h.db);
      await h.db.deleteFrom('audit_log').execute();
      for (const r of rows) await h.db.insertInto('audit_log').values({ ...r, detail: JSON.stringify(r.detail) }).execute();
      await h.db.updateTable('audit_head').set({ seq: head.seq, hash: head.hash }).where('id', '=', 1).execute();
      await sql.raw('alter table audit_log enable trigger user').execute(h.db);
    }
  }

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 'ユーザー' }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":"ユーザー","z":1}]},"b":1}');
  });

  it('links every entry and verifies after real gateway activity', async () => {
    await h.signIn(h.users.operator);
    await h.signIn({ username: 'nobody-here', device: null }, { password: 'Wrong-Pass-1!' });
    for (let i = 0; i < 5; i++) await audit(h.db, h.clock, { action: 'test.event', detail: { i, text: '佐藤 花子' } });
    const rows = await h.db.selectFrom('audit_log').select(['seq', 'prev_hash', 'hash']).orderBy('seq').execute();
    expect(rows.length).toBeGreaterThan(8);
    rows.forEach((r, i) => {
      expect(Number(r.seq)).toBe(i + 1);
      if (i > 0) expect(r.prev_hash).toBe(rows[i - 1]!.hash);
    });
    const result = await verifyAuditChain(h.db);
    expect(result).toMatchObject({ ok: true, entries: rows.length });
  });

  it('refuses UPDATE, DELETE and TRUNCATE through the append-only triggers', async () => {
    await expect(sql`update audit_log set action = 'x' where seq = 1`.execute(h.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where seq = 1`.execute(h.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(h.db)).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(h.db)).ok).toBe(true);
  });

  it('reports the first edited entry (detail, actor, time)', async () => {
    for (const [col, value] of [
      ['detail', `'{"i": 99}'::jsonb`],
      ['actor_username', `'mallory'`],
      ['at', `at + interval '1 second'`],
      ['source_ip', `'203.0.113.9'`],
    ] as const) {
      await withRestore(async () => {
        await tamper(`update audit_log set ${col} = ${value} where seq = 4`);
        expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, firstBrokenSeq: 4 });
      });
    }
  });

  it('catches an edit that also recomputes that entry hash (the next link breaks)', async () => {
    await withRestore(async () => {
      const { entryHash, toAuditView } = await import('../../../server/audit/audit');
      await tamper(`update audit_log set action = 'forged' where seq = 3`);
      const row = await h.db.selectFrom('audit_log').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
      const view = toAuditView(row);
      await tamper(`update audit_log set hash = '${entryHash(view.prevHash, view)}' where seq = 3`);
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, firstBrokenSeq: 4 });
    });
  });

  it('reports a deleted entry in the middle', async () => {
    await withRestore(async () => {
      await tamper('delete from audit_log where seq = 5');
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, firstBrokenSeq: 5 });
    });
  });

  it('reports a deleted entry and renumbered successors', async () => {
    await withRestore(async () => {
      await tamper('delete from audit_log where seq = 2');
      await tamper('update audit_log set seq = seq - 1 where seq > 2');
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, firstBrokenSeq: 2 });
    });
  });

  it('reports reordering (two entries swap places)', async () => {
    await withRestore(async () => {
      await tamper('update audit_log set seq = -6 where seq = 6');
      await tamper('update audit_log set seq = 6 where seq = 7');
      await tamper('update audit_log set seq = 7 where seq = -6');
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, firstBrokenSeq: 6 });
    });
  });

  it('reports removal of the newest entries (head ahead of the chain)', async () => {
    await withRestore(async () => {
      const { seq } = await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
      await tamper(`delete from audit_log where seq >= ${Number(seq) - 1}`);
      expect(await verifyAuditChain(h.db)).toMatchObject({ ok: false, firstBrokenSeq: Number(seq) - 1 });
    });
  });

  it('does not fork under concurrent appends', async () => {
    const before = (await verifyAuditChain(h.db)) as { entries: number };
    await Promise.all(Array.from({ length: 40 }, (_, i) => audit(h.db, h.clock, { action: 'test.concurrent', orgId: h.orgId, detail: { i } })));
    const result = await verifyAuditChain(h.db);
    expect(result).toMatchObject({ ok: true, entries: before.entries + 40 });
  });

  it('rolls an audited change back together with its entry', async () => {
    const before = await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
    await expect(
      h.db.transaction().execute(async (tx) => {
        const { appendAudit } = await import('../../../server/audit/audit');
        await appendAudit(tx, h.clock, { action: 'test.rolled_back' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const after = await h.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
    expect(Number(after.seq)).toBe(Number(before.seq));
    expect(await h.auditActions({ action: 'test.rolled_back' })).toEqual([]);
    expect((await verifyAuditChain(h.db)).ok).toBe(true);
  });

  // issue 14: appendAudit in a caller's transaction is chained at its commit (migration 0016's deferred trigger)
  it('chains a transaction\'s entries at its commit, in the order appended, interleaved with other transactions at random', async () => {
    const { appendAudit } = await import('../../../server/audit/audit');
    const before = (await verifyAuditChain(h.db)) as { entries: number; headSeq: number };
    const txs = 12;
    const per = 4;
    // each transaction appends `per` entries with random pauses, so their appends interleave
    await Promise.all(Array.from({ length: txs }, (_, t) =>
      h.db.transaction().execute(async (tx) => {
        for (let k = 0; k < per; k++) {
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 8)));
          await appendAudit(tx, h.clock, { action: 'test.deferred', orgId: h.orgId, detail: { t, k } });
        }
        // before the commit: nothing of this transaction is in the chain yet, and nothing waits on the head
        expect(await tx.selectFrom('audit_log').select('seq').where('action', '=', 'test.deferred').where(sql<boolean>`detail->>'t' = ${String(t)}`).execute()).toEqual([]);
      })));
    const result = await verifyAuditChain(h.db);
    expect(result, JSON.stringify(result)).toMatchObject({ ok: true, entries: before.entries + txs * per });
    const rows = await h.db.selectFrom('audit_log').select(['seq', 'detail']).where('action', '=', 'test.deferred').orderBy('seq').execute();
    expect(rows).toHaveLength(txs * per);
    // one transaction's entries: consecutive sequence numbers, in the order appended (one batched append)
    const byTx = new Map<number, { seq: number; k: number }[]>();
    for (const r of rows) {
      const d = (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as { t: number; k: number };
      byTx.set(d.t, [...(byTx.get(d.t) ?? []), { seq: Number(r.seq), k: d.k }]);
    }
    expect(byTx.size).toBe(txs);
    for (const entries of byTx.values()) {
      expect(entries.map((e) => e.k)).toEqual([0, 1, 2, 3]);
      expect(entries.map((e) => e.seq - entries[0]!.seq)).toEqual([0, 1, 2, 3]);
    }
    // nothing left pending, nothing audited twice
    expect(await h.db.selectFrom('audit_pending').select('id').execute()).toEqual([]);
  });

  it('fails the commit of an audited change whose entry cannot be chained (the change is not stored)', async () => {
    const { appendAudit } = await import('../../../server/audit/audit');
    const head = await h.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    const name = `audit-fault-${crypto.randomUUID()}`;
    await h.db.deleteFrom('audit_head').execute(); // the chain cannot be appended to
    try {
      await expect(
        h.db.transaction().execute(async (tx) => {
          await tx.insertInto('teams').values({ id: crypto.randomUUID(), org_id: h.orgId, name }).execute();
          await appendAudit(tx, h.clock, { action: 'test.unchainable', orgId: h.orgId });
        }),
      ).rejects.toThrow(/chain head row is missing/);
    } finally {
      await h.db.insertInto('audit_head').values({ id: 1, seq: head.seq, hash: head.hash }).execute();
    }
    expect(await h.db.selectFrom('teams').select('id').where('name', '=', name).execute()).toEqual([]);
    expect(await h.auditActions({ action: 'test.unchainable' })).toEqual([]);
    expect(await h.db.selectFrom('audit_pending').select('id').execute()).toEqual([]);
    expect((await verifyAuditChain(h.db)).ok).toBe(true);
  });

  it('admin API filters, pages and exports incrementally with a cursor', async () => {
    const token = await h.token(h.users.admin);
    const filtered = await h.req('GET', '/admin/audit?action=test.concurrent&limit=10', { token });
    expect(filtered.status).toBe(200);
    expect(filtered.body.entries).toHaveLength(10);
    expect(filtered.body.entries.every((e: { action: string }) => e.action === 'test.concurrent')).toBe(true);
    const seqs = filtered.body.entries.map((e: { seq: number }) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    const older = await h.req('GET', `/admin/audit?action=test.concurrent&limit=100&before=${seqs.at(-1)}`, { token });
    expect(older.body.entries).toHaveLength(30);

    const prefix = await h.req('GET', '/admin/audit?action=auth.*&limit=500', { token });
    expect(prefix.body.entries.length).toBeGreaterThan(0);
    expect(prefix.body.entries.every((e: { action: string }) => e.action.startsWith('auth.'))).toBe(true);

    const byActor = await h.req('GET', `/admin/audit?actorUserId=${h.users.admin.id}`, { token });
    expect(byActor.body.entries.length).toBeGreaterThan(0);
    expect(byActor.body.entries.every((e: { actorUserId: string }) => e.actorUserId === h.users.admin.id)).toBe(true);

    const all: number[] = [];
    let cursor = 0;
    for (;;) {
      const page = await h.req('GET', `/admin/audit/export?cursor=${cursor}&limit=7`, { token });
      expect(page.status).toBe(200);
      all.push(...page.body.entries.map((e: { seq: number }) => e.seq));
      if (page.body.nextCursor === cursor) break;
      cursor = page.body.nextCursor;
    }
    // the org's own entries, every one of them, in order; org-less (platform) entries such as
    // the test.event ones above are not the org's to read
    const own = await h.db.selectFrom('audit_log').select('seq').where('org_id', '=', h.orgId).orderBy('seq').execute();
    expect(all).toEqual(own.map((r) => Number(r.seq)));
    const orgLess = await h.db.selectFrom('audit_log').select('seq').where('org_id', 'is', null).execute();
    expect(orgLess.length).toBeGreaterThan(0);
    await audit(h.db, h.clock, { action: 'test.after_export', orgId: h.orgId });
    const next = await h.req('GET', `/admin/audit/export?cursor=${cursor}`, { token });
    expect(next.body.entries.map((e: { action: string }) => e.action)).toContain('test.after_export');
  });

  it('does not let an operator read the audit log', async () => {
    const res = await h.req('GET', '/admin/audit', { token: await h.token(h.users.operator) });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });
});
