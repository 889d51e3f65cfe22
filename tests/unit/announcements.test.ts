// The one check of an uploaded announcement (server/sip/announcements.ts validateWav): what
// rtpengine plays and Koe's codecs carry passes; anything else is a validation_failed error
// saying what is wrong, never another exception, whatever the bytes.
import { describe, expect, it } from 'vitest';
import { validateWav, WAV_MAX_BYTES } from '../../server/sip/announcements';
import { GatewayError } from '../../server/errors';

function wav(o: { rate?: number; channels?: number; bits?: number; format?: number; seconds?: number; dataSize?: number; extraChunk?: boolean } = {}): Buffer {
  const rate = o.rate ?? 8000;
  const channels = o.channels ?? 1;
  const bits = o.bits ?? 16;
  const data = Buffer.alloc(Math.round(rate * (o.seconds ?? 1)) * channels * (bits / 8));
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0);
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(o.format ?? 1, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE(rate * channels * (bits / 8), 16);
  fmt.writeUInt16LE(channels * (bits / 8), 20);
  fmt.writeUInt16LE(bits, 22);
  const list = o.extraChunk ? Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]) : Buffer.alloc(0);
  const dh = Buffer.alloc(8);
  dh.write('data', 0);
  dh.writeUInt32LE(o.dataSize ?? data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE'), list, fmt, dh, data]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

const refused = (buf: Buffer, name: 'greeting' | 'music' = 'greeting'): string => {
  try {
    validateWav(buf, name);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('validation_failed');
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('validateWav', () => {
  it('takes PCM 16-bit mono 8 and 16 kHz, with other chunks (an odd-sized one padded) before the audio', () => {
    expect(validateWav(wav(), 'greeting')).toEqual({ sampleRate: 8000, durationMs: 1000 });
    expect(validateWav(wav({ rate: 16000, seconds: 2.5 }), 'notice')).toEqual({ sampleRate: 16000, durationMs: 2500 });
    expect(validateWav(wav({ extraChunk: true }), 'greeting').durationMs).toBe(1000);
    expect(validateWav(wav({ seconds: 59 }), 'music').durationMs).toBe(59000);
  });

  it('refuses other formats, rates, channels, sizes and durations with what is wrong', () => {
    expect(refused(wav({ channels: 2 }))).toMatch(/mono/);
    expect(refused(wav({ bits: 8 }))).toMatch(/16-bit/);
    expect(refused(wav({ format: 3 }))).toMatch(/PCM/);
    expect(refused(wav({ rate: 44100 }))).toMatch(/8000 or 16000/);
    expect(refused(wav({ seconds: 0.3 }))).toMatch(/at least/);
    expect(refused(wav({ seconds: 31 }))).toMatch(/at most 30000/);
    expect(refused(wav({ seconds: 61 }), 'music')).toMatch(/at most 60000/);
    expect(refused(Buffer.alloc(WAV_MAX_BYTES + 1))).toMatch(/larger than/);
    expect(refused(Buffer.from('RIFF....WAVEjunk'))).toMatch(/RIFF|fmt/);
    expect(refused(wav().subarray(0, 40))).toMatch(/RIFF|fmt|data/);
  });

  it('a data chunk claiming more than the file holds counts what is there; any other chunk running past the end is refused', () => {
    const cut = wav({ seconds: 2 }).subarray(0, 44 + 8000 * 2);
    expect(validateWav(cut, 'greeting').durationMs).toBe(1000);
    const liar = wav();
    liar.writeUInt32LE(0xffffffff, 16); // the fmt chunk's size
    expect(refused(liar)).toMatch(/past the end/);
  });

  it('random and mutated bytes: a validation error or an acceptance, never another exception', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = wav({ seconds: 1 });
    for (let i = 0; i < 2000; i++) {
      const b = i % 2 ? Buffer.from(base) : Buffer.alloc(Math.floor(rnd() * 200));
      for (let k = 0; k < 1 + Math.floor(rnd() * 8); k++) if (b.length) b[Math.floor(rnd() * Math.min(b.length, 64))] = Math.floor(rnd() * 256);
      if (i % 4 === 0 && b.length >= 4) b.write('RIFF', 0);
      try {
        validateWav(b, 'greeting');
      } catch (e) {
        expect(e).toBeInstanceOf(GatewayError);
      }
    }
  });
});
