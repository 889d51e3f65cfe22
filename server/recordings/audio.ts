// Audio helpers of the recorder and the player: G.711 decoding, stereo interleaving and the
// WAV header built at playback (the stored plaintext is raw PCM: server/recordings/format.ts).

import { pcm16WavHeader } from '../wav';
export const SAMPLE_RATE = 8000;
export const CHANNELS = 2;
export const BYTES_PER_SAMPLE = 2;
/** Bytes of one second of the stored stream (8 kHz, stereo, s16le). */
export const BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * BYTES_PER_SAMPLE;
export const WAV_HEADER_BYTES = 44;

const ULAW = new Int16Array(256);
const ALAW = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  // ITU-T G.711 mu-law
  const u = ~i & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  ULAW[i] = u & 0x80 ? 0x84 - t : t - 0x84;
  // A-law
  const a = i ^ 0x55;
  let s = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) s += 8;
  else if (seg === 1) s += 0x108;
  else s = (s + 0x108) << (seg - 1);
  ALAW[i] = a & 0x80 ? s : -s;
}

/** G.711 bytes (payload type 0 PCMU or 8 PCMA) to 16-bit samples. */
export function decodeG711(payload: Buffer, payloadType: 0 | 8): Int16Array {
  const table = payloadType === 0 ? ULAW : ALAW;
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]!]!;
  return out;
}

/** Linear to mu-law (tests and the benchmark make RTP with it). */
export function encodeUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

/** Interleaves two mono channels (left: customer, right: operator) into s16le stereo; the shorter is padded with silence. */
export function interleave(left: Int16Array, right: Int16Array): Buffer {
  const n = Math.max(left.length, right.length);
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    out.writeInt16LE(left[i] ?? 0, i * 4);
    out.writeInt16LE(right[i] ?? 0, i * 4 + 2);
  }
  return out;
}

/** The 44-byte RIFF/WAVE header of `dataBytes` of the stored stream. */
export function wavHeader(dataBytes: number): Buffer {
  return pcm16WavHeader(dataBytes, CHANNELS, SAMPLE_RATE);
}

/** Goertzel power of `freq` relative to the signal's power (0..1): the tone detector of the tests. */
export function toneShare(samples: ArrayLike<number>, freq: number, rate = SAMPLE_RATE): number {
  const n = samples.length;
  if (n === 0) return 0;
  const k = Math.round((n * freq) / rate);
  const w = (2 * Math.PI * k) / n;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = samples[i]!;
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return energy === 0 ? 0 : (2 * power) / (n * energy);
}

/** One channel (0 left, 1 right) of an s16le stereo buffer. */
export function channel(pcm: Buffer, ch: 0 | 1): Int16Array {
  const n = Math.floor(pcm.length / 4);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(i * 4 + ch * 2);
  return out;
}
