// The lead's board as the lead arranges it (issue 18 item 9): which rows show, in what order,
// and which ones need a look (a raised hand, over the org's thresholds, a missed call). Pure:
// the component holds the choices in its state and passes the clock.
// A raised hand nobody acknowledged yet comes first whatever the sort (longest raised first):
// an operator asking for help must not be below the fold of a long board; once a lead
// acknowledged it, the row keeps its highlight and its place in the lead's order.
import type { BoardOperator } from '../../../../shared/gateway/supervision';
import type { BoardPolicy } from '../../../../shared/gateway/policy';

export const SORT_KEYS = ['name', 'state', 'timeInState', 'callTime'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface BoardSort { key: SortKey; direction: 'ascending' | 'descending' }

/** The state filter's choices; "not ready" takes break too (both are the operator away from calls); "hand": a raised hand, whatever the state. */
export const STATE_FILTERS = ['all', 'hand', 'ready', 'on_call', 'wrap_up', 'not_ready', 'offline'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

export type BoardFlag = 'hand' | 'longCall' | 'longWrapUp' | 'longNotReady' | 'missed';

/** The order of states when sorting by state: the ones a lead acts on first. */
const STATE_ORDER: Record<BoardOperator['state'], number> = { on_call: 0, wrap_up: 1, ready: 2, not_ready: 3, break: 4, offline: 5 };

function matchesState(o: BoardOperator, filter: StateFilter): boolean {
  if (filter === 'all') return true;
  if (filter === 'hand') return Boolean(o.hand);
  if (filter === 'not_ready') return o.state === 'not_ready' || o.state === 'break';
  return o.state === filter;
}

/** Milliseconds since an ISO time (null: unknown, sorted last). */
function elapsed(iso: string | null | undefined, now: number): number | null {
  return iso ? Math.max(0, now - Date.parse(iso)) : null;
}

function compare(a: BoardOperator, b: BoardOperator, key: SortKey, now: number, collator: Intl.Collator): number {
  switch (key) {
    case 'name':
      return collator.compare(a.displayName, b.displayName);
    case 'state':
      return STATE_ORDER[a.state] - STATE_ORDER[b.state];
    case 'timeInState':
    case 'callTime': {
      const x = key === 'callTime' ? elapsed(a.call?.since, now) : elapsed(a.since, now);
      const y = key === 'callTime' ? elapsed(b.call?.since, now) : elapsed(b.since, now);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      return x - y;
    }
  }
}

/** The rows shown: filtered by name (display or user name, case-insensitive) and state, then sorted (ties by name). */
export function arrangeBoard(
  operators: readonly BoardOperator[],
  opts: { text: string; state: StateFilter; sort: BoardSort; now: number; language: string },
): BoardOperator[] {
  const collator = new Intl.Collator(opts.language, { sensitivity: 'base', numeric: true });
  const needle = opts.text.trim().toLocaleLowerCase();
  const sign = opts.sort.direction === 'ascending' ? 1 : -1;
  return operators
    .filter((o) => matchesState(o, opts.state))
    .filter((o) => !needle || o.displayName.toLocaleLowerCase().includes(needle) || o.username.toLocaleLowerCase().includes(needle))
    .sort((a, b) => {
      // a hand waiting for a lead first, the longest waiting first
      const wa = waitingHand(a);
      const wb = waitingHand(b);
      if (wa !== null || wb !== null) {
        if (wa === null || wb === null) return wa === null ? 1 : -1;
        if (wa !== wb) return wa - wb;
      }
      const byKey = compare(a, b, opts.sort.key, opts.now, collator);
      // unknown times stay last whichever the direction
      const unknownLast = opts.sort.key === 'callTime' || opts.sort.key === 'timeInState';
      if (unknownLast && byKey !== 0) {
        const ka = opts.sort.key === 'callTime' ? a.call?.since : a.since;
        const kb = opts.sort.key === 'callTime' ? b.call?.since : b.since;
        if (!ka || !kb) return byKey;
      }
      return sign * byKey || collator.compare(a.displayName, b.displayName);
    });
}

/** When this operator's hand went up, if no lead acknowledged it yet (ms), else null. */
function waitingHand(o: BoardOperator): number | null {
  return o.hand && o.hand.acknowledgedAt === null ? Date.parse(o.hand.raisedAt) : null;
}

/** What needs the lead's look on this row: a raised hand; by the org's thresholds; a missed call shows until the operator's state changes. */
export function boardFlags(o: BoardOperator, thresholds: BoardPolicy, now: number): BoardFlag[] {
  const flags: BoardFlag[] = [];
  if (o.hand) flags.push('hand');
  const inState = elapsed(o.since, now);
  const onCall = o.call?.status === 'answered' ? elapsed(o.call.since, now) : null;
  if (onCall !== null && onCall >= thresholds.longCallSeconds * 1000) flags.push('longCall');
  if (o.state === 'wrap_up' && inState !== null && inState >= thresholds.longWrapUpSeconds * 1000) flags.push('longWrapUp');
  if (o.state === 'not_ready' && o.reason === 'missed') flags.push('missed');
  if ((o.state === 'not_ready' || o.state === 'break') && inState !== null && inState >= thresholds.longNotReadySeconds * 1000) flags.push('longNotReady');
  return flags;
}
