import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { RecordingView } from '../../../../shared/gateway/recordings';
import { PcmPlayer, SPEEDS, type PlayerState, type Speed } from './pcm-player';
import { useRecordingsApi } from './recordings-api';
import { clockText, spokenText } from './time';

const STEP_MS = 5_000;

/**
 * One recording's player (docs/telephony.md "Recordings in the app"): play/pause, a seek bar
 * (pointer; keyboard ←/→ ±5 s, Home/End), speed, position/duration, the secure-capture gaps
 * marked on the bar and listed for screen readers. Streaming only: no <audio> element, no
 * download control, no context menu.
 */
export function RecordingPlayer({ recording, label, onClose }: { recording: RecordingView; label: string; onClose: () => void }) {
  const { t } = useTranslation();
  const api = useRecordingsApi();
  const playerRef = useRef<PcmPlayer | null>(null);
  const [state, setState] = useState<PlayerState>({ status: 'idle', positionMs: 0, durationMs: recording.durationMs ?? 0, rate: 1, error: null });

  useEffect(() => {
    const p = new PcmPlayer(api.stream(recording.id), () => api.makeAudio(), setState, recording.durationMs ?? 0);
    playerRef.current = p;
    return () => {
      p.dispose();
      playerRef.current = null;
    };
  }, [api, recording.id, recording.durationMs]);

  const player = () => playerRef.current;
  const playing = state.status === 'playing' || state.status === 'loading';
  const duration = state.durationMs;
  const pct = (ms: number) => (duration > 0 ? Math.min(100, (ms / duration) * 100) : 0);
  const toggle = () => (playing ? player()?.pause() : void player()?.play());

  const onKey = (e: KeyboardEvent) => {
    const at = player() ? player()!.position() * 1000 : state.positionMs;
    const to: Record<string, number> = { ArrowLeft: at - STEP_MS, ArrowDown: at - STEP_MS, ArrowRight: at + STEP_MS, ArrowUp: at + STEP_MS, Home: 0, End: duration };
    if (e.key in to) {
      e.preventDefault();
      player()?.seek(to[e.key]!);
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      toggle();
    }
  };
  const onPointer = (e: PointerEvent<HTMLDivElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    if (box.width <= 0) return;
    player()?.seek(((e.clientX - box.left) / box.width) * duration);
  };

  return (
    <section
      className="recording-player"
      data-testid="recording-player"
      data-recording-id={recording.id}
      data-status={state.status}
      data-position-ms={state.positionMs}
      data-rate={state.rate}
      aria-label={t('recordings.player', { when: label })}
      onContextMenu={(e) => e.preventDefault()}
    >
      <div className="rp-controls">
        <button type="button" data-testid="rp-toggle" onClick={toggle} aria-label={playing ? t('recordings.pause') : t('recordings.play')}>
          {playing ? '❚❚' : '▶'} {playing ? t('recordings.pause') : t('recordings.play')}
        </button>
        <div
          className="rp-track"
          role="slider"
          tabIndex={0}
          data-testid="rp-seek"
          aria-label={t('recordings.position')}
          aria-valuemin={0}
          aria-valuemax={Math.round(duration / 1000)}
          aria-valuenow={Math.round(state.positionMs / 1000)}
          aria-valuetext={t('recordings.positionText', { position: spokenText(t, state.positionMs), duration: spokenText(t, duration) })}
          aria-describedby={`rp-keys-${recording.id}`}
          onKeyDown={onKey}
          onPointerDown={onPointer}
        >
          <div className="rp-fill" style={{ width: `${pct(state.positionMs)}%` }} />
          {recording.gaps.map((g) => (
            <div
              key={`${g.startMs}-${g.endMs}-${g.reason}`}
              className="rp-gap"
              data-reason={g.reason}
              data-testid="rp-gap"
              data-start-ms={g.startMs}
              data-end-ms={g.endMs}
              title={t(g.reason === 'dtmf' ? 'recordings.gapDtmf' : 'recordings.gap', { start: clockText(g.startMs), end: clockText(g.endMs) })}
              style={{ left: `${pct(g.startMs)}%`, width: `${Math.max(0.5, pct(g.endMs) - pct(g.startMs))}%` }}
            />
          ))}
          <div className="rp-thumb" style={{ left: `${pct(state.positionMs)}%` }} />
        </div>
        <span className="rp-time" data-testid="rp-time">
          {clockText(state.positionMs)} / {clockText(duration)}
        </span>
        <label className="rp-speed">
          {t('recordings.speed')}{' '}
          <select data-testid="rp-speed" value={String(state.rate)} onChange={(e) => player()?.setRate(Number(e.target.value) as Speed)}>
            {SPEEDS.map((s) => (
              <option key={s} value={String(s)}>
                {t('recordings.speedValue', { rate: s })}
              </option>
            ))}
          </select>
        </label>
        <button type="button" data-testid="rp-close" onClick={onClose}>
          {t('recordings.close')}
        </button>
      </div>
      <p className="note" id={`rp-keys-${recording.id}`}>
        {t('recordings.keys')} · {t('recordings.channels')} · {t('recordings.noDownload')}
      </p>
      {recording.gaps.length > 0 && (
        <ul className="rp-gaps" data-testid="rp-gap-list" aria-label={t('recordings.gaps')}>
          {recording.gaps.map((g) => (
            <li key={`${g.startMs}-${g.endMs}-${g.reason}`}>{t(g.reason === 'dtmf' ? 'recordings.gapDtmf' : 'recordings.gap', { start: clockText(g.startMs), end: clockText(g.endMs) })}</li>
          ))}
        </ul>
      )}
      <p role="status" className="rp-status">
        {state.status === 'loading' && t('recordings.loading')}
        {state.status === 'ended' && t('recordings.ended')}
      </p>
      {state.error && (
        <p role="alert" className="error" data-testid="rp-error" data-code={state.error}>
          {t(`recordings.errors.${state.error}`)}
        </p>
      )}
    </section>
  );
}
