// The microphone test before going ready (issue 18 item 7): opens the chosen input, shows its
// level ~10 times a second (RMS of an AnalyserNode, in dBFS), says so once a voice is heard, and
// closes the microphone when closed, after 15 s, or when a call starts. Never during a call: the
// call has the microphone (and a second capture of a headset can fail or glitch on some systems).
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bestEffort, logFailure } from '../../log';
import { liveCalls, usePhoneStore } from './phone-store';

/** Level shown as the meter's floor (quieter reads as silence). */
export const METER_FLOOR_DB = -60;
/** A level above this is a voice (a normal voice on a headset reads -30 to -15 dBFS; room noise below -50). */
export const VOICE_THRESHOLD_DB = -42;
export const MIC_TEST_MS = 15_000;
const SAMPLE_MS = 100;

/** RMS of time-domain samples (-1..1) in dBFS, floored at METER_FLOOR_DB. */
export function rmsDbfs(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  const db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  return Math.max(METER_FLOOR_DB, Math.min(0, db));
}

type Failure = 'denied' | 'missing' | 'other';
type TestState = { kind: 'idle' } | { kind: 'busy' } | { kind: 'failed'; reason: Failure } | { kind: 'testing'; db: number; heard: boolean };

function failureOf(err: unknown): Failure {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') return 'missing';
  return 'other';
}

export function MicTest({ deviceId }: { deviceId: string | null }) {
  const { t, i18n } = useTranslation();
  const [state, setState] = useState<TestState>({ kind: 'idle' });
  const stopRef = useRef<(() => void) | null>(null);
  const mounted = useRef(true);
  const inCall = usePhoneStore((s) => liveCalls(s.calls).length > 0);

  const stop = () => {
    stopRef.current?.();
    stopRef.current = null;
  };
  // closed with the fold, the screen, or the session: the microphone goes with it
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      stop();
    };
  }, []);
  // a call starts: the test gives the microphone back at once
  useEffect(() => {
    if (inCall && stopRef.current) {
      stop();
      setState({ kind: 'idle' });
    }
  }, [inCall]);

  const start = async () => {
    if (inCall) {
      setState({ kind: 'busy' });
      return;
    }
    const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    let stream: MediaStream;
    try {
      if (!md?.getUserMedia) throw Object.assign(new Error('no getUserMedia'), { name: 'NotFoundError' });
      stream = await md.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true, video: false });
    } catch (err) {
      const reason = failureOf(err);
      if (reason === 'other') logFailure('opening the microphone for its test', err);
      if (mounted.current) setState({ kind: 'failed', reason });
      return;
    }
    if (!mounted.current || usePhoneStore.getState().calls.some((c) => c.phase !== 'ended')) {
      // closed, or a call came, while the microphone was opening
      for (const track of stream.getTracks()) track.stop();
      if (mounted.current) setState({ kind: 'busy' });
      return;
    }
    let ctx: AudioContext;
    try {
      ctx = new AudioContext();
    } catch (err) {
      for (const track of stream.getTracks()) track.stop();
      logFailure('making the audio context of the microphone test', err);
      setState({ kind: 'failed', reason: 'other' });
      return;
    }
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    const source = ctx.createMediaStreamSource(stream);
    source.connect(analyser);
    const buffer = new Float32Array(analyser.fftSize);
    let heard = false;
    const tick = setInterval(() => {
      analyser.getFloatTimeDomainData(buffer);
      const db = rmsDbfs(buffer);
      heard ||= db >= VOICE_THRESHOLD_DB;
      setState({ kind: 'testing', db, heard });
    }, SAMPLE_MS);
    const timeout = setTimeout(() => {
      stop();
      setState({ kind: 'idle' });
    }, MIC_TEST_MS);
    stopRef.current = () => {
      clearInterval(tick);
      clearTimeout(timeout);
      source.disconnect();
      for (const track of stream.getTracks()) track.stop();
      void bestEffort('closing the audio context of the microphone test', ctx.close());
    };
    setState({ kind: 'testing', db: METER_FLOOR_DB, heard: false });
  };

  const testing = state.kind === 'testing';
  const db = testing ? state.db : METER_FLOOR_DB;
  const dbText = new Intl.NumberFormat(i18n.language, { maximumFractionDigits: 0 }).format(db);
  const pct = Math.round(((db - METER_FLOOR_DB) / -METER_FLOOR_DB) * 100);

  return (
    <div className="mic-test" data-testid="mic-test">
      <button
        type="button"
        data-testid="mic-test-toggle"
        aria-pressed={testing}
        onClick={() => {
          if (testing) {
            stop();
            setState({ kind: 'idle' });
          } else void start();
        }}
      >
        {testing ? t('audio.micTest.stop') : t('audio.micTest.start')}
      </button>
      {testing && (
        <div
          className="mic-meter"
          role="meter"
          data-testid="mic-meter"
          aria-label={t('audio.micTest.level')}
          aria-valuemin={METER_FLOOR_DB}
          aria-valuemax={0}
          aria-valuenow={Math.round(db)}
          aria-valuetext={db <= METER_FLOOR_DB ? t('audio.micTest.silence') : t('audio.micTest.levelValue', { db: dbText })}
        >
          <span className={state.heard ? 'mic-meter-bar heard' : 'mic-meter-bar'} style={{ width: `${pct}%` }} />
        </div>
      )}
      <p className="note" aria-live="polite" data-testid="mic-test-message">
        {state.kind === 'testing' && (state.heard ? t('audio.micTest.heard') : t('audio.micTest.listening'))}
        {state.kind === 'busy' && t('audio.micTest.busy')}
        {state.kind === 'failed' && t('audio.micTest.failed', { reason: t(`audio.micTest.reason.${state.reason}`) })}
      </p>
    </div>
  );
}
