// What a log line may say about an error (server/log.ts errorSummary, safeMessage and the
// pino hook every log call passes through), with real driver errors: PGlite attaches the
// query and its parameters to its errors, PostgreSQL quotes the refused input in messages
// and puts values in detail/hint/where.
import { Writable } from 'node:stream';
import { Kysely, sql } from 'kysely';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/connect';
import { errorSummary, logMethod, logSerializers, safeMessage } from '../../server/log';

const NAME = '高橋 美咲';
const EMAIL = 'misaki.takahashi@example.jp';
const NOTE = '住所は港区芝公園4-2-8、暗証番号の話あり';

describe('safeMessage', () => {
  it.each([
    ['invalid input syntax for type uuid: "高橋 美咲"', 'invalid input syntax for type uuid: "…"'],
    ['value "misaki.takahashi@example.jp" is too long', 'value "…" is too long'],
    ['Unexpected token \'a\', "abc" is not valid JSON', "Unexpected token '…', \"…\" is not valid JSON"],
    ['cut short: "高橋 美', 'cut short: "…'],
    ['Key (email)=(misaki.takahashi@example.jp) already exists', 'Key (…)=(…) already exists'],
    ['mail misaki.takahashi@example.jp failed', 'mail …@… failed'],
    ['card 4111 1111 1111 1111 refused', 'card **** **** **** 1111 refused'],
    ['phone 09012345678 refused', 'phone … refused'],
    ['Route GET:/customers/search?q=%E9%AB%98 not found', 'Route GET:/customers/search?… not found'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'connect ECONNREFUSED 127.0.0.1:5432'],
    ['Server listening at http://127.0.0.1:30000', 'Server listening at http://127.0.0.1:30000'],
  ])('%s', (input, expected) => {
    expect(safeMessage(input)).toBe(expected);
  });
  it('is bounded', () => {
    expect(safeMessage('x'.repeat(10_000)).length).toBeLessThanOrEqual(300);
  });
});

describe('errorSummary', () => {
  it('drops what a PGlite error carries: the query, its parameters, and quoted values in the message', async () => {
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    try {
      await sql`create table people (id uuid primary key, name text not null, email text)`.execute(db);
      let caught: unknown;
      try {
        await sql`insert into people (id, name, email) values (${NAME}::uuid, ${NAME}, ${EMAIL})`.execute(db);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(Error);
      // the dialect stripped the query and parameters from the error itself (server/db/pglite-dialect.ts)
      expect(Object.keys(caught as object)).not.toContain('params');
      expect(Object.keys(caught as object)).not.toContain('query');
      const summary = JSON.stringify(errorSummary(caught));
      expect(summary).toContain('22P02'); // invalid_text_representation: the code stays
      for (const secret of [NAME, EMAIL, '高橋', 'insert into']) expect(summary).not.toContain(secret);

      // a unique violation: PostgreSQL puts the value in `detail`, the constraint name is kept
      await sql`create unique index people_email on people (email)`.execute(db);
      await sql`insert into people (id, name, email) values (gen_random_uuid(), ${NAME}, ${EMAIL})`.execute(db);
      const dup = await sql`insert into people (id, name, email) values (gen_random_uuid(), ${NAME}, ${EMAIL})`.execute(db).catch((e: unknown) => e);
      expect((dup as { detail?: string }).detail).toContain(EMAIL); // the driver has it...
      const s = errorSummary(dup);
      expect(s.code).toBe('23505');
      expect(JSON.stringify(s)).not.toContain(EMAIL); // ...the log line does not
      expect(JSON.stringify(s)).not.toContain(NAME);
    } finally {
      await db.destroy();
    }
  }, 60_000);

  it('drops detail, hint, where, internalQuery, parameters and any other property; keeps identifiers and frames', () => {
    const err = Object.assign(new Error(`invalid input syntax for type uuid: "${NAME}"`), {
      code: '22P02',
      detail: `Failing row contains (${NOTE}).`,
      hint: EMAIL,
      where: `PL/pgSQL function f() line 3 at RAISE: ${NOTE}`,
      internalQuery: `select '${EMAIL}'`,
      parameters: [NAME, EMAIL],
      table: 'customers',
      column: 'email',
      constraint: 'customers_email_key',
      cause: new Error(`inner "${EMAIL}"`),
    });
    const s = errorSummary(err);
    expect(s).toMatchObject({ type: 'Error', code: '22P02', table: 'customers', column: 'email', constraint: 'customers_email_key', cause: { message: 'inner "…"' } });
    expect(s.stack).toMatch(/^at /);
    const text = JSON.stringify(s);
    for (const secret of [NAME, EMAIL, NOTE, '港区']) expect(text).not.toContain(secret);
  });

  it('a message that spans lines does not reach the log through the stack', () => {
    const err = new Error(`first line\n${EMAIL}\n${NAME}`);
    const text = JSON.stringify(errorSummary(err));
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(NAME);
  });
});

describe('the pino hook and serializers (every log call)', () => {
  function logger() {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const log = pino({ serializers: logSerializers as never, hooks: { logMethod: logMethod as never } }, stream);
    return { log, text: () => lines.join('') };
  }

  it('an Error logged directly, or under err, or its message used as the log message, is summarised', () => {
    const { log, text } = logger();
    const err = Object.assign(new Error(`invalid input syntax for type uuid: "${NAME}"`), { params: [NAME, EMAIL], query: 'insert into customers ...' });
    log.error(err);
    log.error({ err }, err.message);
    log.warn(`Route GET:/customers/search?q=${encodeURIComponent(NAME)} not found`);
    const out = text();
    expect(out).toContain('invalid input syntax for type uuid');
    for (const secret of [NAME, EMAIL, 'insert into', encodeURIComponent(NAME)]) expect(out).not.toContain(secret);
  });
});
