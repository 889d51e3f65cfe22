// The tests' one tone detector measures what the audio tests rely on it for.
import { describe, expect, it } from 'vitest';
import { toneDbfs, tonePower, toneShare } from '../../support/tone';

const sine = (hz: number, amplitude: number, rate = 8000, seconds = 0.5) =>
  Float32Array.from({ length: Math.floor(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
const mix = (a: Float32Array, b: Float32Array) => a.map((x, i) => x + b[i]!);

describe('tone detector (tests/support/tone.ts)', () => {
  it('reads a sine\'s level in dBFS and hears nothing of another frequency', () => {
    expect(toneDbfs(sine(440, 0.5), 8000, 440)).toBeCloseTo(-6.02, 1);
    expect(toneDbfs(sine(440, 0.05), 8000, 440)).toBeCloseTo(-26.02, 1);
    expect(toneDbfs(sine(440, 0.5), 8000, 1000)).toBeLessThan(-50);
    expect(toneDbfs(new Float32Array(0), 8000, 440)).toBe(-120);
  });

  it('gives the share of a tone in a mix and its power in a window', () => {
    expect(toneShare(sine(1000, 0.5), 8000, 1000)).toBeGreaterThan(0.99);
    const m = mix(sine(1000, 0.5), sine(440, 0.5));
    expect(toneShare(m, 8000, 1000)).toBeCloseTo(0.5, 1);
    expect(toneShare(sine(440, 0.5), 8000, 1000)).toBeLessThan(0.01);
    const s = sine(1000, 0.5);
    expect(tonePower(s, 8000, 1000, 0, 800)).toBeCloseTo(0.0625, 3); // (A/2)^2
    expect(tonePower(s, 8000, 1000, 900, 900)).toBe(0);
  });
});
