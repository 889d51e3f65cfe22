// Database rows into API values: timestamps as ISO strings (a driver may hand back a Date or
// its text) and child rows grouped under their parent in one pass (the list views read their
// children in one query for all parents, never one per row).
export const iso = (d: Date | string): string => new Date(d).toISOString();
export const isoOrNull = (d: Date | string | null): string | null => (d ? iso(d) : null);

/** Child rows by their parent's key, in the rows' order. */
export function groupBy<R, V>(rows: readonly R[], key: (r: R) => string, value: (r: R) => V): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(value(r));
    else out.set(k, [value(r)]);
  }
  return out;
}
