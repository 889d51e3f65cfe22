// What `npm run demo-call` tells the person at the terminal about the call (deploy/demo-call-outcome.ts),
// from baresip's events as the caller sees them (the CALL_CLOSED params are baresip's, e.g. "480 Closed").
import { describe, expect, it } from 'vitest';
import { callOutcome, type CallEvent } from '../../deploy/demo-call-outcome';

const T0 = 1_000_000;
const ev = (type: string, s: number, param?: string): CallEvent => ({ type, at: T0 + s * 1000, ...(param ? { param } : {}) });
const outcome = (events: CallEvent[], o: { answeredBy?: string | null; hungUpByCaller?: boolean } = {}) =>
  callOutcome(events, { startedAt: T0, answeredBy: o.answeredBy ?? null, hungUpByCaller: o.hungUpByCaller ?? false });

describe('demo-call outcome', () => {
  it('answered: by whom and after how long', () => {
    expect(outcome([ev('CALL_RINGING', 0.5), ev('CALL_ESTABLISHED', 4.2)], { answeredBy: 'sato.hanako' })).toEqual({
      kind: 'answered',
      message: 'answered by sato.hanako after 4.2 s',
      sipCode: 200,
    });
  });

  it('answered after the queue: how long of it was waiting; an operator the stack did not name', () => {
    expect(outcome([ev('CALL_PROGRESS', 0.3), ev('CALL_RINGING', 9), ev('CALL_ESTABLISHED', 12.3)]).message).toBe('answered by an operator after 12.3 s (12.0 s of it in the queue)');
  });

  it.each([
    ['480 Closed', 'closed', 480, 'refused (480 Closed): the campaign is closed now'],
    ['603 Decline', 'blocked', 603, "refused (603 Decline): the caller's number is on the campaign's block list"],
    ['486 Busy Here', 'busy', 486, 'busy (486 Busy Here)'],
    ['404 Not Found', 'unknown_did', 404, "refused (404 Not Found): the number dialled is no campaign's DID"],
    ['408 Request Timeout', 'no_answer', 408, 'no answer after 30.0 s (408 Request Timeout)'],
    ['500 Server Error', 'failed', 500, 'failed with SIP 500 Server Error after 30.0 s'],
  ])('refused with %s: %s', (param, kind, sipCode, message) => {
    const o = outcome([ev('CALL_CLOSED', 30, param)]);
    expect(o).toMatchObject({ kind, sipCode });
    expect(o.message).toContain(message);
  });

  it('480 after the queue: it waited, then nobody took it (queue full or the longest wait passed)', () => {
    const o = outcome([ev('CALL_PROGRESS', 0.4), ev('CALL_CLOSED', 120.4, '480 Temporarily Unavailable')]);
    expect(o).toMatchObject({ kind: 'queue_gave_up', sipCode: 480 });
    expect(o.message).toBe("not answered: waited 120.0 s in the campaign's queue, then 480 Temporarily Unavailable (queue full or the longest wait passed; nobody ready took it)");
  });

  it('480 after ringing: nobody took it; 480 at once: is anyone ready?', () => {
    expect(outcome([ev('CALL_RINGING', 0.4), ev('CALL_CLOSED', 30.4, '480 Temporarily Unavailable')]).message).toBe(
      "no answer: an operator's phone rang, nobody took it (480 Temporarily Unavailable)",
    );
    expect(outcome([ev('CALL_CLOSED', 0.2, '480 Temporarily Unavailable')]).message).toContain('is one signed in and ready (受付可)?');
  });

  it('the caller hung up first: cancelled, with or without a SIP code', () => {
    expect(outcome([ev('CALL_RINGING', 1), ev('CALL_CLOSED', 5, 'Connection reset by user')], { hungUpByCaller: true })).toEqual({
      kind: 'cancelled',
      message: 'you hung up after 5.0 s, before anyone answered',
      sipCode: null,
    });
    expect(outcome([ev('CALL_CLOSED', 5, '487 Request Terminated')], { hungUpByCaller: true }).kind).toBe('cancelled');
  });

  it('closed without a SIP code and not by the caller: failed, with what baresip said', () => {
    expect(outcome([ev('CALL_CLOSED', 2, 'Connection timed out')])).toEqual({
      kind: 'failed',
      message: "failed after 2.0 s: Connection timed out (see the stack's kamailio.log)",
      sipCode: null,
    });
  });

  it('nothing final yet: pending', () => {
    expect(outcome([ev('CALL_RINGING', 1)]).kind).toBe('pending');
  });
});
