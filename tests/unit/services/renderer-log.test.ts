// The renderer's log channel (log:failure): through the IPC guard like every channel
// (sender, contract), scrubbed and rate-limited in main so a renderer can neither write a
// secret or a customer's data into main's log nor flood it.
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers } from '../../../main/services';
import { RENDERER_LOG_BURST, RendererLog, scrubErrorName, scrubWhat } from '../../../main/services/renderer-log';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function setup() {
  const s = await makeServices();
  dirs.push(s.userDataDir);
  const main = recordingLogger();
  const written = recordingLogger();
  s.rendererLog = new RendererLog(written.log, () => s.clock.now());
  const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, main.log);
  return { s, dispatch, written: written.records, guard: main.records };
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIzMzMzIn0.c2lnbmF0dXJlLW9mLWEtdG9rZW4';
const SECRETS = [
  JWT,
  'refresh-token-of-user-a-0123456789',
  'misaki.takahashi@example.jp',
  '09012345678',
  '+81345001001',
  '4111 1111 1111 1111',
  '高橋 美咲',
  'ヤマダ タロウ',
  'https://gw.example/customers?q=yamada',
];

describe('log:failure through the IPC guard', () => {
  it('writes one scrubbed line with what failed and the error name', async () => {
    const { dispatch, written } = await setup();
    const r = await dispatch(APP_SENDER, 'log:failure', { what: 'ending a call at sign-out', errorName: 'InvalidStateError' });
    expect(r).toEqual({ ok: true, value: { logged: true } });
    expect(written).toEqual([{ level: 'warn', message: 'renderer: a step failed', fields: { what: 'ending a call at sign-out', error: 'InvalidStateError' } }]);
  });

  it('refuses another sender, and bad payloads (missing, too long, extra keys), before anything is written', async () => {
    const { dispatch, written } = await setup();
    const bad = [
      [{ url: 'https://evil.example/', isMainFrame: true }, { what: 'x', errorName: 'Error' }, 'forbidden_sender'],
      [{ ...APP_SENDER, isMainFrame: false }, { what: 'x', errorName: 'Error' }, 'forbidden_sender'],
      [APP_SENDER, { what: 'x'.repeat(201), errorName: 'Error' }, 'invalid_payload'],
      [APP_SENDER, { what: 'x', errorName: 'E'.repeat(65) }, 'invalid_payload'],
      [APP_SENDER, { what: '', errorName: 'Error' }, 'invalid_payload'],
      [APP_SENDER, { what: 'x', errorName: 'Error', message: JWT }, 'invalid_payload'],
      [APP_SENDER, { what: 'x' }, 'invalid_payload'],
      [APP_SENDER, 'x', 'invalid_payload'],
    ] as const;
    for (const [sender, input, code] of bad) {
      const r = await dispatch(sender, 'log:failure', input);
      expect(r).toMatchObject({ ok: false, error: { code } });
    }
    expect(written).toEqual([]);
  });

  it('is allowed while locked (a failure during the lock is still worth a line) and writes nothing else', async () => {
    const { s } = await setup();
    const written = recordingLogger();
    s.rendererLog = new RendererLog(written.log, () => s.clock.now());
    const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, recordingLogger().log, () => true);
    expect(await dispatch(APP_SENDER, 'log:failure', { what: 'playing the ring tone', errorName: 'NotAllowedError' })).toEqual({ ok: true, value: { logged: true } });
    expect(written.records).toHaveLength(1);
  });
});

describe('rate limit', () => {
  it(`a burst of ${RENDERER_LOG_BURST} passes, then one a second; what is dropped is counted in the next line`, async () => {
    const { s, dispatch, written } = await setup();
    const send = () => dispatch(APP_SENDER, 'log:failure', { what: 'a loop that fails', errorName: 'TypeError' });
    const answers = [];
    for (let i = 0; i < 500; i++) answers.push(await send());
    expect(answers.filter((a) => a.ok && (a.value as { logged: boolean }).logged)).toHaveLength(RENDERER_LOG_BURST);
    expect(written).toHaveLength(RENDERER_LOG_BURST);
    s.clock.advance(999);
    expect(await send()).toEqual({ ok: true, value: { logged: false } });
    s.clock.advance(1);
    expect(await send()).toEqual({ ok: true, value: { logged: true } });
    expect(written.at(-2)).toEqual({ level: 'warn', message: 'renderer: failures dropped by the rate limit', fields: { dropped: 481 } });
    // ten minutes of silence refill the burst, not more
    s.clock.advance(600_000);
    for (let i = 0; i < 100; i++) await send();
    expect(written).toHaveLength(RENDERER_LOG_BURST + 2 + RENDERER_LOG_BURST);
  });

  it('a clock that goes back does not mint tokens', () => {
    let t = 1_000_000;
    const { log, records } = recordingLogger();
    const rl = new RendererLog(log, () => t, 2, 1);
    rl.report({ what: 'a', errorName: 'E' });
    rl.report({ what: 'a', errorName: 'E' });
    t -= 100_000;
    expect(rl.report({ what: 'a', errorName: 'E' })).toEqual({ logged: false });
    expect(records).toHaveLength(2);
  });
});

describe('no secrets or customer data written', () => {
  it.each(SECRETS)('%s in what, errorName or both never reaches the log', async (secret) => {
    const { dispatch, written } = await setup();
    await dispatch(APP_SENDER, 'log:failure', { what: `saving the note of ${secret} for "${secret}"`, errorName: secret.slice(0, 64) });
    await dispatch(APP_SENDER, 'log:failure', { what: secret, errorName: 'Error' });
    expect(written).toHaveLength(2);
    const text = JSON.stringify(written);
    expect(text).not.toContain(secret);
    for (const part of secret.split(/[\s.?=/]+/).filter((p) => p.length >= 5)) expect(text).not.toContain(part);
  });

  it('property: a secret embedded anywhere in a plain phrase is cut out', () => {
    const secret = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{20,60}$/),
      fc.stringMatching(/^[0-9]{5,15}$/),
      fc.stringMatching(/^[a-z]{2,10}@[a-z]{2,10}\.[a-z]{2,3}$/),
      fc.string({ unit: fc.constantFrom(...'高橋美咲ヤマダタロウ山田太郎佐々木一郎'), minLength: 1, maxLength: 8 }),
    );
    const words = fc.array(fc.constantFrom('saving', 'a', 'note', 'for', 'the', 'call', 'failed', 'at', 'sign-out'), { maxLength: 6 });
    fc.assert(
      fc.property(words, secret, words, (before, s, after) => {
        const out = scrubWhat([...before, s, ...after].join(' '));
        expect(out).not.toContain(s);
        expect(out.length).toBeLessThanOrEqual(160);
      }),
    );
  });

  it('keeps the code’s own words readable', () => {
    expect(scrubWhat('ending a call at sign-out')).toBe('ending a call at sign-out');
    expect(scrubWhat('playing the ring tone (attempt 2)')).toBe('playing the ring tone (attempt 2)');
    expect(scrubErrorName('NotAllowedError')).toBe('NotAllowedError');
    expect(scrubErrorName('Error: token abc')).toBe('invalid-name');
    expect(scrubWhat('line\nbreak\u0000')).not.toMatch(/[\n\u0000]/);
  });
});
