import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { RegistrationState } from '../../../../shared/gateway/supervision';
import { useSessionStore, workspaceUserId } from '../../app/session-store';
import { koe } from '../../koe';
import { bestEffort } from '../../log';
import { usePhoneStore } from '../phone/phone-store';
import { useTelephony } from '../phone/Telephony';
import { LeadSupervision } from './lead-client';
import { OperatorSupervision } from './operator-client';
import { initialSupervisionState, useSupervisionStore } from './store';

const LeadContext = createContext<LeadSupervision | null>(null);

/** The lead's supervision object of the <SupervisionClient> above this component. */
export function useLeadSupervision(): LeadSupervision {
  const lead = useContext(LeadContext);
  if (!lead) throw new Error('useLeadSupervision() outside <SupervisionClient>');
  return lead;
}

/**
 * Supervision plumbing while signed in, around the views and outside the lockable ones (like the
 * phone, whose telephony object it needs for barge): the operator's whisper/barge client, the
 * registration report for the lead's board, and the lead's connections (given to the board
 * through context). `enabled`: false without a phone (nothing is started).
 */
export function SupervisionClient({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const telephony = useTelephony();
  const [lead] = useState(() => new LeadSupervision(() => telephony.currentDevices().inputDeviceId));
  const session = useSessionStore((s) => s.session);
  // Keyed on the user: another user signing in on this PC starts their own clients afresh.
  const signedIn = enabled ? workspaceUserId(session) : null;
  const perms = session.status === 'signed-in' ? session.user.permissions : [];
  const handles = perms.includes('calls:handle');
  const supervises = perms.includes('team:supervise');

  useEffect(() => {
    if (!signedIn || !handles) return;
    const operatorSide = new OperatorSupervision(() => telephony.customerAudioSender());
    const stopSupervision = operatorSide.start();
    // a microphone chosen mid-call while a lead barges: the lead's voice is mixed with the new one
    const offMic = telephony.onMicrophoneChanged(() => void bestEffort('mixing the lead\'s voice with the new microphone', () => operatorSide.microphoneChanged()));
    const stop = () => (offMic(), stopSupervision());
    let last: RegistrationState | null = null;
    const report = (state: RegistrationState) => {
      if (state === last) return;
      last = state;
      void bestEffort('reporting the registration for the board', () => koe().supervision.reportRegistration({ state }));
    };
    report(usePhoneStore.getState().registration);
    const unsub = usePhoneStore.subscribe((s) => report(s.registration));
    return () => {
      stop();
      unsub();
    };
  }, [signedIn, handles, telephony]);

  useEffect(() => {
    if (!signedIn || !supervises) return;
    const stop = lead.follow();
    const offBoard = koe().on('board:changed', (board) => useSupervisionStore.setState({ board }));
    void bestEffort('loading the board', async () => {
      const r = await koe().supervision.watchBoard({});
      if (r.ok) useSupervisionStore.setState({ board: r.value });
    });
    return () => {
      stop();
      offBoard();
      useSupervisionStore.setState({ board: initialSupervisionState.board, lead: null });
    };
  }, [signedIn, supervises, lead]);

  return <LeadContext.Provider value={lead}>{children}</LeadContext.Provider>;
}
