// A message sent to many sockets is serialised once (issue 14: the board's fan-out to 200 leads).
// `once(m)` serialises m now and remembers the JSON by object identity; WsConnection.send
// (server/ws/connection.ts) sends that JSON for the same object instead of serialising it again.
// The message object itself is unchanged (in-process subscribers, tests, still get the object);
// it must not be mutated after once() (the JSON would no longer be it), so it is frozen.
const serialised = new WeakMap<object, string>();

export function once<T extends Record<string, unknown>>(m: T): T {
  serialised.set(m, JSON.stringify(m));
  return Object.freeze(m);
}

/** The JSON of a message: once()'s for a message made by it, else serialised now. */
export function wireJson(m: unknown): string {
  return (m !== null && typeof m === 'object' && serialised.get(m)) || JSON.stringify(m);
}
