// GET /admin/users searches and pages (issue 17: thousands of users): by username, a cursor
// (the last username seen), a limit; `q` = a username prefix or a part of the display name,
// with LIKE's own characters taken literally. Operators and leads are refused by the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../../server/orgs';
import { BACKENDS, setup, type Harness } from './harness';

describe.each(BACKENDS)('user search and paging on %s', (backend) => {
  let h: Harness;
  let admin = '';
  const names: string[] = [];
  beforeAll(async () => {
    h = await setup(backend);
    admin = await h.token(h.users.admin);
    for (let i = 0; i < 23; i++) {
      const username = `pg-${String(i).padStart(2, '0')}`;
      await createUser(h.gw.ctx, { orgId: h.orgId, username, displayName: i === 7 ? '山田 100%_太郎' : `佐藤 ${i}`, role: 'operator', password: 'Sakura-Koe-2026!' });
      names.push(username);
    }
  });
  afterAll(async () => h?.close());

  const list = async (query: string, token = admin) => h.req('GET', `/admin/users${query}`, { token });

  it('pages through every user once, in username order, whatever the page size', async () => {
    const all = (await list('?limit=500')).body.users.map((u: { username: string }) => u.username);
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(names));
    for (const limit of [1, 5, 7, 23]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await list(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.users.length).toBeLessThanOrEqual(limit);
        seen.push(...res.body.users.map((u: { username: string }) => u.username));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(seen, `limit ${limit}`).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / limit));
    }
  });

  it('searches a username prefix or a part of the display name; %, _ and \\ are literal', async () => {
    const found = async (q: string) => (await list(`?limit=500&q=${encodeURIComponent(q)}`)).body.users.map((u: { username: string }) => u.username).sort();
    expect(await found('pg-1')).toEqual(names.filter((n) => n.startsWith('pg-1')));
    expect(await found('山田')).toEqual(['pg-07']);
    expect(await found('100%_')).toEqual(['pg-07']);
    expect(await found('%')).toEqual(['pg-07']);
    expect(await found('_')).toEqual(['pg-07']);
    expect(await found('\\')).toEqual([]);
    expect(await found('g-0')).toEqual([]); // a username matches by its start only
    // search and paging together
    const first = await list('?q=pg-&limit=10');
    expect(first.body.users).toHaveLength(10);
    const second = await list(`?q=pg-&limit=10&cursor=${first.body.nextCursor}`);
    expect(second.body.users[0].username > first.body.nextCursor).toBe(true);
  });

  it('refuses bad queries clearly, and operators and leads entirely', async () => {
    for (const q of ['?limit=0', '?limit=501', '?limit=x', '?cursor=%20bad%20', '?unknown=1', `?q=${'x'.repeat(101)}`]) {
      const res = await list(q);
      expect([res.status, res.body.error.code], q).toEqual([400, 'validation_failed']);
    }
    for (const who of [h.users.operator, h.users.lead]) {
      const res = await list('', await h.token(who));
      expect([res.status, res.body.error.code]).toEqual([403, 'forbidden']);
    }
  });
});
