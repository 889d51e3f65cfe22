import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useAgentStore } from '../../stores/agent';
import { useSessionStore } from '../../stores/session';
import { configureTelephony, startTelephony, stopTelephony } from './phone-service';
import type { SipPhone } from './sip-phone';

/**
 * Starts the phone while signed in and stops it at sign-out. Rendered by the shell outside
 * the lockable views: a locked screen unmounts customer data, never the call.
 */
export function Telephony({ createPhone }: { createPhone: () => SipPhone }) {
  const { t } = useTranslation();
  // Keyed on the user, not just "signed in": another user signing in on this PC restarts the
  // phone with their own SIP credentials.
  const userId = useSessionStore((s) => (s.session.status === 'signed-in' ? s.session.user.id : null));

  useEffect(() => {
    configureTelephony({
      createPhone,
      notificationText: (call) => ({ title: t('phone.notificationTitle'), body: t('phone.notificationBody', { number: call.remote || t('phone.anonymous') }) }),
    });
  }, [createPhone, t]);

  useEffect(() => {
    if (!userId) return;
    const agent = useAgentStore.getState();
    const unlisten = agent.listen();
    void agent.load();
    void startTelephony();
    if (typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission().catch(() => undefined);
    return () => {
      unlisten();
      void stopTelephony();
    };
  }, [userId]);

  return null;
}
