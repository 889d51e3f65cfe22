import { koe } from '../../koe';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useSessionStore, workspaceUserId } from '../../app/session-store';
import { bestEffort } from '../../log';
import { useAgentStore } from './agent-store';
import type { CallerViews } from './calls';
import type { SipPhone } from './sip-phone';
import { TelephonyService } from './telephony';
import { formatPhone } from '../../../../shared/rules/phone-format';

const TelephonyContext = createContext<TelephonyService | null>(null);

/** The telephony object of the <Telephony> above this component. */
export function useTelephony(): TelephonyService {
  const telephony = useContext(TelephonyContext);
  if (!telephony) throw new Error('useTelephony() outside <Telephony>');
  return telephony;
}

/**
 * Owns the telephony object: made once per mount, started while signed in and stopped at
 * sign-out (or unmount), and given to the views below through context. Rendered by the shell
 * around the lockable views: a locked screen unmounts customer data, never the call.
 * `createPhone`: the SIP layer (none: no phone; the actions fail "not started").
 * `caller`: the customer views the phone feeds (composed by the shell).
 */
export function Telephony({ createPhone, caller, children }: { createPhone?: () => SipPhone; caller: CallerViews; children: ReactNode }) {
  const { t } = useTranslation();
  const [telephony] = useState(() => new TelephonyService({ caller, ...(createPhone ? { createPhone } : {}) }));
  // Keyed on the user, not just "signed in": another user signing in on this PC restarts the
  // phone with their own SIP credentials.
  const userId = useSessionStore((s) => workspaceUserId(s.session));

  useEffect(() => telephony.attach(), [telephony]);

  // After the PC wakes, main asks for the phone's turn (main/session/resume.ts: the session was
  // re-checked first; the link and the outbox come after): re-register, then say so. A window
  // without a phone (signed out) answers at once.
  useEffect(
    () =>
      koe().on('resume:status', (st) => {
        if (st.phase !== 'phone') return;
        void telephony
          .recover({ freshTransport: true })
          .finally(() => bestEffort('telling main the phone is back', koe().resume.phoneDone({ run: st.run })));
      }),
    [telephony],
  );

  useEffect(() => {
    telephony.configure({
      caller,
      ...(createPhone ? { createPhone } : {}),
      notificationText: (call) => ({ title: t('phone.notificationTitle'), body: t('phone.notificationBody', { number: call.remote ? formatPhone(call.remote, { style: 'national' }) : t('phone.anonymous') }) }),
    });
  }, [telephony, createPhone, caller, t]);

  useEffect(() => {
    if (!userId || !createPhone) return;
    const agent = useAgentStore.getState();
    const unlisten = agent.listen();
    void agent.load();
    void telephony.start();
    if (typeof Notification !== 'undefined' && Notification.permission === 'default') {
      void bestEffort('asking for the notification permission', () => Notification.requestPermission());
    }
    return () => {
      unlisten();
      void telephony.stop();
    };
  }, [telephony, userId, createPhone]);

  return <TelephonyContext.Provider value={telephony}>{children}</TelephonyContext.Provider>;
}
