import { create } from 'zustand';
import type { SessionState, SignInInput, SignInRefusal, UnlockOutcome } from '../../../shared/ipc/contract';
import { koe } from '../koe';

export interface SessionStore {
  session: SessionState;
  pending: boolean;
  refusal: Omit<SignInRefusal, 'outcome'> | null;
  /** Set after a sign-in that asked for a TOTP code: the form then shows the code step. */
  needsTotp: boolean;
  load(): Promise<void>;
  signIn(input: SignInInput): Promise<void>;
  signOut(): Promise<void>;
  unlock(password: string, totp?: string): Promise<UnlockOutcome | null>;
  listen(): () => void;
}

const signedOut: SessionState = { status: 'signed-out', reason: null };

export const useSessionStore = create<SessionStore>()((set, get) => ({
  session: signedOut,
  pending: false,
  refusal: null,
  needsTotp: false,

  async load() {
    const r = await koe().session.state({});
    if (r.ok) set({ session: r.value });
  },

  async signIn(input) {
    if (get().pending) return;
    set({ pending: true, refusal: null });
    const r = await koe().session.signIn(input);
    if (!r.ok) return set({ pending: false, refusal: { code: 'unexpected' } });
    if (r.value.outcome === 'signed-in') return set({ pending: false, session: r.value.session, needsTotp: false });
    const { outcome: _omit, ...refusal } = r.value;
    set({ pending: false, refusal, needsTotp: get().needsTotp || refusal.code === 'totp_required' });
  },

  async signOut() {
    const r = await koe().session.signOut({});
    set({ session: r.ok ? r.value : signedOut, refusal: null, needsTotp: false });
  },

  async unlock(password, totp) {
    const r = await koe().lock.unlock(totp ? { password, totp } : { password });
    return r.ok ? r.value : null;
  },

  listen() {
    return koe().on('session:changed', (session) => set({ session, ...(session.status === 'signed-out' ? { needsTotp: false } : {}) }));
  },
}));
