// Main's timers, one declaration: services take them through their constructors (tests pass
// fake ones); the real ones never keep the process alive on their own (unref).
export interface Timeouts {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Intervals {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realTimers: Timeouts & Intervals = {
  setTimeout: (f, ms) => setTimeout(f, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (f, ms) => setInterval(f, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};
