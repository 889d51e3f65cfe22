import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { logFailure } from '../../log';

/**
 * The recovery codes, shown once: copy and print, and "I have stored them" before going on.
 * Nothing here keeps them: when this unmounts they are gone from the renderer.
 */
export function RecoveryCodes({ codes, onContinue, busy = false }: { codes: string[]; onContinue: () => void; busy?: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [stored, setStored] = useState(false);
  const [copy, setCopy] = useState<'copied' | 'copyFailed' | null>(null);
  useEffect(() => heading.current?.focus(), []);

  const copyCodes = async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopy('copied');
    } catch (err) {
      logFailure('copying the recovery codes', err);
      setCopy('copyFailed');
    }
  };

  return (
    <div className="recovery-codes printable" data-testid="recovery-codes">
      <h2 id={`${id}-h`} ref={heading} tabIndex={-1}>{t('account.recovery.heading')}</h2>
      <p>{t('account.recovery.intro')}</p>
      <ol className="codes" aria-labelledby={`${id}-h`} data-testid="recovery-code-list">
        {codes.map((c) => (
          <li key={c}><code>{c}</code></li>
        ))}
      </ol>
      <div className="actions no-print">
        <button type="button" onClick={() => void copyCodes()} data-testid="recovery-copy">{t('account.recovery.copy')}</button>
        <button type="button" onClick={() => window.print()} data-testid="recovery-print">{t('account.recovery.print')}</button>
      </div>
      {copy && <p role="status" className={copy === 'copied' ? 'note' : 'error'}>{t(`account.recovery.${copy}`)}</p>}
      <div className="no-print check">
        <input id={`${id}-stored`} type="checkbox" checked={stored} onChange={(e) => setStored(e.target.checked)} data-testid="recovery-stored" />
        <label htmlFor={`${id}-stored`}>{t('account.recovery.stored')}</label>
      </div>
      <button type="button" className="no-print" disabled={!stored || busy} onClick={onContinue} data-testid="recovery-continue">
        {t('account.recovery.continue')}
      </button>
    </div>
  );
}
