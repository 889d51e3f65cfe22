// The recordings player's engine (docs/telephony.md "Recordings in the app"): byte ranges of
// the gateway's WAV (8 kHz, stereo s16le: left customer, right operator) decoded in memory into
// Web Audio buffers and scheduled back to back. No <audio> element, no blob: URL, no file: the
// audio exists only as the few seconds of buffers ahead of the playhead, and nothing offers to
// save it. Seek and speed restart the feed at the playhead; a late range re-anchors the clock
// (the position waits for the audio rather than running ahead of it).
import { logFailure } from '../../log';
import { StreamError, type RecordingStream, type StreamErrorCode } from './recording-stream';

const HEADER_BYTES = 44;
const FRAME_BYTES = 4;
const SAMPLE_RATE = 8000;
/** The first range after play or seek is short (first audio soon), the next ones longer. */
const FIRST_CHUNK_S = 0.5;
const CHUNK_S = 4;
/** Audio kept scheduled ahead of the playhead. */
const AHEAD_S = 8;
/** Scheduling headroom for a buffer started "now". */
const START_MARGIN_S = 0.02;
export const SPEEDS = [0.75, 1, 1.25, 1.5, 2] as const;
export type Speed = (typeof SPEEDS)[number];

/** The slice of Web Audio the player uses (a fake in component tests). */
export interface AudioSourceLike {
  buffer: unknown;
  readonly playbackRate: { value: number };
  onended: (() => void) | null;
  connect(dest: unknown): unknown;
  disconnect(): void;
  start(when: number): void;
  stop(): void;
}
export interface AudioOut {
  readonly currentTime: number;
  readonly destination: unknown;
  createBuffer(channels: number, length: number, sampleRate: number): { getChannelData(ch: number): Float32Array };
  createBufferSource(): AudioSourceLike;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export type PlayerStatus = 'idle' | 'loading' | 'playing' | 'paused' | 'ended' | 'error';
export interface PlayerState {
  status: PlayerStatus;
  positionMs: number;
  durationMs: number;
  rate: Speed;
  error: StreamErrorCode | null;
}

export class PcmPlayer {
  private out: AudioOut | null = null;
  private gen = 0;
  private readonly sources = new Set<AudioSourceLike>();
  private abort: AbortController | null = null;
  /** Recording time (s) at context time `ctx` while playing. */
  private anchor: { ctx: number; pos: number } | null = null;
  /** Recording time (s) up to which audio is scheduled. */
  private fedUntil = 0;
  /** Recording time (s) while not playing. */
  private pos = 0;
  private duration: number;
  private wavBytes: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private state: PlayerState;

  constructor(
    private readonly stream: RecordingStream,
    private readonly makeAudio: () => AudioOut,
    private readonly onChange: (s: PlayerState) => void,
    durationMs: number,
  ) {
    this.duration = durationMs / 1000;
    this.state = { status: 'idle', positionMs: 0, durationMs, rate: 1, error: null };
  }

  get current(): PlayerState {
    return this.state;
  }

  private emit(patch: Partial<PlayerState> = {}): void {
    this.state = { ...this.state, ...patch, positionMs: Math.round(this.position() * 1000), durationMs: Math.round(this.duration * 1000) };
    this.onChange(this.state);
  }

  /** The playhead (s): while playing, from the audio clock, never past what is scheduled. */
  position(): number {
    if (this.anchor && this.out && this.state.status === 'playing') {
      const p = this.anchor.pos + (this.out.currentTime - this.anchor.ctx) * this.state.rate;
      return Math.min(Math.max(p, this.anchor.pos), this.fedUntil, this.duration);
    }
    return this.pos;
  }

  async play(): Promise<void> {
    if (this.state.status === 'playing' || this.state.status === 'loading') return;
    this.out ??= this.makeAudio();
    await this.out.resume();
    if (this.state.status === 'ended' || this.pos >= this.duration) this.pos = 0;
    this.start(this.pos);
  }

  pause(): void {
    if (this.state.status !== 'playing' && this.state.status !== 'loading') return;
    this.pos = this.position();
    this.halt();
    this.emit({ status: 'paused' });
  }

  /** Moves the playhead (clamped to the recording); keeps playing if it was. */
  seek(ms: number): void {
    const to = Math.min(Math.max(0, ms / 1000), this.duration);
    const wasPlaying = this.state.status === 'playing' || this.state.status === 'loading';
    this.pos = to;
    if (wasPlaying) return this.start(to);
    this.emit(this.state.status === 'ended' && to < this.duration ? { status: 'paused' } : {});
  }

  setRate(rate: Speed): void {
    if (!SPEEDS.includes(rate)) return;
    const at = this.position();
    const wasPlaying = this.state.status === 'playing' || this.state.status === 'loading';
    this.state = { ...this.state, rate };
    this.pos = at;
    if (wasPlaying) this.start(at);
    else this.emit();
  }

  dispose(): void {
    this.halt();
    const out = this.out;
    this.out = null;
    if (out) void out.close().catch((err: unknown) => logFailure('closing the recordings player audio', err));
  }

  /** Stops every scheduled buffer and any range in flight; a pump still running sees the new generation and ends. */
  private halt(): void {
    this.gen++;
    this.abort?.abort();
    this.abort = null;
    for (const s of this.sources) {
      s.onended = null;
      try {
        s.stop();
      } catch (err) {
        logFailure('stopping a scheduled recording buffer', err);
      }
      s.disconnect();
    }
    this.sources.clear();
    this.anchor = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private start(from: number): void {
    this.halt();
    const gen = this.gen;
    this.pos = from;
    this.fedUntil = from;
    performance.mark('koe:recording-request');
    this.emit({ status: 'loading', error: null });
    this.timer = setInterval(() => this.tick(), 200);
    void this.pump(gen);
  }

  private tick(): void {
    if (this.state.status !== 'playing') return;
    if (this.position() >= this.duration - 0.001 && this.fedUntil >= this.duration - 0.001) {
      this.pos = this.duration;
      this.halt();
      this.emit({ status: 'ended' });
      return;
    }
    this.emit();
  }

  private async pump(gen: number): Promise<void> {
    const abort = (this.abort = new AbortController());
    try {
      const grant = await this.stream.open();
      if (gen !== this.gen) return;
      this.duration = grant.durationMs / 1000;
      this.wavBytes = grant.wavBytes;
      while (gen === this.gen && this.fedUntil < this.duration) {
        const out = this.out!;
        if (this.anchor && this.fedUntil - this.position() > AHEAD_S) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        const seconds = this.anchor ? CHUNK_S : FIRST_CHUNK_S;
        const startByte = HEADER_BYTES + Math.round(this.fedUntil * SAMPLE_RATE) * FRAME_BYTES;
        const endByte = Math.min(this.wavBytes - 1, startByte + Math.round(seconds * SAMPLE_RATE) * FRAME_BYTES - 1);
        if (endByte < startByte) break;
        const bytes = await this.stream.range(startByte, endByte, abort.signal);
        if (gen !== this.gen) return;
        const frames = Math.floor(bytes.length / FRAME_BYTES);
        if (frames === 0) break;
        const source = out.createBufferSource();
        source.buffer = decode(out, bytes, frames);
        source.playbackRate.value = this.state.rate;
        source.connect(out.destination);
        let when = this.anchor ? this.anchor.ctx + (this.fedUntil - this.anchor.pos) / this.state.rate : -1;
        const first = !this.anchor;
        if (!this.anchor || when < out.currentTime + 0.005) {
          // first buffer, or the range came late (underrun): the clock starts again here
          this.anchor = { ctx: out.currentTime + START_MARGIN_S, pos: this.fedUntil };
          when = this.anchor.ctx;
        }
        source.onended = () => this.sources.delete(source);
        source.start(when);
        this.sources.add(source);
        if (first) performance.mark('koe:recording-audio', { startTime: performance.now() + (when - out.currentTime) * 1000 });
        this.fedUntil += frames / SAMPLE_RATE;
        if (this.state.status !== 'playing') this.emit({ status: 'playing' });
      }
      // the stream ended before the duration the grant announced: the recording ends where the audio does
      if (gen === this.gen && this.fedUntil < this.duration) this.duration = this.fedUntil;
    } catch (err) {
      if (gen !== this.gen || abort.signal.aborted) return;
      const code: StreamErrorCode = err instanceof StreamError ? err.code : 'unplayable';
      logFailure(`playing a recording (${code})`, err);
      this.pos = this.position();
      this.halt();
      this.emit({ status: 'error', error: code });
    }
  }
}

/** Interleaved s16le stereo to a two-channel buffer (left customer, right operator). */
function decode(out: AudioOut, bytes: Uint8Array, frames: number): ReturnType<AudioOut['createBuffer']> {
  const buf = out.createBuffer(2, frames, SAMPLE_RATE);
  const left = buf.getChannelData(0);
  const right = buf.getChannelData(1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, frames * FRAME_BYTES);
  for (let i = 0; i < frames; i++) {
    left[i] = view.getInt16(i * 4, true) / 32768;
    right[i] = view.getInt16(i * 4 + 2, true) / 32768;
  }
  return buf;
}
