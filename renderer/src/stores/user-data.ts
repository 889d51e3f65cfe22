// The one mechanism that clears the signed-in user's data in the renderer when the session ends
// (sign-out, expiry, an admin's revoke, another user signing in on the same PC). Every zustand
// store is made with `userStore()`, which registers the part of its state that belongs to the
// user with its initial value; module-level holders (queues, caches, a service's call state)
// register a reset with `holdsUserData()`. `resetUserData()` runs them all; the session store
// calls it from the one place the renderer learns the session ended (see stores/session.ts).
// A unit test enumerates every exported store under stores/ and features/*/store.ts and fails
// on one that was not made here.
import { create, type StateCreator, type StoreApi, type UseBoundStore } from 'zustand';

type Reset = () => void;

const holders = new Map<string, Reset>();
const stores = new Map<StoreApi<unknown>, { name: string; initial: Record<string, unknown> }>();
let generation = 0;

/** Registers a module-level holder of the user's data (idempotent by name: a module re-evaluated replaces its entry). */
export function holdsUserData(name: string, reset: Reset): void {
  holders.set(name, reset);
}

/**
 * A zustand store whose `userData` keys go back to these values when the session ends. Keys
 * left out are the PC's (app facts, lock state) or replaced by the event that ended the
 * session (the session itself). A store that holds no user data passes `{}`: it still
 * declares so here.
 */
export function userStore<T extends object>(name: string, userData: Partial<T>, creator: StateCreator<T, [], []>): UseBoundStore<StoreApi<T>> {
  const store = create<T>()(creator);
  stores.set(store as unknown as StoreApi<unknown>, { name, initial: { ...userData } as Record<string, unknown> });
  holdsUserData(`store:${name}`, () => store.setState({ ...userData } as Partial<T>));
  return store;
}

/**
 * Clears every registered store and holder. One failing reset is logged (its name, never the
 * data) and the others still run.
 */
export function resetUserData(): void {
  generation++;
  for (const [name, reset] of holders) {
    try {
      reset();
    } catch (err) {
      console.error(`[koe] clearing the user's data in ${name} failed: ${err instanceof Error ? err.name : typeof err}`);
    }
  }
}

/**
 * Changes at every resetUserData(): an async continuation started for the previous user
 * (a screen pop in flight) compares it and drops its result instead of storing it.
 */
export function userDataGeneration(): number {
  return generation;
}

/** For tests: the registered store's name and the initial values of its user data, or null when it was not made by userStore(). */
export function userStoreRegistration(store: unknown): { name: string; initial: Record<string, unknown> } | null {
  return stores.get(store as StoreApi<unknown>) ?? null;
}

/** For tests: the names of every registered holder (stores as `store:<name>`). */
export function userDataHolders(): string[] {
  return [...holders.keys()];
}
