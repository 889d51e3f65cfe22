import { useId } from 'react';
import { useTranslation } from 'react-i18next';

/** Placeholder until the gateway sign-in lands: the real form, disabled, saying why. */
export function SignInScreen() {
  const { t } = useTranslation();
  const userId = useId();
  const passId = useId();
  return (
    <section className="card signin" aria-labelledby={`${userId}-h`}>
      <h1 id={`${userId}-h`}>{t('signin.heading')}</h1>
      <form onSubmit={(e) => e.preventDefault()} aria-describedby={`${userId}-note`}>
        <label htmlFor={userId}>{t('signin.username')}</label>
        <input id={userId} name="username" autoComplete="username" disabled />
        <label htmlFor={passId}>{t('signin.password')}</label>
        <input id={passId} name="password" type="password" autoComplete="current-password" disabled />
        <button type="submit" disabled>
          {t('signin.submit')}
        </button>
      </form>
      <p id={`${userId}-note`} className="note">
        {t('signin.notYet')}
      </p>
    </section>
  );
}
