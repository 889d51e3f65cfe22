// The one tone detector of the tests: a Goertzel filter over recorded samples (baresip's WAV
// files, decoded here too), and the three measures the tests read from it: a level in dBFS,
// a power, and a share of the total power.
import { readFileSync } from 'node:fs';

/**
 * Goertzel over samples[from, to): the filter's power for `hz`, and the sample count.
 * `bin: 'nearest'` evaluates the DFT bin nearest to hz (a window of whole periods of that bin);
 * 'exact' evaluates hz itself.
 */
export function goertzel(samples: Float32Array, rate: number, hz: number, opts: { from?: number; to?: number; bin?: 'exact' | 'nearest' } = {}) {
  const a = Math.max(0, Math.floor(opts.from ?? 0));
  const b = Math.min(samples.length, Math.floor(opts.to ?? samples.length));
  const n = Math.max(0, b - a);
  if (n === 0) return { power: 0, n: 0, total: 0 };
  const w = opts.bin === 'nearest' ? (2 * Math.PI * Math.round((n * hz) / rate)) / n : (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (let i = a; i < b; i++) {
    const x = samples[i]!;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    total += x * x;
  }
  return { power: Math.max(0, s1 * s1 + s2 * s2 - coeff * s1 * s2), n, total };
}

/** Amplitude of `hz` in dBFS (a full-scale sine = 0 dB); -120 for silence or no samples. */
export function toneDbfs(samples: Float32Array, rate: number, hz: number): number {
  const { power, n } = goertzel(samples, rate, hz);
  if (n === 0) return -120;
  const amplitude = (2 * Math.sqrt(power)) / n;
  return Math.max(-120, 20 * Math.log10(amplitude || 1e-9));
}

/** Power of `hz` (nearest bin) in samples [from, to), normalised by the window length. */
export function tonePower(samples: Float32Array, rate: number, hz: number, from: number, to: number): number {
  const { power, n } = goertzel(samples, rate, hz, { from, to, bin: 'nearest' });
  return n === 0 ? 0 : power / (n * n);
}

/** Power of `hz` (nearest bin) relative to the total power (0..1) in the samples. */
export function toneShare(samples: Float32Array, rate: number, hz: number): number {
  const { power, n, total } = goertzel(samples, rate, hz, { bin: 'nearest' });
  return total > 0 ? (2 * power) / (n * total) : 0;
}

/** 16-bit PCM WAV -> mono float samples (the first channel) and rate. */
export function readWav(file: string): { rate: number; samples: Float32Array } {
  const b = readFileSync(file);
  let off = 12;
  let rate = 8000;
  let channels = 1;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
    }
    if (id === 'data') {
      const n = Math.floor(Math.min(size, b.length - off - 8) / 2 / channels);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(off + 8 + i * 2 * channels) / 32768;
      return { rate, samples: out };
    }
    off += 8 + size + (size % 2);
  }
  return { rate, samples: new Float32Array(0) };
}
