import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { liveCalls, usePhoneStore } from '../phone/phone-store';
import { useTelephony } from '../phone/Telephony';
import { useSessionStore } from '../../app/session-store';
import { CustomerCard, useFocusCall } from '../customer/CustomerCard';
import { CustomerSearch } from '../customer/CustomerWorkspace';
import { NotesPanel } from '../customer/NotesPanel';
import { useCustomerStore } from '../customer/store';
import { AgentStatePanel } from '../phone/AgentStatePanel';
import { DeviceSettings } from '../phone/DeviceSettings';
import { HeadsetControl } from '../phone/HeadsetControl';
import { PhonePanel } from '../phone/PhonePanel';
import { CoachingIndicator } from '../supervision/CoachingIndicator';
import { LeadBoard } from '../supervision/LeadBoard';

/**
 * The signed-in operator's workstation (issue 18 item 1): one fixed grid that fits a 1366x768
 * laptop without scrolling the page. Left, the call bar (agent state, then the call: ringing,
 * controls, dialling) always in the same place; centre, the customer workspace (the card, its
 * history; a lead's board below it); right, notes, disposition and wrap-up, visible whenever they
 * matter. The regions keep their size and place whatever the state: each scrolls inside itself
 * if its content ever needs more room, and an empty region says what will appear there.
 */
export function HomeScreen() {
  const { t } = useTranslation();
  const telephony = useTelephony();
  const session = useSessionStore((s) => s.session);
  const signOut = useSessionStore((s) => s.signOut);
  const inCall = usePhoneStore((s) => liveCalls(s.calls).length > 0);
  const unsent = useCustomerStore((s) => s.unsent);
  const [confirming, setConfirming] = useState(false);
  const [confirmingUnsent, setConfirmingUnsent] = useState(false);
  const focus = useFocusCall();
  if (session.status !== 'signed-in') return null;
  // Sign-out during a live call asks first; ending it hangs up, then signs out. Unsent items
  // (main's outbox) are said first: they stay sealed for this user, sent at the next sign-in.
  const askSignOut = () => (inCall ? setConfirming(true) : unsent > 0 ? setConfirmingUnsent(true) : void signOut());
  const endAndSignOut = async () => {
    setConfirming(false);
    await telephony.calls.hangupAll();
    await signOut();
  };
  const lead = session.user.permissions.includes('team:supervise');
  return (
    <div className="workstation" data-testid="workstation" data-lead={lead ? 'true' : 'false'}>
    <section className="ws-user sensitive" data-testid="home" aria-label={t('home.userLabel')}>
      <span className="ws-user-name" data-testid="home-name">{session.user.displayName}</span>
      <span className="badge" data-testid="home-role">{t(`roles.${session.user.role}`, { defaultValue: session.user.role })}</span>
      {session.device?.enrolledNow && (
        <span className="note" data-testid="device-enrolled">
          {t('home.enrolled', { device: session.device.name })}
        </span>
      )}
      {session.totpEnrolmentRequired && <span className="note">{t('home.totpEnrolmentRequired')}</span>}
      <button type="button" className="secondary" data-testid="sign-out" onClick={askSignOut}>
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
    <div className="ws-callbar" data-testid="ws-callbar">
      <AgentStatePanel />
      <CoachingIndicator />
      <PhonePanel />
      <details className="ws-devices">
        <summary>{t('home.audioDevices')}</summary>
        <DeviceSettings />
        <HeadsetControl />
      </details>
    </div>
    <div className="ws-customer" data-testid="ws-customer">
      {focus ? (
        <CustomerCard />
      ) : (
        <EmptyRegion testid="customer-empty" text={t('home.noCustomer')} />
      )}
      {session.user.permissions.includes('customers:read') && <CustomerSearch />}
      {lead && <LeadBoard />}
    </div>
    <div className="ws-notes" data-testid="ws-notes">
      {focus ? (
        <NotesPanel />
      ) : (
        <EmptyRegion testid="notes-empty" text={t('home.noNotes')} />
      )}
    </div>
    </div>
  );
}

/** A region with nothing to show yet says what will appear there (the region keeps its place). */
function EmptyRegion({ testid, text }: { testid: string; text: string }) {
  return (
    <section className="card ws-empty" data-testid={testid}>
      <p className="note">{text}</p>
    </section>
  );
}
