import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { inConference, liveCalls, usePhoneStore, type PhoneCall } from './phone-store';
import { formatDuration } from '../../app/clock';
import { useTelephony } from './Telephony';
import { SecureCaptureControl } from '../recordings/SecureCapture';
import { PhoneNumber } from '../../app/PhoneNumber';
import { shortcutProps } from '../../app/shortcut-props';
import { CallQuality } from './CallQuality';
import { HoldTimer } from './HoldTimer';
import { DialForm } from './DialPad';
import { DIAL_KEYS } from './outbound';
import { TransferDirectory } from './TransferDirectory';

/** A text field the operator may be typing in: a ring does not take the focus from it. */
function typingIn(el: Element | null): boolean {
  if (el instanceof HTMLTextAreaElement) return true;
  if (el instanceof HTMLInputElement) return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(el.type);
  return el instanceof HTMLElement && el.isContentEditable;
}

function RingingPanel({ call, locked }: { call: PhoneCall; locked: boolean }) {
  const { t } = useTranslation();
  const phoneActions = useTelephony().calls;
  useLayoutEffect(() => {
    // the frame's own time (the same for everything painted in that frame), not when this callback ran
    const id = requestAnimationFrame((frame) => performance.mark(`koe:ringing-painted:${call.id}`, { startTime: frame }));
    return () => cancelAnimationFrame(id);
  }, [call.id]);
  // Focus goes to the answer button when a call rings (issue 18), except from a text field the
  // operator is typing in (a space or Enter meant for the note must not answer): Ctrl+Alt+A
  // answers from anywhere. The ring is announced by the shell (Shortcuts.tsx), once, with the name.
  const answer = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!typingIn(document.activeElement)) answer.current?.focus();
  }, [call.id]);
  return (
    <div className="ringing" data-testid="ringing" data-call-id={call.id}>
      <p className="ringing-title">{t('phone.incoming')}</p>
      {/* the caller's number is the customer's data: not shown while locked */}
      {!locked && (
        <p className="ringing-number">
          {call.remote ? <PhoneNumber value={call.remote} testid="ringing-number" /> : <span className="phone-number" data-testid="ringing-number">{t('phone.anonymous')}</span>}
        </p>
      )}
      <div className="row">
        <button ref={answer} type="button" className="answer" data-testid="answer" data-focus-home="1" {...shortcutProps('answer')} onClick={() => void phoneActions.answer(call.id)}>
          {t('phone.answer')}
        </button>
        <button type="button" className="danger" data-testid="reject" {...shortcutProps('hangup')} onClick={() => void phoneActions.reject(call.id, 603)}>
          {t('phone.reject')}
        </button>
      </div>
    </div>
  );
}

function CallControls({ call, consult, locked }: { call: PhoneCall; consult: PhoneCall | null; locked: boolean }) {
  const { t } = useTranslation();
  const phoneActions = useTelephony().calls;
  const [target, setTarget] = useState('');
  const [keypad, setKeypad] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  const established = call.phase === 'established';
  const conference = usePhoneStore((s) => s.conference);
  const conferenced = inConference(conference, call.id);
  // the three-way call's controls live on the customer's call
  const hostsConference = conferenced && conference?.primaryId === call.id;
  // Join: the consultation is connected and the customer is waiting on hold
  const canJoin = !conference && established && call.held && consult?.phase === 'established';
  // the Join button goes when the calls are joined: the focus moves to "hang up all", not to the page
  const endAll = useRef<HTMLButtonElement>(null);
  const joining = useRef(false);
  useEffect(() => {
    if (hostsConference && joining.current) endAll.current?.focus();
    joining.current = false;
  }, [hostsConference]);
  return (
    <div className="call" tabIndex={-1} role="group" aria-label={t('phone.callGroup')} data-focus-home="2" data-testid="call" data-call-id={call.id} data-phase={call.phase} data-held={call.held ? 'true' : 'false'} data-muted={call.muted ? 'true' : 'false'} data-media={call.mediaLost ? 'lost' : 'ok'}>
      <p>
        {!locked && (
          <PhoneNumber value={call.remote} className="call-remote" testid="call-remote" />
        )}{' '}
        <span className="badge">{t(`phone.phase.${call.phase}`)}</span>
        {call.held && <span className="badge">{t('phone.onHold')}</span>}
        {call.muted && <span className="badge">{t('phone.muted')}</span>}
        {call.mediaLost && established && (
          <span className="badge badge-warn" role="status" data-testid="call-media-lost">
            {t('phone.mediaLost')}
          </span>
        )}
        {call.consultFor && !conferenced && <span className="badge">{t('phone.consultation')}</span>}
        {conferenced && (
          <span className="badge" data-testid="conference-badge">
            {t('phone.inConference')}
          </span>
        )}
        {call.answeredAt && <span className="timer" data-testid="call-timer">{formatDuration(now - call.answeredAt)}</span>}
        <HoldTimer call={call} now={now} />
        {established && <CallQuality callId={call.id} />}
      </p>
      <div className="row">
        <button type="button" data-testid="hold" {...shortcutProps('hold')} disabled={!established || conferenced} onClick={() => void phoneActions.hold(call.id, !call.held)}>
          {call.held ? t('phone.resume') : t('phone.hold')}
        </button>
        <button type="button" data-testid="mute" {...shortcutProps('mute')} disabled={!established} onClick={() => void phoneActions.mute(call.id, !call.muted)}>
          {call.muted ? t('phone.unmute') : t('phone.mute')}
        </button>
        <button type="button" data-testid="keypad-toggle" aria-expanded={keypad} {...shortcutProps('dial')} disabled={!established} onClick={() => setKeypad(!keypad)}>
          {t('phone.keypad')}
        </button>
        <button type="button" className="danger" data-testid="hangup" {...shortcutProps('hangup')} onClick={() => void phoneActions.hangup(call.id)}>
          {t('phone.hangup')}
        </button>
        {hostsConference && (
          <button ref={endAll} type="button" className="danger" data-testid="end-conference" onClick={() => void phoneActions.hangupConference()}>
            {t('phone.endConference')}
          </button>
        )}
        {!call.consultFor && <SecureCaptureControl sipCallId={call.sipCallId} established={established} />}
      </div>
      {hostsConference && !locked && (
        <p className="note" data-testid="conference-note">
          {t('phone.conferenceNote')}
        </p>
      )}
      {keypad && established && (
        <div className="keypad" data-testid="keypad" role="group" aria-label={t('phone.keypad')}>
          {DIAL_KEYS.map((k) => (
            <button type="button" key={k} data-testid={`dtmf-${k}`} onClick={() => void phoneActions.dtmf(call.id, k)}>
              {k}
            </button>
          ))}
          <output data-testid="dtmf-sent">{call.dtmf}</output>
        </div>
      )}
      {established && !call.consultFor && !locked && (
        <div className="row transfer">
          <label className="sr-only" htmlFor={`tt-${call.id}`}>
            {t('phone.transferTarget')}
          </label>
          <input id={`tt-${call.id}`} data-testid="transfer-target" {...shortcutProps('transfer')} placeholder={t('phone.transferTarget')} value={target} onChange={(e) => setTarget(e.target.value)} />
          <TransferDirectory
            onPick={(picked) => {
              setTarget(picked);
              document.getElementById(`tt-${call.id}`)?.focus();
            }}
          />
          <button type="button" data-testid="blind-transfer" disabled={!target} onClick={() => void phoneActions.blindTransfer(call.id, target)}>
            {t('phone.blindTransfer')}
          </button>
          {consult ? (
            <>
              <button
                type="button"
                data-testid="complete-transfer"
                disabled={consult.phase !== 'established'}
                onClick={() => void phoneActions.attendedTransfer(call.id, consult.id)}
              >
                {t('phone.completeTransfer')}
              </button>
              {canJoin && (
                <button
                  type="button"
                  data-testid="join-conference"
                  onClick={() => {
                    joining.current = true;
                    void phoneActions.join(call.id, consult.id).then((ok) => {
                      if (!ok) joining.current = false;
                    });
                  }}
                >
                  {t('phone.joinConference')}
                </button>
              )}
            </>
          ) : (
            <button type="button" data-testid="consult" disabled={!target} onClick={() => void phoneActions.dial(target, call.id)}>
              {t('phone.consult')}
            </button>
          )}
        </div>
      )}
    </div>
  );
}

/**
 * The softphone: dial, ringing, and the controls of each live call. `locked`: the lock screen's
 * call controls (answer, decline, hang up, hold, mute) without the customer's number, dialling
 * or transfer.
 */
export function PhonePanel({ locked = false }: { locked?: boolean }) {
  const { t } = useTranslation();
  const calls = usePhoneStore((s) => s.calls);
  const error = usePhoneStore((s) => s.error);
  const live = liveCalls(calls);
  const ringing = live.find((c) => c.direction === 'inbound' && c.phase === 'ringing');
  const others = live.filter((c) => c !== ringing);

  return (
    <section className="card phone" data-testid="phone-panel" aria-labelledby="phone-h">
      <h2 id="phone-h">{t('phone.heading')}</h2>
      {ringing && <RingingPanel call={ringing} locked={locked} />}
      {others.map((c) => (
        <CallControls key={c.id} call={c} locked={locked} consult={c.consultFor ? null : (live.find((x) => x.consultFor === c.id) ?? null)} />
      ))}
      {live.length === 0 && !locked && <DialForm />}
      {error && (
        <p role="alert" className="error" data-testid="phone-error" data-code={error}>
          {t(`phone.errors.${error}`)}
        </p>
      )}
    </section>
  );
}
