// DTMF masking in the recorder (docs/telephony.md "Recordings", "DTMF masking"): keypad card
// entry never reaches a recording. Every party's audio passes through its Channel
// (./channel.ts), and every sample the writer takes passes through DtmfMask.apply():
//   - RFC 4733 telephone-events (any dynamic payload type with 4-byte event blocks): the span
//     the event covers (its RTP timestamp + duration), with a frame of guard either side, is
//     silenced, whatever audio the sender also put there;
//   - in-band DTMF (a G.711 caller who sends tones in the audio): each 20 ms frame is tested
//     with Goertzel at the eight DTMF frequencies (697..1633 Hz); a frame whose energy is mostly
//     one low-group and one high-group tone is DTMF, and it and its neighbours are silenced.
// The writer runs 200 ms behind real time, so the frame after the one being written (the
// look-ahead) is already in the ring when a frame is judged.
import { SAMPLE_RATE } from './audio';

export const FRAME = SAMPLE_RATE / 50; // 20 ms
export const DTMF_LOW = [697, 770, 852, 941] as const;
export const DTMF_HIGH = [1209, 1336, 1477, 1633] as const;
/** Below this RMS (about -46 dBFS) a frame is not judged: silence and line noise are not DTMF. */
const MIN_RMS = 160;

/** Goertzel power of `freq` in x[off, off+n) relative to the frame's energy (a pure tone at freq: ~1). */
export function goertzelShare(x: ArrayLike<number>, off: number, n: number, freq: number, energy: number): number {
  if (energy === 0) return 0;
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / SAMPLE_RATE);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = x[off + i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (2 * (s1 * s1 + s2 * s2 - coeff * s1 * s2)) / (n * energy);
}

/** Whether x[off, off+n) is a DTMF digit: one low-group and one high-group tone holding most of its energy. */
export function isDtmf(x: ArrayLike<number>, off = 0, n = x.length - off): boolean {
  let energy = 0;
  for (let i = 0; i < n; i++) energy += x[off + i]! * x[off + i]!;
  if (n === 0 || Math.sqrt(energy / n) < MIN_RMS) return false;
  const low = Math.max(...DTMF_LOW.map((f) => goertzelShare(x, off, n, f, energy)));
  const high = Math.max(...DTMF_HIGH.map((f) => goertzelShare(x, off, n, f, energy)));
  return low > 0.2 && high > 0.2 && low + high > 0.55;
}

/** One party's masking state: telephone-event spans and the in-band verdicts of frames, by timeline position (samples). */
export class DtmfMask {
  private spans: { start: number; end: number }[] = [];
  private readonly verdicts = new Map<number, boolean>();
  /** Samples silenced so far (tests, logs). */
  masked = 0;
  /** Telephone-event packets seen. */
  events = 0;
  /** Spans silenced since the last drain() (timeline samples, merged where they touch): the recording's `dtmf` gaps. */
  private silenced: { start: number; end: number }[] = [];

  private note(a: number, b: number): void {
    this.masked += b - a;
    const last = this.silenced[this.silenced.length - 1];
    if (last && a >= last.start && a <= last.end) last.end = Math.max(last.end, b);
    else this.silenced.push({ start: a, end: b });
  }

  /** The spans silenced since the last call (the recorder hands them to the recording's gaps). */
  drain(): { start: number; end: number }[] {
    const out = this.silenced;
    this.silenced = [];
    return out;
  }

  /**
   * An RTP payload that is not G.711 at timeline position `pos`: a telephone-event (RFC 4733:
   * event, E|R|volume, duration u16 BE; possibly several blocks) masks its span. Returns false
   * when it is not one.
   */
  event(payload: Buffer, pos: number): boolean {
    if (payload.length < 4 || payload.length % 4 !== 0) return false;
    let duration = 0;
    for (let o = 0; o < payload.length; o += 4) duration = Math.max(duration, payload.readUInt16BE(o + 2));
    this.events++;
    const start = pos - FRAME;
    const end = pos + Math.max(duration, FRAME) + FRAME;
    const last = this.spans[this.spans.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else this.spans.push({ start, end });
    return true;
  }

  /** In-band verdict of frame f, judged from the ring while its samples are there (then remembered). */
  private verdict(f: number, ring: Int16Array, from: number, ringSize: number): boolean {
    const known = this.verdicts.get(f);
    if (known !== undefined) return known;
    const start = f * FRAME;
    if (start + FRAME > from + ringSize || start < 0) return false;
    const frame = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++) frame[i] = ring[(start + i) % ringSize]!;
    const v = isDtmf(frame);
    if (start < from + ringSize / 2) this.verdicts.set(f, v);
    return v;
  }

  /**
   * Silences the DTMF in `out` (samples [from, from + out.length) of the timeline, just taken
   * from `ring`, whose positions from `from` on are still in it). Frames are judged before the
   * ring is cleared: the caller calls this with the ring intact.
   */
  apply(out: Int16Array, from: number, ring: Int16Array, ringSize: number): void {
    const to = from + out.length;
    const f0 = Math.floor(from / FRAME);
    const f1 = Math.floor((to - 1) / FRAME);
    const dtmf = new Map<number, boolean>();
    for (let f = f0 - 1; f <= f1 + 1; f++) dtmf.set(f, this.verdict(f, ring, from, ringSize));
    for (let f = f0; f <= f1; f++) {
      if (!(dtmf.get(f - 1) || dtmf.get(f) || dtmf.get(f + 1))) continue;
      const a = Math.max(from, f * FRAME);
      const b = Math.min(to, (f + 1) * FRAME);
      out.fill(0, a - from, b - from);
      this.note(a, b);
    }
    for (const s of this.spans) {
      const a = Math.max(from, s.start);
      const b = Math.min(to, s.end);
      if (a >= b) continue;
      out.fill(0, a - from, b - from);
      this.note(a, b);
    }
    // forget what is behind: verdicts older than the frame before this block, spans that ended
    for (const f of this.verdicts.keys()) if (f < f0 - 1) this.verdicts.delete(f);
    this.spans = this.spans.filter((s) => s.end > to);
  }
}
