import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { passwordViolations, type PasswordPolicy, type PasswordViolation } from '../../../../shared/rules/password-policy';
import { accountApi, failureOf, type AccountApi, type AccountFailure } from './account-api';
import { AccountError } from './AccountError';

/** The rules the policy asks for, in the order shown (the same rule function the gateway runs). */
function shownRules(policy: PasswordPolicy): PasswordViolation[] {
  return [
    'too_short',
    ...(policy.requireUpper ? (['missing_upper'] as const) : []),
    ...(policy.requireLower ? (['missing_lower'] as const) : []),
    ...(policy.requireDigit ? (['missing_digit'] as const) : []),
    ...(policy.requireSymbol ? (['missing_symbol'] as const) : []),
    'common_password',
    'contains_username',
    'too_long',
  ];
}

/**
 * Password change: the org's rules (GET /me/password-policy) checked as the user types with
 * shared/rules/password-policy.ts, the function the gateway itself runs, so the two cannot
 * disagree; the gateway still decides (and alone checks the history). On a refusal or a lost
 * connection everything typed stays.
 */
export function PasswordChange({ api = accountApi, onChanged, heading = 'h2' }: {
  api?: Pick<AccountApi, 'passwordPolicy' | 'changePassword'>;
  /** After the gateway accepted the new password (the forced screen re-reads the session then). */
  onChanged?: () => void;
  /** The forced screen (PasswordChangeScreen) shows its own h1 above. */
  heading?: 'h2' | 'none';
}) {
  const { t } = useTranslation();
  const id = useId();
  const [rules, setRules] = useState<{ policy: PasswordPolicy; username: string } | null>(null);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<AccountFailure | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    let live = true;
    api.passwordPolicy().then(
      (r) => live && setRules(r),
      (err: unknown) => live && setFailure(failureOf(err, 'loading the password policy')),
    );
    return () => {
      live = false;
    };
  }, [api]);

  const violations = useMemo(() => (rules ? passwordViolations(next, rules.policy, { username: rules.username }) : []), [next, rules]);
  const mismatch = again.length > 0 && again !== next;
  const ready = rules !== null && current.length > 0 && next.length > 0 && violations.length === 0 && again === next && !pending;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!ready) return;
    setPending(true);
    setFailure(null);
    setSaved(false);
    try {
      await api.changePassword(current, next);
      setCurrent('');
      setNext('');
      setAgain('');
      setSaved(true);
      onChanged?.();
    } catch (err) {
      setFailure(failureOf(err, 'changing the password'));
    } finally {
      setPending(false);
    }
  };

  return (
    <section className="account-section" aria-labelledby={`${id}-h`} data-testid="password-change">
      {heading === 'h2' ? <h2 id={`${id}-h`}>{t('account.password.heading')}</h2> : <span id={`${id}-h`} className="visually-hidden">{t('account.password.heading')}</span>}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor={`${id}-cur`}>{t('account.password.current')}</label>
        <input id={`${id}-cur`} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} data-testid="password-current" />
        <label htmlFor={`${id}-new`}>{t('account.password.next')}</label>
        <input
          id={`${id}-new`}
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.target.value)}
          aria-describedby={`${id}-rules`}
          aria-invalid={next.length > 0 && violations.length > 0 ? true : undefined}
          data-testid="password-new"
        />
        {rules && (
          <div id={`${id}-rules`} className="password-rules">
            <p className="note">{t('account.password.rules')}</p>
            <ul data-testid="password-rules">
              {shownRules(rules.policy).map((rule) => {
                const met = next.length > 0 && !violations.includes(rule);
                return (
                  <li key={rule} data-rule={rule} data-met={met ? 'true' : 'false'} className={met ? 'rule-met' : 'rule-unmet'}>
                    <span aria-hidden="true">{met ? '✓ ' : '・'}</span>
                    {t(`account.password.rule.${rule}`, { min: rules.policy.minLength, max: rules.policy.maxLength })}
                    <span className="visually-hidden">（{met ? t('account.password.ruleMet') : t('account.password.ruleUnmet')}）</span>
                  </li>
                );
              })}
            </ul>
            {rules.policy.historyCount > 0 && <p className="note">{t('account.password.history', { count: rules.policy.historyCount })}</p>}
          </div>
        )}
        <label htmlFor={`${id}-again`}>{t('account.password.again')}</label>
        <input
          id={`${id}-again`}
          type="password"
          autoComplete="new-password"
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          aria-invalid={mismatch ? true : undefined}
          aria-describedby={mismatch ? `${id}-mismatch` : undefined}
          data-testid="password-again"
        />
        {mismatch && <p id={`${id}-mismatch`} className="error">{t('account.password.mismatch')}</p>}
        <button type="submit" disabled={!ready} data-testid="password-submit">
          {pending ? t('account.password.saving') : t('account.password.submit')}
        </button>
      </form>
      <AccountError failure={failure} testId="password-error" />
      {saved && <p role="status" className="note" data-testid="password-saved">{t('account.password.saved')}</p>}
    </section>
  );
}
