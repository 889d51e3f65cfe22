// Dev host bridge (development and test tool only): the same `window.koe`, built by the same
// function, over a loopback WebSocket that the dev host opened for this page with a one-time
// token. Served from the app's own origin so the strict CSP (script-src 'self') still holds.
import { buildKoeApi } from './api';

function takeToken(): string {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('koe-token') ?? sessionStorage.getItem('koe-devhost-token') ?? '';
  if (params.has('koe-token')) {
    // Keep the token out of the visible URL and history; keep it for reloads of this tab only.
    sessionStorage.setItem('koe-devhost-token', token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return token;
}

const token = takeToken();
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/__koe/ipc?token=${encodeURIComponent(token)}`;
let socket: WebSocket;
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const listeners = new Map<string, Set<(payload: unknown) => void>>();
const ready = connect();
// Observed by every invoke (each answers `unavailable`); said once here, and no unhandled rejection.
ready.catch((err: unknown) => console.warn(`[koe dev host] the IPC socket did not open: ${err instanceof Error ? err.name : typeof err}`));

function connect(): Promise<void> {
  return new Promise((resolve, reject) => {
    socket = new WebSocket(url);
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error('dev host IPC socket failed'));
    socket.onclose = () => {
      for (const p of pending.values()) p.reject(new Error('dev host IPC socket closed'));
      pending.clear();
    };
    socket.onmessage = (msg) => {
      let data: { id?: number; result?: unknown; event?: string; payload?: unknown; resume?: string };
      try {
        data = JSON.parse(String(msg.data));
      } catch (err) {
        // the dev host sends JSON only: anything else is dropped, and said (not its text)
        console.warn(`[koe dev host] an IPC message is not JSON: ${err instanceof Error ? err.name : typeof err}`);
        return;
      }
      if (typeof data.resume === 'string') {
        // Each token opens one socket; the host hands over the next one for a reload of this tab.
        sessionStorage.setItem('koe-devhost-token', data.resume);
      } else if (typeof data.id === 'number') {
        pending.get(data.id)?.resolve(data.result);
        pending.delete(data.id);
      } else if (typeof data.event === 'string') {
        for (const l of listeners.get(data.event) ?? []) l(data.payload);
      }
    };
  });
}

const koe = buildKoeApi({
  async invoke(channel, input) {
    await ready;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, channel, input }));
    });
  },
  subscribe(event, listener) {
    const set = listeners.get(event) ?? new Set();
    set.add(listener);
    listeners.set(event, set);
    return () => set.delete(listener);
  },
});

// Like contextBridge: the API object is frozen and cannot be replaced by page scripts.
Object.defineProperty(window, 'koe', { value: koe, writable: false, configurable: false, enumerable: true });
