import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../stores/app';
import { useSessionStore } from '../../stores/session';
import { AppInfoPanel } from '../about/AppInfoPanel';
import { HomeScreen } from '../home/HomeScreen';
import { SignInScreen } from '../signin/SignInScreen';
import { LockScreen } from './LockScreen';
import { StatusBar } from './StatusBar';
import { Telephony } from '../phone/Telephony';
import { SupervisionClient } from '../supervision/SupervisionClient';
import type { SipPhone } from '../phone/sip-phone';

const GATEWAY_POLL_MS = 15_000;

/** `createPhone`: the SIP layer (SIP.js in the app, a fake in component tests); none = no phone. */
export function AppShell({ createPhone }: { createPhone?: () => SipPhone } = {}) {
  const { t, i18n } = useTranslation();
  const info = useAppStore((s) => s.info);
  const policy = useAppStore((s) => s.policy);
  const lock = useAppStore((s) => s.lock);
  const error = useAppStore((s) => s.error);
  const session = useSessionStore((s) => s.session);

  useEffect(() => {
    const store = useAppStore.getState();
    const sessionStore = useSessionStore.getState();
    const unlisten = store.listen();
    const unlistenSession = sessionStore.listen();
    void store.load();
    void sessionStore.load();
    void store.refreshGateway();
    const timer = setInterval(() => void useAppStore.getState().refreshGateway(), GATEWAY_POLL_MS);
    return () => {
      unlisten();
      unlistenSession();
      clearInterval(timer);
    };
  }, []);

  const language = policy?.policy.language;
  useEffect(() => {
    if (language && i18n.language !== language) void i18n.changeLanguage(language);
    if (language) document.documentElement.lang = language;
  }, [language, i18n]);

  // Optional capture protection on top of the OS-level one: blur customer data while the window is not focused.
  const [focused, setFocused] = useState(() => document.hasFocus());
  useEffect(() => {
    const on = () => setFocused(true);
    const off = () => setFocused(false);
    window.addEventListener('focus', on);
    window.addEventListener('blur', off);
    return () => {
      window.removeEventListener('focus', on);
      window.removeEventListener('blur', off);
    };
  }, []);
  const blurred = Boolean(policy?.policy.blurOnFocusLoss) && !focused;

  const devhost = info?.host === 'devhost';
  useEffect(() => {
    document.title = devhost ? t('app.devhostTitle') : t('app.title');
  }, [devhost, t]);

  return (
    <div className="app" data-blurred={blurred ? 'true' : 'false'} data-testid="app">
      {devhost && (
        <div className="devhost-banner" role="note">
          {t('app.devhostBanner')}
        </div>
      )}
      <main className="content">
        {error && (
          <p role="alert" className="error">
            {t('errors.bridge')}
          </p>
        )}
        {lock.locked ? (
          <LockScreen />
        ) : session.status === 'signed-in' ? (
          // Keyed on the user: another user's workspace never inherits a view's local state (a note draft).
          <HomeScreen key={session.user.id} />
        ) : (
          <>
            {session.reason && (
              <p role="status" className="note" data-testid="session-ended">
                {t(`home.ended.${session.reason}`)}
              </p>
            )}
            <SignInScreen />
            <AppInfoPanel />
          </>
        )}
      </main>
      {createPhone && <Telephony createPhone={createPhone} />}
      {createPhone && <SupervisionClient />}
      <StatusBar />
    </div>
  );
}
