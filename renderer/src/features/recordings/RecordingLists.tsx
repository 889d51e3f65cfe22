import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallView } from '../../../../shared/gateway/crm';
import type { RecordingView } from '../../../../shared/gateway/recordings';
import { useSessionStore } from '../../app/session-store';
import { logFailure } from '../../log';
import { RecordingPlayer } from './RecordingPlayer';
import { useRecordingsApi } from './recordings-api';
import { clockText } from './time';
import { formatDateTime } from '../../i18n/format';

/** Whether the signed-in principal may hear recordings (the gateway checks again on every call). */
export function useMayPlay(): boolean {
  return useSessionStore((s) => s.session.status === 'signed-in' && s.session.user.permissions.includes('recordings:play'));
}

/** When a call rang or a recording began, in the display language, Japan time (i18n/format.ts). */
function useWhen(): (iso: string) => string {
  const { i18n } = useTranslation();
  return (iso) => formatDateTime(iso, i18n.language);
}
const playable = (r: RecordingView) => r.status === 'complete';

/** A play button for one recording and, once pressed, its player (one open at a time per list). */
function PlayButton({ r, open, onOpen }: { r: RecordingView; open: boolean; onOpen: () => void }) {
  const { t } = useTranslation();
  const when = useWhen();
  return (
    <button type="button" className="rec-play" data-testid="recording-play" data-recording-id={r.id} aria-expanded={open} onClick={onOpen} aria-label={t('recordings.playRecording', { when: when(r.startedAt) })}>
      ▶ {t('recordings.play')} ({clockText(r.durationMs ?? 0)})
    </button>
  );
}

/**
 * The customer card's call history: each call, and a play button on those with a recording
 * (only for a principal with recordings:play; without it the list is the plain history).
 */
export function CustomerCallHistory({ customerId, calls }: { customerId: string | null; calls: CallView[] }) {
  const { t } = useTranslation();
  const when = useWhen();
  const api = useRecordingsApi();
  const mayPlay = useMayPlay();
  const [recs, setRecs] = useState<RecordingView[]>([]);
  const [failed, setFailed] = useState(false);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    if (!mayPlay || !customerId) return;
    let live = true;
    api.byCustomer(customerId).then(
      (r) => live && setRecs(r.filter(playable)),
      (err: unknown) => {
        logFailure('loading the recordings of a customer', err);
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, [api, customerId, mayPlay]);

  const byCall = new Map(recs.map((r) => [r.callId, r]));
  const openRec = recs.find((r) => r.id === open);
  return (
    <>
      <ul data-testid="customer-calls">
        {calls.slice(0, 5).map((c) => {
          const r = byCall.get(c.callId);
          return (
            <li key={c.id} data-testid="customer-call" data-call-id={c.callId}>
              {when(c.ringingAt)} {c.disposition ?? ''}
              {r && <PlayButton r={r} open={open === r.id} onOpen={() => setOpen(open === r.id ? null : r.id)} />}
            </li>
          );
        })}
      </ul>
      {failed && <p className="note" data-testid="recordings-failed">{t('recordings.loadFailed')}</p>}
      {openRec && <RecordingPlayer key={openRec.id} recording={openRec} label={when(openRec.startedAt)} onClose={() => setOpen(null)} />}
    </>
  );
}

/** The lead's board: the most recent recorded calls of the teams' operators, with the player. */
export function RecentRecordings({ names }: { names: Map<string, string> }) {
  const { t } = useTranslation();
  const when = useWhen();
  const api = useRecordingsApi();
  const mayPlay = useMayPlay();
  const [recs, setRecs] = useState<RecordingView[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    if (!mayPlay) return;
    let live = true;
    api.recent(10).then(
      (r) => live && setRecs(r.filter(playable)),
      (err: unknown) => {
        logFailure('loading the recent recordings', err);
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, [api, mayPlay]);

  if (!mayPlay) return null;
  const openRec = recs?.find((r) => r.id === open);
  return (
    <div className="recent-recordings" data-testid="recent-recordings" aria-labelledby="recent-rec-h">
      <h3 id="recent-rec-h">{t('recordings.recent')}</h3>
      {failed && <p className="note" data-testid="recordings-failed">{t('recordings.loadFailed')}</p>}
      {recs && recs.length === 0 && <p className="note">{t('recordings.none')}</p>}
      {recs && recs.length > 0 && (
        <ul>
          {recs.map((r) => (
            <li key={r.id} data-testid="recent-recording" data-recording-id={r.id}>
              {when(r.startedAt)} · {names.get(r.operatorId) ?? t('recordings.operator')}{' '}
              <PlayButton r={r} open={open === r.id} onOpen={() => setOpen(open === r.id ? null : r.id)} />
            </li>
          ))}
        </ul>
      )}
      {openRec && <RecordingPlayer key={openRec.id} recording={openRec} label={when(openRec.startedAt)} onClose={() => setOpen(null)} />}
    </div>
  );
}
