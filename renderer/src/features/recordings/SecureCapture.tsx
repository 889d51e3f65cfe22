import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { GatewayCallError } from '../../../../shared/gateway-client';
import { logFailure } from '../../log';
import { useRecordingsApi } from './recordings-api';

/** How often the in-call control asks whether the call is being recorded (it starts on answer, asynchronously). */
export const LIVE_POLL_MS = 3_000;

/**
 * The operator's "secure capture" toggle on the in-call controls (docs/telephony.md
 * "Recordings in the app"): shown only while the gateway says this call is being recorded;
 * pressed, the recording pauses while the customer reads card details (the gap is kept in the
 * recording's metadata); pressed again, it resumes. The state shown is the gateway's answer.
 */
export function SecureCaptureControl({ sipCallId, established }: { sipCallId: string; established: boolean }) {
  const { t } = useTranslation();
  const api = useRecordingsApi();
  const [live, setLive] = useState<{ recording: boolean; paused: boolean }>({ recording: false, paused: false });
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const logged = useRef(false);

  useEffect(() => {
    if (!established) return;
    let on = true;
    const ask = () =>
      api.liveState(sipCallId).then(
        (s) => on && setLive({ recording: s.recording, paused: s.paused }),
        (err: unknown) => {
          // 404: a call the gateway has not marked answered yet, or a gateway that records nothing: not recorded (an answer, not a failure)
          const notRecorded = err instanceof GatewayCallError && err.status === 404;
          if (!notRecorded && !logged.current) {
            logFailure('asking whether the call is recorded', err);
            logged.current = true;
          }
          if (on) setLive({ recording: false, paused: false });
        },
      );
    void ask();
    const id = setInterval(() => void ask(), LIVE_POLL_MS);
    return () => {
      on = false;
      clearInterval(id);
    };
  }, [api, sipCallId, established]);

  if (!established || !live.recording) return null;
  const toggle = async () => {
    if (busy) return;
    setBusy(true);
    setFailed(false);
    try {
      const s = await api.secureCapture(sipCallId, !live.paused);
      setLive({ recording: s.recording, paused: s.paused });
    } catch (err) {
      logFailure('switching secure capture', err);
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="secure-capture" data-testid="secure-capture" data-paused={live.paused ? 'true' : 'false'}>
      <button type="button" className={live.paused ? 'secure-on' : undefined} data-testid="secure-capture-toggle" aria-pressed={live.paused} aria-disabled={busy} onClick={() => void toggle()}>
        {live.paused ? t('recordings.secure.resume') : t('recordings.secure.pause')}
      </button>
      <span role="status" className={live.paused ? 'badge secure-badge' : 'badge rec-badge'} data-testid="secure-capture-state">
        {live.paused ? t('recordings.secure.paused') : `● ${t('recordings.secure.recording')}`}
      </span>
      {failed && (
        <span role="alert" className="error" data-testid="secure-capture-error">
          {t('recordings.secure.failed')}
        </span>
      )}
    </span>
  );
}
