import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { liveCalls, usePhoneStore } from '../phone/phone-store';
import { useSessionStore } from '../../app/session-store';
import { PhonePanel } from '../phone/PhonePanel';
import { RefusalMessage } from '../signin/SignInScreen';
import type { SignInRefusal } from '../../../../shared/ipc/contract';

/**
 * Shown instead of (not over) every customer view while main says Koe is locked. Calls keep
 * their controls here (answer, decline, hang up, hold, mute), without the customer's data.
 */
export function LockScreen() {
  const { t } = useTranslation();
  const id = useId();
  const unlock = useSessionStore((s) => s.unlock);
  const signedIn = useSessionStore((s) => s.session.status === 'signed-in');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needsTotp, setNeedsTotp] = useState(false);
  const [refusal, setRefusal] = useState<Omit<SignInRefusal, 'outcome'> | null>(null);
  const [pending, setPending] = useState(false);
  const hasCalls = usePhoneStore((s) => liveCalls(s.calls).length > 0);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setPending(true);
    const r = await unlock(password, needsTotp ? totp : undefined);
    setPending(false);
    setPassword('');
    if (!r) return setRefusal({ code: 'unexpected' });
    if (r.outcome === 'refused') {
      if (r.code === 'totp_required') setNeedsTotp(true);
      setRefusal({ code: r.code });
    }
  };

  return (
    <section className="card locked" data-testid="lock-screen" aria-labelledby={`${id}-h`}>
      <h1 id={`${id}-h`}>{t('locked.heading')}</h1>
      <p>{t('locked.body')}</p>
      {signedIn && (
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor={`${id}-p`}>{t('signin.password')}</label>
          <input
            id={`${id}-p`}
            name="unlock-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoFocus
          />
          {needsTotp && (
            <>
              <label htmlFor={`${id}-t`}>{t('signin.totp')}</label>
              <input id={`${id}-t`} name="unlock-totp" inputMode="numeric" maxLength={6} value={totp} onChange={(e) => setTotp(e.target.value.replace(/\D/g, ''))} />
            </>
          )}
          <button type="submit" disabled={pending || !password}>
            {t('locked.unlock')}
          </button>
        </form>
      )}
      {refusal && <RefusalMessage refusal={refusal} />}
      {signedIn && hasCalls && (
        <div data-testid="locked-calls" aria-label={t('locked.calls')}>
          <PhonePanel locked />
        </div>
      )}
    </section>
  );
}
