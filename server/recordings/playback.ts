// Streamed playback (docs/telephony.md "Recordings"): the recording as audio/wav, built on the
// fly (a 44-byte WAV header + the stored PCM), HTTP Range decrypting only the chunks a range
// covers. A range is decrypted and authenticated whole before its first byte is sent, so a
// tampered chunk is never played: the request fails (and is audited) instead. An open-ended
// range is served at most MAX_WINDOW bytes at a time (a media element asks again as it plays).
import { Readable } from 'node:stream';
import { BYTES_PER_SECOND, WAV_HEADER_BYTES, wavHeader } from './audio';
import type { RecordingReader } from './format';

/** At most this many bytes per ranged response (16 s of audio). */
export const MAX_WINDOW = 512 * 1024;

export type RangeAsk = { kind: 'none' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One byte range of a `total`-byte body (RFC 9110 14.1.2): "bytes=a-b", "bytes=a-", "bytes=-n".
 * Several ranges, or another unit, are answered as if no Range was asked (allowed by RFC 9110);
 * a syntactically bad or unsatisfiable one is 416.
 */
export function parseByteRange(header: string | undefined, total: number): RangeAsk {
  if (header === undefined) return { kind: 'none' };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m) return header.includes(',') || !/^bytes=/.test(header.trim()) ? { kind: 'none' } : { kind: 'unsatisfiable' };
  const [, a, b] = m;
  if (a === '' && b === '') return { kind: 'unsatisfiable' };
  if (total === 0) return { kind: 'unsatisfiable' };
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, total - n);
    end = total - 1;
  } else {
    start = Number(a);
    end = b === '' ? total - 1 : Math.min(Number(b), total - 1);
    if (!Number.isSafeInteger(start) || start >= total || (b !== '' && Number(b) < start)) return { kind: 'unsatisfiable' };
  }
  return { kind: 'range', start, end };
}

/** Bytes [start, end] of the WAV: the header's part, then the PCM's, decrypting only the chunks covered. */
export async function wavBytes(reader: RecordingReader, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  if (start < WAV_HEADER_BYTES) parts.push(wavHeader(reader.plainBytes).subarray(start, Math.min(end, WAV_HEADER_BYTES - 1) + 1));
  const pcmStart = Math.max(start, WAV_HEADER_BYTES) - WAV_HEADER_BYTES;
  const pcmEnd = end - WAV_HEADER_BYTES;
  if (pcmEnd >= pcmStart && pcmEnd >= 0) parts.push(await reader.range(pcmStart, pcmEnd));
  return Buffer.concat(parts);
}

/** The whole WAV as a stream, chunk by chunk: each chunk is authenticated before it is sent; a bad one ends the stream with an error (nothing of it sent). */
export function wavStream(reader: RecordingReader, onEnd: (err: Error | null) => void): Readable {
  async function* body() {
    try {
      yield wavHeader(reader.plainBytes);
      for (let i = 0; i < reader.chunks; i++) {
        const c = await reader.chunk(i);
        if (c.length) yield c;
      }
      onEnd(null);
    } catch (err) {
      onEnd(err as Error);
      throw err;
    }
  }
  return Readable.from(body(), { objectMode: false });
}

export const msOfWavOffset = (offset: number): number => Math.max(0, Math.floor(((offset - WAV_HEADER_BYTES) * 1000) / BYTES_PER_SECOND));
