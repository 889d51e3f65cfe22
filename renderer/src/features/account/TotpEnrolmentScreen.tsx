import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSessionStore } from '../../app/session-store';
import { logFailure } from '../../log';
import { accountApi, type AccountApi } from './account-api';
import { TotpSetup } from './TotpSetup';

/**
 * What a signed-in user whose session is limited to TOTP enrolment sees (policy requires TOTP
 * and they have none): the gateway refuses every other route to this session, so nothing else
 * is shown. After the recovery codes, main re-reads the user (session:reload): the same
 * session is now a full one and the workspace opens.
 */
export function TotpEnrolmentScreen({ api = accountApi }: { api?: Pick<AccountApi, 'totpEnrol' | 'totpConfirm'> }) {
  const { t } = useTranslation();
  const id = useId();
  const signOut = useSessionStore((s) => s.signOut);
  const heading = useRef<HTMLHeadingElement>(null);
  const [finishing, setFinishing] = useState(false);
  const [failed, setFailed] = useState(false);
  useEffect(() => heading.current?.focus(), []);

  const finish = async () => {
    setFinishing(true);
    setFailed(false);
    const ok = await useSessionStore.getState().reload();
    const session = useSessionStore.getState().session;
    // done: this screen unmounts (the shell shows the workspace); else say so and let them retry
    if (!ok || (session.status === 'signed-in' && session.totpEnrolmentRequired)) {
      logFailure('reloading the session after TOTP enrolment', new Error(ok ? 'still enrolment-only' : 'reload refused'));
      setFailed(true);
      setFinishing(false);
    }
  };

  return (
    <section className="card account totp-enrolment" aria-labelledby={`${id}-h`} data-testid="totp-enrolment">
      <h1 id={`${id}-h`} ref={heading} tabIndex={-1}>{t('account.totp.heading')}</h1>
      <p>{t('account.totp.required')}</p>
      <TotpSetup api={api} onFinished={() => void finish()} finishing={finishing} />
      {failed && (
        <p role="alert" className="error" data-testid="totp-finish-error">{t('account.errors.unexpected')}</p>
      )}
      <button type="button" className="link-button no-print" onClick={() => void signOut()} data-testid="totp-sign-out">
        {t('account.signOut')}
      </button>
    </section>
  );
}
