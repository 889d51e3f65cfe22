// The outbound dial form (issue 18 item 6): the number field (typed, or pasted with its
// separators stripped), a dial pad (0-9 * #, backspace; digit keys also work while the pad has
// the focus), Redial (the last number dialled in this session, kept in memory only and gone with
// the session), and with several campaigns the one the call is for, with the caller ID it presents.
import { useEffect, useId, useState, type ClipboardEvent, type FormEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatPhone } from '../../../../shared/rules/phone-format';
import { shortcutProps } from '../../app/shortcut-props';
import { PhoneNumber } from '../../app/PhoneNumber';
import { DIAL_KEYS, loadOutboundCampaigns, pastedNumber } from './outbound';
import { usePhoneStore } from './phone-store';
import { useTelephony } from './Telephony';

const MAX_LENGTH = 64;

export function DialForm() {
  const { t } = useTranslation();
  const id = useId();
  const phoneActions = useTelephony().calls;
  const registered = usePhoneStore((s) => s.registration === 'registered');
  const campaigns = usePhoneStore((s) => s.outboundCampaigns);
  const campaignId = usePhoneStore((s) => s.dialCampaignId);
  const last = usePhoneStore((s) => s.lastDialled);
  const [number, setNumber] = useState('');

  useEffect(() => {
    if (registered && campaigns === null) void loadOutboundCampaigns();
  }, [registered, campaigns]);

  const choosing = (campaigns?.length ?? 0) > 1;
  const chosen = campaigns?.find((c) => c.id === campaignId) ?? null;
  const ready = registered && (!choosing || chosen !== null);

  const dial = (e: FormEvent) => {
    e.preventDefault();
    void phoneActions.dial(number, null, chosen?.id ?? null).then((ok) => ok && setNumber(''));
  };
  const press = (key: string) => setNumber((n) => (n + key).slice(0, MAX_LENGTH));
  const backspace = () => setNumber((n) => n.slice(0, -1));
  const onPaste = (e: ClipboardEvent<HTMLInputElement>) => {
    const digits = pastedNumber(e.clipboardData.getData('text'));
    if (digits === null) return; // not a number: pasted as it is
    e.preventDefault();
    const el = e.currentTarget;
    const start = el.selectionStart ?? number.length;
    const end = el.selectionEnd ?? number.length;
    setNumber((number.slice(0, start) + digits + number.slice(end)).slice(0, MAX_LENGTH));
  };
  // the pad answers the keyboard too: digits, * and #, Backspace (Tab and Enter keep their meaning)
  const onPadKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if ((DIAL_KEYS as readonly string[]).includes(e.key)) {
      e.preventDefault();
      press(e.key);
    } else if (e.key === 'Backspace') {
      e.preventDefault();
      backspace();
    }
  };
  const redialLabel = last ? t('calls.redialTo', { number: formatPhone(last.number, { style: 'national' }) }) : t('calls.redial');

  return (
    <form onSubmit={dial} className="dial" data-testid="dial-form">
      {choosing && (
        <div className="dial-campaign">
          <label htmlFor={`${id}-campaign`}>{t('calls.campaign')}</label>
          <select
            id={`${id}-campaign`}
            data-testid="dial-campaign"
            value={campaignId ?? ''}
            onChange={(e) => usePhoneStore.setState({ dialCampaignId: e.target.value || null })}
          >
            <option value="">{t('calls.chooseCampaign')}</option>
            {campaigns!.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
      )}
      {chosen && (
        <p className="dial-caller-id" data-testid="dial-caller-id">
          {chosen.callerId ? (
            <>
              {t('calls.callerId')}{' '}
              <PhoneNumber value={chosen.callerId} testid="dial-caller-id-number" />
            </>
          ) : (
            t('calls.noCallerId')
          )}
        </p>
      )}
      <label htmlFor="dial-number">{t('phone.number')}</label>
      <div className="row">
        <input
          id="dial-number"
          data-testid="dial-number"
          {...shortcutProps('dial')}
          inputMode="tel"
          autoComplete="off"
          maxLength={MAX_LENGTH}
          value={number}
          onChange={(e) => setNumber(e.target.value)}
          onPaste={onPaste}
        />
        <button type="button" data-testid="dial-backspace" aria-label={t('calls.backspace')} disabled={number === ''} onClick={backspace}>
          ⌫
        </button>
      </div>
      <div className="keypad dial-pad" role="group" aria-label={t('calls.dialPad')} data-testid="dial-pad" onKeyDown={onPadKey}>
        {DIAL_KEYS.map((k) => (
          <button type="button" key={k} data-testid={`pad-${k}`} onClick={() => press(k)}>
            {k}
          </button>
        ))}
      </div>
      <div className="row">
        <button type="submit" data-testid="dial" disabled={!ready || !number.trim()}>
          {t('phone.call')}
        </button>
        <button
          type="button"
          data-testid="redial"
          aria-label={redialLabel}
          title={redialLabel}
          disabled={!registered || last === null}
          onClick={() => last && void phoneActions.dial(last.number, null, last.campaignId)}
        >
          {t('calls.redial')}
        </button>
      </div>
    </form>
  );
}
