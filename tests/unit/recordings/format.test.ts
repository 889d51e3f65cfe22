// The encrypted recording format (server/recordings/format.ts): round trip, a range decrypted
// alone, tampered / swapped / reordered / truncated / extended files refused, nothing of the
// audio visible on disk (no RIFF header, no tone, high entropy), KEK rotation.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { channel, interleave, toneShare, wavHeader } from '../../../server/recordings/audio';
import { decryptFile, HEADER_BYTES, KeyRing, layout, RecordingIntegrityError, RecordingReader, RecordingWriter, TAG_BYTES } from '../../../server/recordings/format';

const dir = mkdtempSync(join(tmpdir(), 'koe-rec-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kek = (id: string) => ({ id, key: randomBytes(32) });
const K1 = kek('k1');
const K2 = kek('k2');
const CHUNK = 4000; // small chunks: several per test recording

/** Stereo PCM: a 440 Hz tone left, 1000 Hz right, loud. */
function tones(seconds: number): Buffer {
  const n = 8000 * seconds;
  const l = new Int16Array(n);
  const r = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    r[i] = Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  }
  return interleave(l, r);
}

async function record(pcm: Buffer, keys = new KeyRing([K1]), pieces = 7, chunk = CHUNK) {
  const id = randomUUID();
  const path = join(dir, `${id}.koerec`);
  const { writer, kekId, wrappedKey } = await RecordingWriter.create(path, id, keys, chunk);
  // arrives in uneven pieces, like RTP
  let off = 0;
  let step = 1;
  while (off < pcm.length) {
    const n = Math.min(pcm.length - off, 160 * step);
    writer.write(pcm.subarray(off, off + n));
    off += n;
    step = (step % pieces) + 1;
  }
  const done = await writer.finish();
  return { id, path, kekId, wrappedKey, done, row: { id, kekId, wrappedKey, chunkBytes: chunk, plainBytes: done.plainBytes } };
}

function entropyBitsPerByte(b: Buffer): number {
  const counts = new Array<number>(256).fill(0);
  for (const x of b) counts[x]!++;
  let h = 0;
  for (const c of counts) if (c) h -= (c / b.length) * Math.log2(c / b.length);
  return h;
}

describe('recording format', () => {
  it('round trips: every byte back, sizes and hash as reported, layout as computed', async () => {
    const pcm = tones(3);
    const r = await record(pcm);
    const file = readFileSync(r.path);
    expect(r.done.plainBytes).toBe(pcm.length);
    expect(r.done.sizeBytes).toBe(file.length);
    expect(layout(pcm.length, CHUNK)).toEqual({ chunks: r.done.chunks, sizeBytes: file.length });
    expect(r.done.sha256).toBe((await import('node:crypto')).createHash('sha256').update(file).digest('hex'));
    expect((await decryptFile(r.path, r.id, r.kekId, r.wrappedKey, new KeyRing([K1]))).equals(pcm)).toBe(true);
  });

  it('an empty recording and one of exactly whole chunks round trip', async () => {
    for (const pcm of [Buffer.alloc(0), tones(1).subarray(0, CHUNK * 3)]) {
      const r = await record(pcm);
      expect((await decryptFile(r.path, r.id, r.kekId, r.wrappedKey, new KeyRing([K1]))).equals(pcm)).toBe(true);
    }
  });

  it('a range in the middle decrypts alone, only the chunks it covers', async () => {
    const pcm = tones(4);
    const r = await record(pcm);
    const reader = await RecordingReader.open(r.path, r.row, new KeyRing([K1]));
    // corrupt every chunk but 5 and 6 on a copy: a middle range within them still decrypts
    const file = readFileSync(r.path);
    const chunkAt = (i: number) => HEADER_BYTES + i * (CHUNK + TAG_BYTES);
    for (let i = 0; i < r.done.chunks; i++) if (i !== 5 && i !== 6) file[chunkAt(i) + 7]! ^= 0xff;
    const copy = join(dir, `${r.id}-partial.koerec`);
    writeFileSync(copy, file);
    const partial = await RecordingReader.open(copy, r.row, new KeyRing([K1]));
    const start = 5 * CHUNK + 123;
    const end = 6 * CHUNK + 999;
    expect((await partial.range(start, end)).equals(pcm.subarray(start, end + 1))).toBe(true);
    expect((await reader.range(start, end)).equals(pcm.subarray(start, end + 1))).toBe(true);
    await expect(partial.range(start, 7 * CHUNK)).rejects.toThrow(RecordingIntegrityError);
    await reader.close();
    await partial.close();
  });

  it('a tampered chunk fails; so does a chunk swapped in from another recording or moved to another index', async () => {
    const keys = new KeyRing([K1]);
    const pcm = tones(2);
    const a = await record(pcm, keys);
    const b = await record(pcm, keys);
    const chunkAt = (i: number) => HEADER_BYTES + i * (CHUNK + TAG_BYTES);
    const size = CHUNK + TAG_BYTES;
    const cases: [string, (f: Buffer, other: Buffer) => void, number][] = [
      ['one bit flipped', (f) => (f[chunkAt(2) + 100]! ^= 0x01), 2],
      ['tag flipped', (f) => (f[chunkAt(1) + size - 1]! ^= 0x80), 1],
      ['chunks 1 and 2 reordered', (f) => {
        const c1 = Buffer.from(f.subarray(chunkAt(1), chunkAt(1) + size));
        f.copy(f, chunkAt(1), chunkAt(2), chunkAt(2) + size);
        c1.copy(f, chunkAt(2));
      }, 1],
      ['chunk 3 from the other recording', (f, other) => other.copy(f, chunkAt(3), chunkAt(3), chunkAt(3) + size), 3],
    ];
    for (const [what, spoil, bad] of cases) {
      const file = readFileSync(a.path);
      spoil(file, readFileSync(b.path));
      const path = join(dir, `${a.id}-${what.replace(/\W+/g, '-')}.koerec`);
      writeFileSync(path, file);
      const reader = await RecordingReader.open(path, a.row, keys);
      const err = await reader.chunk(bad).then(() => null, (e: unknown) => e);
      expect(err, what).toBeInstanceOf(RecordingIntegrityError);
      expect((err as RecordingIntegrityError).chunk, what).toBe(bad);
      await reader.close();
      await expect(decryptFile(path, a.id, a.kekId, a.wrappedKey, keys), what).rejects.toThrow(RecordingIntegrityError);
    }
    // the other recording's wrapped key does not open this one (its AAD names its own id)
    await expect(RecordingReader.open(a.path, { ...a.row, wrappedKey: b.wrappedKey }, keys)).rejects.toThrow(RecordingIntegrityError);
  });

  it('a file truncated at a chunk boundary, mid-chunk, or extended is refused', async () => {
    const keys = new KeyRing([K1]);
    const pcm = tones(2);
    const r = await record(pcm, keys);
    const file = readFileSync(r.path);
    const boundary = HEADER_BYTES + 3 * (CHUNK + TAG_BYTES);
    for (const [what, bytes] of [
      ['at a chunk boundary', file.subarray(0, boundary)],
      ['mid-chunk', file.subarray(0, boundary + 77)],
      ['extended', Buffer.concat([file, randomBytes(CHUNK + TAG_BYTES)])],
    ] as const) {
      const path = join(dir, `${r.id}-${what.replace(/\W+/g, '-')}.koerec`);
      writeFileSync(path, bytes);
      // against the index row: the length differs
      await expect(RecordingReader.open(path, r.row, keys), what).rejects.toThrow(RecordingIntegrityError);
      // without it: the last chunk present is not the final one (or is cut)
      await expect(decryptFile(path, r.id, r.kekId, r.wrappedKey, keys), what).rejects.toThrow(RecordingIntegrityError);
    }
  });

  it('the file on disk shows nothing of the audio: no RIFF/WAVE, no tone, high entropy', async () => {
    const pcm = tones(5);
    // the plaintext would show all three
    const plainWav = Buffer.concat([wavHeader(pcm.length), pcm]);
    expect(plainWav.includes(Buffer.from('RIFF'))).toBe(true);
    expect(toneShare(channel(pcm, 0), 440)).toBeGreaterThan(0.9);
    expect(entropyBitsPerByte(pcm)).toBeLessThan(7.5);
    const r = await record(pcm);
    const file = readFileSync(r.path);
    for (const sig of ['RIFF', 'WAVE', 'fmt ', 'data', 'OggS', 'ID3']) expect(file.includes(Buffer.from(sig)), sig).toBe(false);
    const body = file.subarray(HEADER_BYTES);
    expect(entropyBitsPerByte(body)).toBeGreaterThan(7.99);
    // read as stereo s16le, as mono s16le and as mu-law: no 440 or 1000 Hz tone
    const asStereo = body.subarray(0, body.length - (body.length % 4));
    for (const f of [440, 1000]) {
      expect(toneShare(channel(asStereo, 0), f), `${f} Hz`).toBeLessThan(0.01);
      expect(toneShare(channel(asStereo, 1), f), `${f} Hz`).toBeLessThan(0.01);
    }
    // nor any PCM of the plaintext: no 16-byte window of it appears in the file
    for (let off = 0; off < pcm.length - 16; off += 4001) expect(file.includes(pcm.subarray(off, off + 16))).toBe(false);
  });

  it('KEK rotation: a recording wrapped with the old KEK stays readable, rewrap moves it to the new one, a removed KEK is refused', async () => {
    const pcm = tones(1);
    const old = await record(pcm, new KeyRing([K1]));
    const rotated = new KeyRing([K2, K1]); // K2 wraps new keys, K1 still unwraps
    expect((await decryptFile(old.path, old.id, 'k1', old.wrappedKey, rotated)).equals(pcm)).toBe(true);
    const fresh = await record(pcm, rotated);
    expect(fresh.kekId).toBe('k2');
    const re = rotated.rewrap(old.id, 'k1', old.wrappedKey);
    expect(re.kekId).toBe('k2');
    const onlyNew = new KeyRing([K2]);
    expect((await decryptFile(old.path, old.id, re.kekId, re.wrapped, onlyNew)).equals(pcm)).toBe(true);
    await expect(decryptFile(old.path, old.id, 'k1', old.wrappedKey, onlyNew)).rejects.toThrow(/not configured/);
    // a wrapped key claimed under another KEK id fails (the id is in its AAD)
    const k2asK1 = new KeyRing([{ id: 'k1', key: K2.key }]);
    expect(() => k2asK1.unwrap(old.id, 'k1', re.wrapped)).toThrow(RecordingIntegrityError);
  });

  it('refuses a bad key ring and writes after finish', async () => {
    expect(() => new KeyRing([])).toThrow();
    expect(() => new KeyRing([{ id: 'a', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => new KeyRing([K1, { ...K2, id: 'k1' }])).toThrow(/twice/);
    const id = randomUUID();
    const { writer } = await RecordingWriter.create(join(dir, `${id}.koerec`), id, new KeyRing([K1]), CHUNK);
    await writer.finish();
    expect(() => writer.write(Buffer.alloc(4))).toThrow(/after finish/);
    // the file is created exclusively: never two writers on one path
    await expect(RecordingWriter.create(join(dir, `${id}.koerec`), id, new KeyRing([K1]), CHUNK)).rejects.toThrow();
  });
});
