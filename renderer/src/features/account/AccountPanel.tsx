import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { accountApi, failureOf, type AccountApi, type AccountFailure } from './account-api';
import { AccountError } from './AccountError';
import { MyDevices } from './MyDevices';
import { PasswordChange } from './PasswordChange';
import { RecoveryCodes } from './RecoveryCodes';
import { DisplaySettings } from '../../app/DisplaySettings';
import { TotpSetup } from './TotpSetup';

/** Two-factor status: set it up when it is not, or issue new recovery codes (with a current code) when it is. */
function TwoFactor({ api }: { api: AccountApi }) {
  const { t } = useTranslation();
  const id = useId();
  const [enabled, setEnabled] = useState<boolean | null>(null);
  const [failure, setFailure] = useState<AccountFailure | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [pending, setPending] = useState(false);

  const load = useCallback(async () => {
    try {
      setEnabled((await api.me()).user.totpEnabled);
    } catch (err) {
      setFailure(failureOf(err, 'loading the two-factor status'));
    }
  }, [api]);
  useEffect(() => void load(), [load]);

  const replace = async (e: FormEvent) => {
    e.preventDefault();
    if (pending || code.length !== 6) return;
    setPending(true);
    setFailure(null);
    try {
      setCodes((await api.replaceRecoveryCodes(code)).recoveryCodes);
      setCode('');
    } catch (err) {
      setFailure(failureOf(err, 'replacing the recovery codes'));
    } finally {
      setPending(false);
    }
  };

  return (
    <section className="account-section" aria-labelledby={`${id}-h`} data-testid="two-factor">
      <h2 id={`${id}-h`}>{t('account.totp.heading')}</h2>
      {codes ? (
        <RecoveryCodes codes={codes} onContinue={() => setCodes(null)} />
      ) : enabled === false ? (
        <>
          <p>{t('account.totp.notEnabled')}</p>
          <TotpSetup api={api} onFinished={() => void load()} />
        </>
      ) : enabled ? (
        <>
          <p>{t('account.totp.enabled')}</p>
          <form onSubmit={(e) => void replace(e)} noValidate>
            <p id={`${id}-help`} className="note">{t('account.recovery.replaceHelp')}</p>
            <label htmlFor={`${id}-code`}>{t('account.totp.code')}</label>
            <input
              id={`${id}-code`}
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              aria-describedby={`${id}-help`}
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, '').slice(0, 6))}
              data-testid="recovery-replace-code"
            />
            <button type="submit" disabled={pending || code.length !== 6} data-testid="recovery-replace">{t('account.recovery.replaceSubmit')}</button>
          </form>
        </>
      ) : null}
      <AccountError failure={failure} testId="two-factor-error" />
    </section>
  );
}

/**
 * The signed-in user's own account, opened beside the workspace (a call in progress stays on
 * screen): two-factor authentication, password, and their PCs. Every action goes to the
 * gateway with the session's access token (renderer/src/gateway.ts).
 */
export function AccountPanel({ api = accountApi }: { api?: AccountApi }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  useEffect(() => {
    if (open) heading.current?.focus();
    else if (wasOpen.current) opener.current?.focus();
    wasOpen.current = open;
  }, [open]);

  if (!open) {
    return (
      <button type="button" ref={opener} className="account-open" aria-expanded="false" onClick={() => setOpen(true)} data-testid="account-open">
        {t('account.open')}
      </button>
    );
  }
  return (
    <section className="card account" aria-labelledby="account-h" data-testid="account" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
      <h1 id="account-h" ref={heading} tabIndex={-1}>{t('account.heading')}</h1>
      <button type="button" aria-expanded="true" onClick={() => setOpen(false)} data-testid="account-close">{t('account.close')}</button>
      <section className="account-section" aria-labelledby="display-h">
        <h2 id="display-h">{t('display.heading')}</h2>
        <DisplaySettings />
      </section>
      <TwoFactor api={api} />
      <PasswordChange api={api} />
      <MyDevices api={api} />
    </section>
  );
}
