import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { accountApi, failureOf, svgDataUrl, type AccountApi, type AccountFailure } from './account-api';
import { AccountError } from './AccountError';
import { RecoveryCodes } from './RecoveryCodes';

type Enrolment = { secret: string; qrSvg: string };

/**
 * TOTP enrolment: start (the gateway issues a secret), scan the QR code or type the key,
 * confirm with a code, then the recovery codes once. `onFinished` runs after "I have stored
 * them" and Continue. Starting again issues a new secret (the old one stops confirming); only
 * the answer to the newest start is shown.
 */
export function TotpSetup({ api = accountApi, onFinished, finishing = false }: { api?: Pick<AccountApi, 'totpEnrol' | 'totpConfirm'>; onFinished: () => void; finishing?: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const [pending, setPending] = useState<'start' | 'confirm' | null>(null);
  const [failure, setFailure] = useState<AccountFailure | null>(null);
  const request = useRef(0);
  const step1 = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (enrolment) step1.current?.focus();
  }, [enrolment]);

  const start = async () => {
    const mine = ++request.current;
    setPending('start');
    setFailure(null);
    try {
      const res = await api.totpEnrol();
      if (mine !== request.current) return;
      setEnrolment({ secret: res.secret, qrSvg: res.qrSvg });
      setCode('');
    } catch (err) {
      if (mine === request.current) setFailure(failureOf(err, 'starting TOTP enrolment'));
    } finally {
      if (mine === request.current) setPending(null);
    }
  };

  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    if (pending || code.length !== 6) return;
    const mine = ++request.current;
    setPending('confirm');
    setFailure(null);
    try {
      const res = await api.totpConfirm(code);
      if (mine !== request.current) return;
      setCodes(res.recoveryCodes);
    } catch (err) {
      if (mine === request.current) setFailure(failureOf(err, 'confirming TOTP enrolment')); // the code typed stays
    } finally {
      if (mine === request.current) setPending(null);
    }
  };

  if (codes) return <RecoveryCodes codes={codes} onContinue={onFinished} busy={finishing} />;

  return (
    <div className="totp-setup" data-testid="totp-setup">
      {!enrolment ? (
        <button type="button" onClick={() => void start()} disabled={pending !== null} data-testid="totp-start">
          {pending === 'start' ? t('account.totp.starting') : t('account.totp.start')}
        </button>
      ) : (
        <>
          <p ref={step1} tabIndex={-1}>{t('account.totp.step1')}</p>
          <img className="qr" src={svgDataUrl(enrolment.qrSvg)} alt={t('account.totp.qrAlt')} width={200} height={200} data-testid="totp-qr" />
          <p>
            {t('account.totp.manual')} <code className="secret" data-testid="totp-secret">{enrolment.secret}</code>
          </p>
          <form onSubmit={(e) => void confirm(e)} noValidate>
            <p id={`${id}-step2`}>{t('account.totp.step2')}</p>
            <label htmlFor={`${id}-code`}>{t('account.totp.code')}</label>
            <input
              id={`${id}-code`}
              name="totp-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              aria-describedby={`${id}-step2`}
              aria-invalid={failure?.code === 'totp_invalid' ? true : undefined}
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, '').slice(0, 6))}
              data-testid="totp-code"
            />
            <button type="submit" disabled={pending !== null || code.length !== 6} data-testid="totp-confirm">
              {pending === 'confirm' ? t('account.totp.confirming') : t('account.totp.confirm')}
            </button>
          </form>
          <button type="button" className="link-button" onClick={() => void start()} disabled={pending !== null} data-testid="totp-restart">
            {t('account.totp.restart')}
          </button>
        </>
      )}
      <AccountError failure={failure} testId="totp-error" />
    </div>
  );
}
