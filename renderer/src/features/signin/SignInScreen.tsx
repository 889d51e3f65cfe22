import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { SignInRefusal } from '../../../../shared/ipc/contract';
import { RECOVERY_CODE_TYPED } from '../../../../shared/rules/recovery-code';
import { useSessionStore } from '../../app/session-store';
import { formatDateTime } from '../../i18n/format';

/** One clear, distinct message per refusal: the operator must know whether to retry, wait or call IT. */
export function RefusalMessage({ refusal }: { refusal: Omit<SignInRefusal, 'outcome'> }) {
  const { t, i18n } = useTranslation();
  const until = refusal.lockedUntil
    ? formatDateTime(refusal.lockedUntil, i18n.language)
    : '';
  return (
    <p role="alert" className="error" data-testid="signin-error" data-code={refusal.code}>
      {t(`signin.errors.${refusal.code}`, { until, seconds: refusal.retryAfterSeconds ?? 0 })}
    </p>
  );
}

export function SignInScreen() {
  const { t } = useTranslation();
  const id = useId();
  const { pending, refusal, needsTotp, signIn } = useSessionStore();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [recovery, setRecovery] = useState<string | null>(null);
  const useRecovery = needsTotp && recovery !== null;
  const recoveryOk = recovery !== null && RECOVERY_CODE_TYPED.test(recovery);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (useRecovery) return void signIn({ username, password, ...(recoveryOk ? { recoveryCode: recovery } : {}) });
    void signIn({ username, password, ...(needsTotp && totp ? { totp } : {}) });
  };

  return (
    <section className="card signin" aria-labelledby={`${id}-h`}>
      <h1 id={`${id}-h`}>{t('signin.heading')}</h1>
      <form onSubmit={submit} noValidate>
        <label htmlFor={`${id}-u`}>{t('signin.username')}</label>
        <input id={`${id}-u`} name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        <label htmlFor={`${id}-p`}>{t('signin.password')}</label>
        <input
          id={`${id}-p`}
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        {useRecovery && (
          <>
            <label htmlFor={`${id}-r`}>{t('account.signin.recoveryCode')}</label>
            <input
              id={`${id}-r`}
              name="recovery-code"
              autoComplete="off"
              spellCheck={false}
              maxLength={60}
              aria-describedby={`${id}-rh`}
              value={recovery}
              onChange={(e) => setRecovery(e.target.value)}
              data-testid="signin-recovery"
              autoFocus
            />
            <p id={`${id}-rh`} className="note">{t('account.signin.recoveryHelp')}</p>
            <button type="button" className="link-button" onClick={() => setRecovery(null)} data-testid="signin-use-totp">
              {t('account.signin.useTotp')}
            </button>
          </>
        )}
        {needsTotp && !useRecovery && (
          <>
            <label htmlFor={`${id}-t`}>{t('signin.totp')}</label>
            <input
              id={`${id}-t`}
              name="totp"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="\d{6}"
              maxLength={6}
              value={totp}
              onChange={(e) => setTotp(e.target.value.replace(/\D/g, ''))}
              autoFocus
            />
            <p className="note">{t('signin.totpHelp')}</p>
            <button type="button" className="link-button" onClick={() => setRecovery('')} data-testid="signin-use-recovery">
              {t('account.signin.useRecovery')}
            </button>
          </>
        )}
        <button type="submit" disabled={pending || !username || !password || (useRecovery ? !recoveryOk : needsTotp && totp.length !== 6)}>
          {pending ? t('signin.pending') : t('signin.submit')}
        </button>
      </form>
      {refusal && <RefusalMessage refusal={refusal} />}
      <p className="note">{t('signin.deviceNote')}</p>
    </section>
  );
}
