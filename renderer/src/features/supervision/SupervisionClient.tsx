import { useEffect } from 'react';
import type { RegistrationState } from '../../../../shared/gateway/supervision';
import { koe } from '../../koe';
import { useSessionStore } from '../../stores/session';
import { usePhoneStore } from '../../stores/phone';
import { startLeadEvents } from './lead-client';
import { startOperatorSupervision } from './operator-client';
import { initialSupervisionState, useSupervisionStore } from './store';

/**
 * Supervision plumbing while signed in, outside the lockable views (like the phone): the
 * operator's whisper/barge client, the registration report for the lead's board, and the
 * lead's "ended by the gateway" events.
 */
export function SupervisionClient() {
  const session = useSessionStore((s) => s.session);
  // Keyed on the user: another user signing in on this PC starts their own clients afresh.
  const signedIn = session.status === 'signed-in' ? session.user.id : null;
  const perms = session.status === 'signed-in' ? session.user.permissions : [];
  const handles = perms.includes('calls:handle');
  const supervises = perms.includes('team:supervise');

  useEffect(() => {
    if (!signedIn || !handles) return;
    const stop = startOperatorSupervision();
    let last: RegistrationState | null = null;
    const report = (state: RegistrationState) => {
      if (state === last) return;
      last = state;
      void koe().supervision.reportRegistration({ state });
    };
    report(usePhoneStore.getState().registration);
    const unsub = usePhoneStore.subscribe((s) => report(s.registration));
    return () => {
      stop();
      unsub();
    };
  }, [signedIn, handles]);

  useEffect(() => {
    if (!signedIn || !supervises) return;
    const off = startLeadEvents();
    const offBoard = koe().on('board:changed', (board) => useSupervisionStore.setState({ board }));
    void koe().supervision.watchBoard({}).then((r) => r.ok && useSupervisionStore.setState({ board: r.value }));
    return () => {
      off();
      offBoard();
      useSupervisionStore.setState({ board: initialSupervisionState.board, lead: null });
    };
  }, [signedIn, supervises]);

  return null;
}
