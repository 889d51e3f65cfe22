import { Fragment, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/app-store';
import { useSessionStore } from '../../app/session-store';
import { AppInfoPanel } from '../about/AppInfoPanel';
import { HomeScreen } from '../home/HomeScreen';
import { AccountPanel } from '../account/AccountPanel';
import { WorkspaceSwitch } from '../admin/WorkspaceSwitch';
import { NewPcNotice } from '../account/NewPcNotice';
import { TotpEnrolmentScreen } from '../account/TotpEnrolmentScreen';
import { PasswordChangeScreen } from '../account/PasswordChangeScreen';
import { SignInScreen } from '../signin/SignInScreen';
import { LockScreen } from './LockScreen';
import { StatusBar } from './StatusBar';
import { Shortcuts } from './Shortcuts';
import { useAppliedTheme } from '../../app/theme';
import { Telephony } from '../phone/Telephony';
import { callerViewsOf } from '../customer/caller-views';
import { CustomerRecords } from '../customer/crm-service';
import { CustomerSession } from '../customer/CustomerSession';
import { SupervisionClient } from '../supervision/SupervisionClient';
import type { SipPhone } from '../phone/sip-phone';

const GATEWAY_POLL_MS = 15_000;

/**
 * The composition root of the views: it makes the objects the features share and hands each
 * feature what it needs of another, so no feature imports a feature that imports it back
 * (the phone feeds the customer card through `caller`, never by importing the customer feature).
 * `createPhone`: the SIP layer (SIP.js in the app, a fake in component tests); none = no phone.
 * `createCustomerRecords`: the notes and call-update queues (tests keep a handle on theirs).
 */
export function AppShell({
  createPhone,
  createCustomerRecords = () => new CustomerRecords(),
}: { createPhone?: () => SipPhone; createCustomerRecords?: () => CustomerRecords } = {}) {
  const [records] = useState(createCustomerRecords);
  const caller = useMemo(() => callerViewsOf(records), [records]);
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

  // the theme (issue 18 item 4): <html data-theme>, `system` following the OS
  useAppliedTheme(policy?.policy.theme ?? 'system');

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
  const workspace = !lock.locked && session.status === 'signed-in' && !session.passwordChangeRequired && !session.totpEnrolmentRequired;
  useEffect(() => {
    document.title = devhost ? t('app.devhostTitle') : t('app.title');
  }, [devhost, t]);

  return (
    // The telephony object and the customer records live as long as the shell: around the views
    // (they reach them through context), outside the lock (a locked screen unmounts customer
    // data, never the call).
    <CustomerSession records={records}>
      <Telephony {...(createPhone ? { createPhone } : {})} caller={caller}>
        <SupervisionClient enabled={Boolean(createPhone)}>
          <div className="app" data-blurred={blurred ? 'true' : 'false'} data-testid="app">
            {devhost && (
              <div className="devhost-banner" role="note">
                {t('app.devhostBanner')}
              </div>
            )}
            {/* the workspace view (workstation or console) is a fixed grid (styles.css "Workstation"); other screens flow */}
            <main className={workspace ? 'content workspace-view' : 'content'} tabIndex={-1} data-focus-home="9">
              {error && (
                <p role="alert" className="error">
                  {t('errors.bridge')}
                </p>
              )}
              {lock.locked ? (
                <LockScreen />
              ) : session.status === 'signed-in' && session.passwordChangeRequired ? (
                // a temporary password an admin set: the gateway allows nothing else until it is changed
                <PasswordChangeScreen key={session.user.id} />
              ) : session.status === 'signed-in' && session.totpEnrolmentRequired ? (
                // an enrolment-only session (policy requires TOTP, none yet): the gateway allows nothing else
                <TotpEnrolmentScreen key={session.user.id} />
              ) : session.status === 'signed-in' ? (
                // Keyed on the user: another user's workspace never inherits a view's local state (a note draft).
                <Fragment key={session.user.id}>
                  <NewPcNotice />
                  <WorkspaceSwitch permissions={session.user.permissions}>
                    <HomeScreen />
                  </WorkspaceSwitch>
                  <AccountPanel />
                </Fragment>
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
            <StatusBar />
            {session.status === 'signed-in' && <Shortcuts />}
          </div>
        </SupervisionClient>
      </Telephony>
    </CustomerSession>
  );
}
