import type { KoeApi } from '../../shared/ipc/api';

declare global {
  interface Window {
    /** The only door to main: built from the IPC contract by the preload (or the dev host bridge). */
    readonly koe: KoeApi;
  }
}

/** The bridge, looked up at call time so tests can provide their own before rendering. */
export const koe = (): KoeApi => {
  if (!window.koe) throw new Error('window.koe is missing: Koe must run inside its Electron shell or the dev host');
  return window.koe;
};
