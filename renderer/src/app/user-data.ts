// The one mechanism that clears the signed-in user's data in the renderer when the session ends
// (sign-out, expiry, an admin's revoke, another user signing in on the same PC). Every zustand
// store is made with `userStore()`, which registers the part of its state that belongs to the
// user with its initial value; module-level holders (queues, caches, a service's call state)
// register a reset with `holdsUserData()`. `resetUserData()` runs them all; the session store
// calls it from the one place the renderer learns the session ended (see app/session-store.ts).
// A component test enumerates every exported store (`store.ts`, `*-store.ts`) and fails on one
// that was not made here; only this module may import zustand.
import { create, type StateCreator, type StoreApi, type UseBoundStore } from 'zustand';
import { logFailure } from '../log';

type Reset = () => void;

const holders = new Map<string, Reset>();
const stores = new Map<StoreApi<unknown>, { name: string; initial: Record<string, unknown> }>();
let generation = 0;

/**
 * Registers a holder of the user's data (idempotent by name: a later holder of the same name
 * replaces the entry). Returns the function that removes it (an object owned by the component
 * tree detaches when it unmounts); it removes only its own entry, never a later one's.
 */
export function holdsUserData(name: string, reset: Reset): () => void {
  holders.set(name, reset);
  return () => {
    if (holders.get(name) === reset) holders.delete(name);
  };
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
      logFailure(`clearing the user's data in ${name}`, err);
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
