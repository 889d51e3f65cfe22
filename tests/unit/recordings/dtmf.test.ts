// DTMF masking in the recorder (server/recordings/dtmf.ts, channel.ts): in-band DTMF tones and
// RFC 4733 telephone-events never reach the recording; the voice around them does. Driven
// through Channel with RTP packets and taken in blocks of odd sizes, as the recorder does.
import { describe, expect, it } from 'vitest';
import { encodeUlaw } from '../../../server/recordings/audio';
import { Channel } from '../../../server/recordings/capture';
import { DTMF_HIGH, DTMF_LOW, goertzelShare, isDtmf } from '../../../server/recordings/dtmf';

const RATE = 8000;
const DIGITS: Record<string, [number, number]> = { '1': [697, 1209], '4': [770, 1209], '5': [770, 1336], '9': [852, 1477], '0': [941, 1336], '#': [941, 1477], D: [941, 1633] };

/** A voice-like signal: a 140 Hz glottal pulse train through varying harmonics, with noise. */
function voice(n: number, seed = 1): number[] {
  let r = seed;
  const rnd = () => ((r = (r * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  return Array.from({ length: n }, (_, i) => {
    let v = 0;
    for (let h = 1; h <= 20; h++) v += Math.sin((2 * Math.PI * 140 * h * i) / RATE + h) * (3000 / h) * (1 + 0.5 * Math.sin(i / 400 + h));
    return Math.round(v + rnd() * 800);
  });
}
function digit(d: string, n: number, amp = 6000): number[] {
  const [lo, hi] = DIGITS[d]!;
  return Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * lo * i) / RATE) + amp * Math.sin((2 * Math.PI * hi * i) / RATE)));
}
function rtp(seq: number, ts: number, payload: Buffer, pt = 0): Buffer {
  const p = Buffer.alloc(12 + payload.length);
  p[0] = 2 << 6;
  p[1] = pt;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(0x4242, 8);
  payload.copy(p, 12);
  return p;
}
/** Feeds `samples` as 20 ms PCMU packets, then takes them in blocks of uneven sizes (the recorder's ticks). */
function record(samples: number[], extra: (ch: Channel) => void = () => {}): { out: Int16Array; ch: Channel } {
  const ch = new Channel();
  for (let k = 0; k * 160 < samples.length; k++) ch.put(rtp(k, 5000 + k * 160, Buffer.from(samples.slice(k * 160, k * 160 + 160).map(encodeUlaw))), k * 160, 0);
  extra(ch);
  const out = new Int16Array(samples.length);
  let at = 0;
  for (const n of [1000, 333, 1601, 160, 2500, 777, 1e9]) {
    const take = Math.min(n, samples.length - at);
    if (take <= 0) break;
    out.set(ch.take(at, take), at);
    at += take;
  }
  return { out, ch };
}
/** The strongest DTMF-pair evidence in any 20 ms window (10 ms hop): the weaker of the best low and best high share. */
function dtmfEvidence(x: Int16Array): number {
  let worst = 0;
  for (let off = 0; off + 160 <= x.length; off += 80) {
    let e = 0;
    for (let i = 0; i < 160; i++) e += x[off + i]! * x[off + i]!;
    if (e === 0) continue;
    const lo = Math.max(...DTMF_LOW.map((f) => goertzelShare(x, off, 160, f, e)));
    const hi = Math.max(...DTMF_HIGH.map((f) => goertzelShare(x, off, 160, f, e)));
    worst = Math.max(worst, Math.min(lo, hi));
  }
  return worst;
}
const rms = (x: ArrayLike<number>, a: number, b: number) => {
  let e = 0;
  for (let i = a; i < b; i++) e += x[i]! * x[i]!;
  return Math.sqrt(e / (b - a));
};

describe('the detector', () => {
  it('knows every digit at speaking levels and no voice frame as one', () => {
    for (const d of Object.keys(DIGITS)) for (const amp of [1000, 6000, 14000]) expect(isDtmf(digit(d, 160, amp)), `${d} @${amp}`).toBe(true);
    const v = voice(8000 * 5, 7);
    let hits = 0;
    for (let off = 0; off + 160 <= v.length; off += 160) if (isDtmf(v, off, 160)) hits++;
    expect(hits).toBe(0);
    // a single pure tone (an operator's 1000 Hz, a 697 Hz hum) is not DTMF
    expect(isDtmf(Array.from({ length: 160 }, (_, i) => 8000 * Math.sin((2 * Math.PI * 697 * i) / RATE)))).toBe(false);
    expect(isDtmf(new Array(160).fill(0))).toBe(false);
  });
});

describe('masking in the channel', () => {
  it('in-band digits are silenced, at any phase against the frames; the voice before and after is kept', () => {
    for (const lead of [4000, 4037, 4111, 4159]) {
      const before = voice(lead, 3);
      const digits = ['4', '1', '1', '1', '9', '0', '#'].flatMap((d) => [...digit(d, 800), ...new Array(400).fill(0)]);
      const after = voice(8000, 5);
      const input = [...before, ...digits, ...after];
      expect(dtmfEvidence(Int16Array.from(input))).toBeGreaterThan(0.3); // the input has them
      const { out, ch } = record(input);
      expect(dtmfEvidence(out), `lead ${lead}`).toBeLessThan(0.1);
      expect(ch.dtmf.masked).toBeGreaterThan(7 * 800);
      // the voice well before and after is what was sent (G.711 round trip aside): at most the guard frame is lost
      const a = lead - 400;
      const b = lead + digits.length + 400;
      expect(rms(out, 0, a)).toBeGreaterThan(0.9 * rms(input, 0, a));
      expect(rms(out, b, input.length)).toBeGreaterThan(0.9 * rms(input, b, input.length));
      for (let i = 0; i < a; i++) if (out[i] === 0 && Math.abs(input[i]!) > 200) throw new Error(`voice silenced at ${i}`);
    }
  });

  it('RFC 4733 telephone-events silence their span even when audio is sent with them; hostile event payloads change nothing else', () => {
    const input = [...voice(8000, 9), ...digit('5', 1600), ...voice(8000, 11)];
    const { out, ch } = record(input, (c) => {
      // the digit as events (PT 101): timestamp at its start, growing duration, three end packets
      for (let d = 160; d <= 1600; d += 160) c.put(rtp(900 + d, 5000 + 8000, Buffer.from([5, d === 1600 ? 0x8a : 0x0a, d >> 8, d & 0xff]), 101), 8000 + d, 0);
      // malformed event payloads (3 bytes, 0 bytes): dropped, no span
      c.put(rtp(2000, 5000 + 100, Buffer.from([1, 2, 3]), 101), 100, 0);
    });
    expect(ch.dtmf.events).toBe(10);
    expect(ch.dropped).toBe(1);
    expect(Array.from(out.subarray(8000, 9600)).every((s) => s === 0)).toBe(true);
    expect(dtmfEvidence(out)).toBeLessThan(0.1);
    expect(rms(out, 0, 7800)).toBeGreaterThan(0.9 * rms(input, 0, 7800));
    expect(rms(out, 9800, input.length)).toBeGreaterThan(0.9 * rms(input, 9800, input.length));
  });
});
