import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { liveCalls, usePhoneStore } from '../phone/phone-store';
import { useTelephony } from '../phone/Telephony';
import { useSessionStore } from '../../app/session-store';
import { CustomerCard } from '../customer/CustomerCard';
import { NotesPanel } from '../customer/NotesPanel';
import { useCustomerStore } from '../customer/store';
import { AgentStatePanel } from '../phone/AgentStatePanel';
import { DeviceSettings } from '../phone/DeviceSettings';
import { PhonePanel } from '../phone/PhonePanel';
import { CoachingIndicator } from '../supervision/CoachingIndicator';
import { LeadBoard } from '../supervision/LeadBoard';

/** The signed-in operator's workspace. Calls and customer cards mount here (later issues). */
export function HomeScreen() {
  const { t } = useTranslation();
  const telephony = useTelephony();
  const session = useSessionStore((s) => s.session);
  const signOut = useSessionStore((s) => s.signOut);
  const inCall = usePhoneStore((s) => liveCalls(s.calls).length > 0);
  const unsent = useCustomerStore((s) => s.unsent);
  const [confirming, setConfirming] = useState(false);
  const [confirmingUnsent, setConfirmingUnsent] = useState(false);
  if (session.status !== 'signed-in') return null;
  // Sign-out during a live call asks first; ending it hangs up, then signs out. Unsent items
  // (main's outbox) are said first: they stay sealed for this user, sent at the next sign-in.
  const askSignOut = () => (inCall ? setConfirming(true) : unsent > 0 ? setConfirmingUnsent(true) : void signOut());
  const endAndSignOut = async () => {
    setConfirming(false);
    await telephony.calls.hangupAll();
    await signOut();
  };
  return (
    <>
    <AgentStatePanel />
    <CoachingIndicator />
    <PhonePanel />
    {session.user.permissions.includes('team:supervise') && <LeadBoard />}
    <CustomerCard />
    <NotesPanel />
    <section className="card home sensitive" data-testid="home" aria-labelledby="home-h">
      <h1 id="home-h">{t('home.welcome', { name: session.user.displayName })}</h1>
      <dl>
        <dt>{t('home.role')}</dt>
        <dd data-testid="home-role">{t(`roles.${session.user.role}`, { defaultValue: session.user.role })}</dd>
      </dl>
      {session.device?.enrolledNow && (
        <p className="note" data-testid="device-enrolled">
          {t('home.enrolled', { device: session.device.name })}
        </p>
      )}
      {session.totpEnrolmentRequired && <p className="note">{t('home.totpEnrolmentRequired')}</p>}
      <button type="button" data-testid="sign-out" onClick={askSignOut}>
        {t('home.signOut')}
      </button>
      {confirming && inCall && (
        <div role="alertdialog" aria-labelledby="signout-q" className="confirm" data-testid="sign-out-confirm">
          <p id="signout-q">{t('home.signOutDuringCall')}</p>
          {unsent > 0 && (
            <p className="note" data-testid="sign-out-unsent-kept">
              {t('home.unsentKept', { count: unsent })}
            </p>
          )}
          <button type="button" className="danger" data-testid="sign-out-end-call" onClick={() => void endAndSignOut()}>
            {t('home.endCallAndSignOut')}
          </button>
          <button type="button" data-testid="sign-out-cancel" onClick={() => setConfirming(false)} autoFocus>
            {t('home.cancel')}
          </button>
        </div>
      )}
      {confirmingUnsent && !inCall && (
        <div role="alertdialog" aria-labelledby="signout-unsent-q" className="confirm" data-testid="sign-out-unsent">
          <p id="signout-unsent-q">{t('home.signOutUnsent', { count: unsent })}</p>
          <button
            type="button"
            data-testid="sign-out-keep-unsent"
            onClick={() => {
              setConfirmingUnsent(false);
              void signOut();
            }}
          >
            {t('home.signOutKeepUnsent')}
          </button>
          <button type="button" data-testid="sign-out-unsent-cancel" onClick={() => setConfirmingUnsent(false)} autoFocus>
            {t('home.cancel')}
          </button>
        </div>
      )}
    </section>
    <DeviceSettings />
    </>
  );
}
