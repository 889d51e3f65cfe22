import { useCallback, useState } from 'react';
import { adminFailure, type AdminFailure } from '../admin-api';

/** One page of a keyset-paged list, as a section's fetch returns it. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A list paged by the gateway's cursor, under a filter: the cursor each page starts at (page 0:
 * none), the page shown, the next cursor. A load that fails keeps the page (and the filter) that
 * was shown and sets `failure` (logged by `what`). `fetchPage` must be stable (useCallback).
 */
export function usePages<T, F>(fetchPage: (filter: F, cursor: string | undefined) => Promise<Page<T>>, what: string, initial: F) {
  const [filter, setFilter] = useState(initial);
  const [starts, setStarts] = useState<(string | undefined)[]>([undefined]);
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const page = starts.length - 1;

  const load = useCallback(async (f: F, cursor: string | undefined) => {
    setLoading(true);
    setFailure(null);
    try {
      const res = await fetchPage(f, cursor);
      setItems(res.items);
      setNext(res.nextCursor);
      return true;
    } catch (err) {
      setFailure(adminFailure(err, what));
      return false;
    } finally {
      setLoading(false);
    }
  }, [fetchPage, what]);

  /** The first page under a filter (a new search); the filter is kept only if it loaded. */
  const first = useCallback(async (f: F) => {
    if (!(await load(f, undefined))) return false;
    setFilter(f);
    setStarts([undefined]);
    return true;
  }, [load]);
  const forward = async () => {
    if (!next) return;
    const cursor = next;
    if (await load(filter, cursor)) setStarts((s) => [...s, cursor]);
  };
  const back = async () => {
    if (page === 0) return;
    if (await load(filter, starts[page - 1])) setStarts((s) => s.slice(0, -1));
  };
  /** The page shown, again (after a change to its rows). */
  const reload = () => load(filter, starts[page]);

  return { items, setItems, next, loading, failure, setFailure, page, filter, first, forward, back, reload };
}
