import type { SessionState, SignInInput, SignInRefusal, UnlockOutcome } from '../../../shared/ipc/contract';
import { koe } from '../koe';
import { resetUserData, userStore } from './user-data';

export interface SessionStore {
  session: SessionState;
  pending: boolean;
  refusal: Omit<SignInRefusal, 'outcome'> | null;
  /** Set after a sign-in that asked for a TOTP code: the form then shows the code step. */
  needsTotp: boolean;
  load(): Promise<void>;
  signIn(input: SignInInput): Promise<void>;
  signOut(): Promise<void>;
  /** Main re-reads the user from the gateway (after TOTP enrolment); false when that failed. */
  reload(): Promise<boolean>;
  unlock(password: string, totp?: string): Promise<UnlockOutcome | null>;
  listen(): () => void;
}

/**
 * The user whose workspace runs (phone, supervision, customer work): signed in with a full
 * session. An enrolment-only session (TOTP required, not set up) or one limited to changing a
 * temporary password runs none of it: the gateway refuses it everything but that.
 */
export function workspaceUserId(session: SessionState): string | null {
  return session.status === 'signed-in' && !session.totpEnrolmentRequired && !session.passwordChangeRequired ? session.user.id : null;
}

const signedOut: SessionState = { status: 'signed-out', reason: null };

/**
 * True when `next` ends the user's session as the renderer knew it: signed out (sign-out,
 * expiry, revoke), or another user signed in on this PC.
 */
export function sessionEnds(prev: SessionState, next: SessionState): boolean {
  if (next.status !== 'signed-in') return true;
  return prev.status === 'signed-in' && prev.user.id !== next.user.id;
}

/** The form's state is the user's too (a refusal, the TOTP step); the session itself is replaced by the event. */
const initialSessionUserData = { pending: false, refusal: null, needsTotp: false };

export const useSessionStore = userStore<SessionStore>('session', initialSessionUserData, (set, get) => {
  /**
   * The one place the renderer takes a session from main (event, sign-in, sign-out, load):
   * when it ends the previous user's session, every store and holder is cleared first
   * (user-data.ts), in the same synchronous block as the new session, so no render shows the
   * new state with the old user's data.
   */
  const apply = (session: SessionState, extra: Partial<SessionStore> = {}) => {
    if (sessionEnds(get().session, session)) resetUserData();
    set({ session, ...extra });
  };
  return {
    session: signedOut,
    pending: false,
    refusal: null,
    needsTotp: false,

    async load() {
      const r = await koe().session.state({});
      if (r.ok) apply(r.value);
    },

    async signIn(input) {
      if (get().pending) return;
      set({ pending: true, refusal: null });
      const r = await koe().session.signIn(input);
      if (!r.ok) return set({ pending: false, refusal: { code: 'unexpected' } });
      if (r.value.outcome === 'signed-in') return apply(r.value.session, { pending: false, needsTotp: false });
      const { outcome: _omit, ...refusal } = r.value;
      set({ pending: false, refusal, needsTotp: get().needsTotp || refusal.code === 'totp_required' });
    },

    async signOut() {
      const r = await koe().session.signOut({});
      apply(r.ok ? r.value : signedOut, { refusal: null, needsTotp: false });
    },

    async reload() {
      const r = await koe().session.reload({});
      if (!r.ok) return false;
      apply(r.value);
      return true;
    },

    async unlock(password, totp) {
      const r = await koe().lock.unlock(totp ? { password, totp } : { password });
      return r.ok ? r.value : null;
    },

    listen() {
      return koe().on('session:changed', (session) => apply(session));
    },
  };
});
