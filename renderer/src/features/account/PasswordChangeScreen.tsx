import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSessionStore } from '../../app/session-store';
import { logFailure } from '../../log';
import { accountApi, type AccountApi } from './account-api';
import { PasswordChange } from './PasswordChange';

/**
 * What a signed-in user whose password an admin reset sees (a temporary password, must change):
 * the gateway refuses this session everything but /me, the password change, the client policy
 * and sign-out (server/auth/principal-type.ts sessionLimit), so nothing else is shown. After the
 * change main re-reads the user (session:reload): the same session is a full one (or, where
 * policy requires TOTP and there is none yet, the enrolment screen comes next).
 */
export function PasswordChangeScreen({ api = accountApi }: { api?: Pick<AccountApi, 'passwordPolicy' | 'changePassword'> }) {
  const { t } = useTranslation();
  const id = useId();
  const signOut = useSessionStore((s) => s.signOut);
  const heading = useRef<HTMLHeadingElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => heading.current?.focus(), []);

  const changed = async () => {
    setFailed(false);
    const ok = await useSessionStore.getState().reload();
    const session = useSessionStore.getState().session;
    // done: this screen unmounts; else say so (the password is changed: signing in again works)
    if (!ok || (session.status === 'signed-in' && session.passwordChangeRequired)) {
      logFailure('reloading the session after the password change', new Error(ok ? 'still limited to the password change' : 'reload refused'));
      setFailed(true);
    }
  };

  return (
    <section className="card account password-change-required" aria-labelledby={`${id}-h`} data-testid="password-change-required">
      <h1 id={`${id}-h`} ref={heading} tabIndex={-1}>{t('account.mustChange.heading')}</h1>
      <p>{t('account.mustChange.explain')}</p>
      <PasswordChange api={api} heading="none" onChanged={() => void changed()} />
      {failed && (
        <p role="alert" className="error" data-testid="password-change-finish-error">{t('account.mustChange.reloadFailed')}</p>
      )}
      <button type="button" className="link-button" onClick={() => void signOut()} data-testid="password-change-sign-out">
        {t('account.signOut')}
      </button>
    </section>
  );
}
