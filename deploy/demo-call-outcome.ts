// What became of a demo call (`npm run demo-call`), from the caller's side only: the events
// baresip reported (provisional responses, the answer, the final response or the hang-up), each
// with its time. Pure, so each outcome has a test (tests/unit/demo-call-outcome.test.ts).

/** One baresip call event as `npm run demo-call` saw it (`param`: e.g. "480 Closed"), `at` in ms. */
export interface CallEvent {
  type: string;
  param?: string;
  at: number;
}

export type OutcomeKind = 'answered' | 'closed' | 'blocked' | 'busy' | 'unknown_did' | 'queue_gave_up' | 'no_answer' | 'cancelled' | 'failed' | 'pending';

export interface Outcome {
  kind: OutcomeKind;
  /** One line a newcomer understands: what happened, and what to do about it. */
  message: string;
  /** The SIP final response that ended it, when there was one. */
  sipCode: number | null;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * `startedAt`: when the INVITE went out; `answeredBy`: the operator's username when the stack
 * told (null: not known); `hungUpByCaller`: the person at the terminal pressed Enter.
 */
export function callOutcome(events: readonly CallEvent[], o: { startedAt: number; answeredBy: string | null; hungUpByCaller: boolean }): Outcome {
  const established = events.find((e) => e.type === 'CALL_ESTABLISHED');
  const queued = events.find((e) => e.type === 'CALL_PROGRESS');
  const rang = events.some((e) => e.type === 'CALL_RINGING');
  if (established) {
    const who = o.answeredBy ? `by ${o.answeredBy}` : 'by an operator';
    const waited = queued ? ` (${seconds(established.at - queued.at)} of it in the queue)` : '';
    return { kind: 'answered', message: `answered ${who} after ${seconds(established.at - o.startedAt)}${waited}`, sipCode: 200 };
  }
  const closed = events.find((e) => e.type === 'CALL_CLOSED');
  if (!closed) return { kind: 'pending', message: 'no answer yet', sipCode: null };
  const after = seconds(closed.at - o.startedAt);
  const param = (closed.param ?? '').trim();
  const m = /^([1-6]\d\d)\b\s*(.*)$/.exec(param);
  if (!m) {
    if (o.hungUpByCaller) return { kind: 'cancelled', message: `you hung up after ${after}, before anyone answered`, sipCode: null };
    return { kind: 'failed', message: `failed after ${after}: ${param || 'no reason given'} (see the stack's kamailio.log)`, sipCode: null };
  }
  const code = Number(m[1]);
  const status = `${code}${m[2] ? ` ${m[2]}` : ''}`;
  switch (code) {
    case 404:
      return { kind: 'unknown_did', message: `refused (${status}): the number dialled is no campaign's DID; dial one the stack lists`, sipCode: code };
    case 486:
      return { kind: 'busy', message: `busy (${status}): the operator was busy and nobody else could take it`, sipCode: code };
    case 603:
      return { kind: 'blocked', message: `refused (${status}): the caller's number is on the campaign's block list`, sipCode: code };
    case 487:
      return { kind: 'cancelled', message: `you hung up after ${after}, before anyone answered (${status})`, sipCode: code };
    case 408:
      return { kind: 'no_answer', message: `no answer after ${after} (${status})`, sipCode: code };
    case 480:
      if (/closed/i.test(m[2] ?? '')) return { kind: 'closed', message: `refused (${status}): the campaign is closed now (its hours are in Japan time)`, sipCode: code };
      if (queued) {
        return {
          kind: 'queue_gave_up',
          message: `not answered: waited ${seconds(closed.at - queued.at)} in the campaign's queue, then ${status} (queue full or the longest wait passed; nobody ready took it)`,
          sipCode: code,
        };
      }
      if (rang) return { kind: 'no_answer', message: `no answer: an operator's phone rang, nobody took it (${status})`, sipCode: code };
      return { kind: 'no_answer', message: `not answered (${status}): no operator could take it; is one signed in and ready (受付可)?`, sipCode: code };
    default:
      return { kind: 'failed', message: `failed with SIP ${status} after ${after}`, sipCode: code };
  }
}
