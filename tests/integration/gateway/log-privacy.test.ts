// The gateway's real log output (Fastify + pino, written to a stream) while requests make the
// database fail with an error that quotes the customer's data, and while searches carry a card
// number, a customer's name, a phone number and a token in the query string: none of it may
// appear in any log line, on PGlite and on PostgreSQL (server/log.ts says what a line may hold).
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../server/clock';
import { TEST_ARGON2 } from '../../../server/config';
import { createGateway } from '../../../server/gateway';
import { createOrg } from '../../../server/orgs';
import { DEFAULT_ORG_POLICY } from '../../../shared/gateway/policy';
import { BACKENDS, Harness, PASSWORD, openBackend, type Backend } from './harness';

const NAME = '高橋 美咲';
const KANA = 'タカハシ ミサキ';
const EMAIL = 'misaki.takahashi@example.jp';
const NOTE = '住所は港区芝公園4-2-8、ご本人確認済み';
const CARD = '4111 1111 1111 1111';
const PHONE = '080-2468-1357';
const SECRET = 'eyJhbGciOiJIUzI1NiJ9.not-a-real-token-7f3a';
const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] } };

/**
 * The log lines as one text for the "none of the data" checks, without the fields pino and
 * Fastify fill with numbers of their own (the epoch time, the process id, a request's elapsed
 * milliseconds as a float): "4111" or "2468" turn up in those by chance (a run failed on it).
 */
function dataOf(lines: string[]): string {
  return lines
    .map((l) => {
      const { time: _time, pid: _pid, responseTime: _elapsed, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(rest);
    })
    .join('\n');
}

/** A gateway like the harness's, with its logger writing to `lines`. */
async function loggedSetup(backend: Backend, lines: string[]): Promise<Harness> {
  const { db, drop, url } = await openBackend(backend);
  const clock = new ManualClock();
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const gw = await createGateway({
    db,
    clock,
    config: { argon2: TEST_ARGON2, jwt: { secret: 'test-secret-test-secret-test-secret-0123456789' }, authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 }, logLevel: 'debug' },
    logger: { stream },
  });
  const orgId = await createOrg(gw.ctx, 'テスト株式会社');
  await db.updateTable('orgs').set({ policy: JSON.stringify({ ...DEFAULT_ORG_POLICY, totpRequiredRoles: [] }) }).where('id', '=', orgId).execute();
  const h = new Harness(backend, gw, db, clock, orgId, await gw.ctx.hasher.hash(PASSWORD), drop, url);
  h.users.admin = await h.newUser('admin');
  h.users.operator = await h.newUser('operator');
  return h;
}

describe.each(BACKENDS)('log lines carry no customer data, query values or SQL parameters on %s', (backend) => {
  const lines: string[] = [];
  let h: Harness;
  let admin: string;
  let op: string;
  let campaignId: string;
  let customerId: string;
  const ok = (method: string, url: string, token: string, body?: unknown) => h.ok(method, url, token, body);

  beforeAll(async () => {
    h = await loggedSetup(backend, lines);
    admin = await h.token(h.users.admin);
    op = await h.token(h.users.operator);
    campaignId = (await ok('POST', '/campaigns', admin, { name: 'みどり電力', dids: ['0120-333-444'], hours: HOURS, dispositions: ['解決'] })).id;
    await ok('PUT', `/campaigns/${campaignId}/assignments`, admin, { userIds: [h.users.operator.id] });
    customerId = (await ok('POST', '/customers', admin, { campaignId, nameKanji: NAME, nameKana: KANA, phones: [PHONE], email: EMAIL })).id;
    // From here on the database refuses new notes and customers with errors that quote the
    // values the way PostgreSQL does (message, detail, hint): a broken constraint, a bad cast.
    await sql
      .raw(
        `create function koe_test_refuse() returns trigger language plpgsql as $$
         begin
           if tg_table_name = 'notes' then
             raise exception 'invalid input syntax for type uuid: "%"', new.body using detail = 'Failing row contains (' || new.body || ').', hint = new.body;
           end if;
           raise exception 'insert or update violates foreign key constraint: "%"', new.name_kanji using detail = 'Key (email)=(' || coalesce(new.email, '') || ') is not present.', errcode = '23503';
         end $$`,
      )
      .execute(h.db);
    await sql.raw(`create trigger koe_test_refuse before insert on notes for each row execute function koe_test_refuse()`).execute(h.db);
    await sql.raw(`create trigger koe_test_refuse before insert on customers for each row execute function koe_test_refuse()`).execute(h.db);
  }, 120_000);
  afterAll(async () => h?.close());

  it('a failing insert answers 500 and logs the error without its values; searches log parameter names only', async () => {
    lines.length = 0;
    const note = await h.req('POST', '/notes', { token: op, body: { clientNoteId: randomUUID(), customerId, body: NOTE } });
    expect(note.status).toBe(500);
    const customer = await h.req('POST', '/customers', { token: admin, body: { campaignId, nameKanji: NAME, nameKana: KANA, email: EMAIL } });
    expect(customer.status).toBe(500);

    const q = (s: string) => encodeURIComponent(s);
    expect((await h.req('GET', `/customers/search?q=${q(CARD)}&limit=5`, { token: op })).status).toBe(200);
    expect((await h.req('GET', `/customers/search?q=${q(NAME)}`, { token: op })).status).toBe(200);
    expect((await h.req('GET', `/customers/search?q=${q(KANA)}&access_token=${SECRET}`, { token: op })).status).toBe(400);
    expect((await h.req('GET', `/customers/lookup?phone=${q(PHONE)}`, { token: op })).status).toBe(200);
    expect((await h.req('GET', `/customers/${q(EMAIL)}`, { token: op })).status).toBe(400);
    expect((await h.req('GET', `/no-such-route/${q(NAME)}?q=${q(EMAIL)}`, { token: op })).status).toBe(404);

    const out = lines.join('');
    // the lines are there, and say what happened
    const errors = lines.map((l) => JSON.parse(l) as { msg?: string; err?: { code?: string }; req?: { url?: string } }).filter((l) => l.msg === 'unexpected error');
    expect(errors).toHaveLength(2);
    expect(errors.map((e) => e.err?.code)).toEqual(['P0001', '23503']);
    expect(out).toContain('"url":"/customers/search?q=*&limit=5"');
    expect(out).toContain('"url":"/customers/lookup?phone=*"');
    // and none of the data
    const data = dataOf(lines);
    const forbidden = [NAME, KANA, EMAIL, NOTE, '港区', 'misaki', SECRET, 'Bearer', op, '4111', '1111 1111', PHONE, '2468', q(NAME), q(KANA), q(EMAIL), q(CARD), 'insert into', 'Failing row', 'Key (email)'];
    for (const s of forbidden) expect(data, `a log line holds ${JSON.stringify(s)}`).not.toContain(s);
  });

  it('a /ws message that is not JSON is refused, and logged as what it was without its text', async () => {
    const base = (await h.gw.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    lines.length = 0;
    const ws = new WebSocket(`${base}/ws`);
    await once(ws, 'open');
    const answer = once(ws, 'message');
    const closed = once(ws, 'close');
    // text that JSON.parse quotes back in its message ("Unexpected token ..., "..." is not valid JSON")
    ws.send(`${SECRET} ${NAME} ${CARD} ${EMAIL} {"type":"auth"`);
    expect(JSON.parse(String((await answer)[0]))).toMatchObject({ type: 'error', code: 'validation_failed', message: 'not JSON' });
    expect((await closed)[0]).toBe(4400);
    const warned = lines.map((l) => JSON.parse(l) as { msg?: string; level?: number; err?: { type?: string } }).filter((l) => l.msg === 'ws: the client sent a message that is not JSON');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, err: { type: 'SyntaxError' } });
    const out = dataOf(lines);
    for (const s of [SECRET, 'eyJ', NAME, '4111', EMAIL, '"type\\":\\"auth']) expect(out, `a log line holds ${JSON.stringify(s)}`).not.toContain(s);
  });
});
