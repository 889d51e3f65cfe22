// The encrypted recording format (docs/telephony.md "Recordings"): a chunked AES-256-GCM
// stream, written as the audio arrives, so no plaintext audio ever reaches the disk.
//
//   file   = header || chunk_0 || chunk_1 || ... || chunk_{n-1}
//   header = "KOEREC" 0x00 0x01 (8 bytes) || chunk plaintext size (u32 BE) || recording id (16 bytes)   = 28 bytes
//   chunk  = AES-256-GCM(dataKey, nonce_i, plaintext_i, aad_i) ciphertext || 16-byte tag
//
// One random 256-bit data key per recording (never reused), so a counter nonce is safe:
//   nonce_i = 0x00 0x00 0x00 || i (u64 BE) || final (0x00 | 0x01)                  (12 bytes)
// (the STREAM construction of Hoang-Reyhanitabar-Rogaway-Vizár: the last-chunk flag is in the
// nonce). The AAD binds the chunk to its place: "koe-rec-v1" || recording id || i (u64 BE) ||
// final. A chunk moved to another index, copied from another recording (its own key fails
// anyway; the id makes it fail even if keys were ever shared) or a non-final chunk presented as
// the last (truncation at a chunk boundary) fails authentication. Every chunk but the last holds
// exactly `chunkBytes` of plaintext, so a byte range maps to chunk indexes without an index
// table, and each chunk decrypts alone (range playback decrypts only the chunks it covers).
//
// The plaintext is raw PCM (s16le, interleaved, 8 kHz stereo: customer left, operator right);
// the WAV header is built at playback (server/recordings/playback.ts): nothing recognisable is
// ever in the plaintext's first bytes, and the writer need not know the length in advance.
//
// The data key is wrapped with a key-encryption key (KEK) from the gateway configuration
// (AES-256-GCM, AAD "koe-rec-dek-v1" || recording id || kek id); the wrapped key and the KEK id
// live in the recording's index row, never in the file. Destroying that wrapped key makes the
// file unreadable (crypto-shredding, server/recordings/retention.ts).
import { createCipheriv, createDecipheriv, createHash, randomBytes, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { type KeyRing, RecordingIntegrityError, TAG_BYTES, uuidBytes } from './keyring';

export { type Kek, KeyRing, RecordingIntegrityError, TAG_BYTES, uuidBytes } from './keyring';

export const MAGIC = Buffer.from([0x4b, 0x4f, 0x45, 0x52, 0x45, 0x43, 0x00, 0x01]); // "KOEREC" 0 1
export const HEADER_BYTES = 28;
const AAD_PREFIX = Buffer.from('koe-rec-v1');
/** 1 s of 8 kHz stereo s16le. */
export const DEFAULT_CHUNK_BYTES = 32_000;

function nonce(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 3);
  n[11] = final ? 1 : 0;
  return n;
}

function aad(id: Buffer, index: number, final: boolean): Buffer {
  const a = Buffer.alloc(AAD_PREFIX.length + 16 + 9);
  AAD_PREFIX.copy(a, 0);
  id.copy(a, AAD_PREFIX.length);
  a.writeBigUInt64BE(BigInt(index), AAD_PREFIX.length + 16);
  a[a.length - 1] = final ? 1 : 0;
  return a;
}

export function encryptChunk(dataKey: Buffer, id: Buffer, index: number, final: boolean, plain: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', dataKey, nonce(index, final));
  c.setAAD(aad(id, index, final));
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

export function decryptChunk(dataKey: Buffer, id: Buffer, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_BYTES) throw new RecordingIntegrityError(`chunk ${index} is truncated`, index);
  const d = createDecipheriv('aes-256-gcm', dataKey, nonce(index, final));
  d.setAAD(aad(id, index, final));
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]);
  } catch {
    throw new RecordingIntegrityError(`chunk ${index} failed authentication (tampered, swapped or truncated)`, index);
  }
}

export function header(recordingId: string, chunkBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(chunkBytes, 8);
  uuidBytes(recordingId).copy(h, 12);
  return h;
}

/** The file's layout for `plainBytes` of audio: chunk count and the size on disk. */
export function layout(plainBytes: number, chunkBytes: number): { chunks: number; sizeBytes: number } {
  // always at least one (final) chunk, even for an empty recording
  const chunks = Math.max(1, Math.ceil(plainBytes / chunkBytes));
  return { chunks, sizeBytes: HEADER_BYTES + plainBytes + chunks * TAG_BYTES };
}

export interface FinishedRecording {
  plainBytes: number;
  sizeBytes: number;
  chunks: number;
  /** sha256 of the whole file as written (header and chunks), hex. */
  sha256: string;
}

/**
 * Writes one recording as the audio arrives: plaintext waits in memory until a chunk is full,
 * then only its ciphertext is appended to the file. `finish()` seals the last (final) chunk.
 * The data key is held in memory only for the life of the writer and zeroed at the end.
 * Writes are serialised; a failed write fails every later call (the recording is incomplete).
 */
export class RecordingWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;
  private plainBytes = 0;
  private sizeBytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private chain: Promise<void>;
  private failed: Error | null = null;
  private done = false;
  private readonly idBytes: Buffer;

  private constructor(
    private readonly fh: FileHandle,
    readonly recordingId: string,
    private readonly dataKey: Buffer,
    readonly chunkBytes: number,
  ) {
    this.idBytes = uuidBytes(recordingId);
    this.chain = this.append(header(recordingId, chunkBytes));
  }

  /** Creates the file (it must not exist) and returns the writer and the data key wrapped with the active KEK. */
  static async create(path: string, recordingId: string, keys: KeyRing, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<{ writer: RecordingWriter; kekId: string; wrappedKey: Buffer }> {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 64 || chunkBytes > 16 * 1024 * 1024 || chunkBytes % 4 !== 0) throw new Error('recordings: bad chunk size');
    const dataKey = randomBytes(32);
    const wrappedKey = keys.wrap(recordingId, dataKey);
    const fh = await open(path, 'wx', 0o600);
    return { writer: new RecordingWriter(fh, recordingId, dataKey, chunkBytes), kekId: keys.activeId, wrappedKey };
  }

  get bytesWritten(): number {
    return this.plainBytes + this.pendingBytes;
  }

  private append(b: Buffer): Promise<void> {
    this.hash.update(b);
    this.sizeBytes += b.length;
    return this.fh.write(b).then(() => undefined);
  }

  private enqueue(b: Buffer): void {
    this.chain = this.chain.then(() => this.append(b)).catch((err: Error) => {
      this.failed ??= err;
    });
  }

  /** Adds plaintext audio (any length). Never blocks on the disk: returns at once. */
  write(pcm: Buffer): void {
    if (this.done) throw new Error('recordings: write after finish');
    if (this.failed) throw this.failed;
    this.pending.push(Buffer.from(pcm)); // a copy: the caller may reuse its buffer
    this.pendingBytes += pcm.length;
    while (this.pendingBytes > this.chunkBytes) {
      // strictly more than a chunk: the last chunk is only sealed by finish(), as final
      const all = Buffer.concat(this.pending);
      const plain = all.subarray(0, this.chunkBytes);
      this.enqueue(encryptChunk(this.dataKey, this.idBytes, this.index++, false, plain));
      plain.fill(0);
      const rest = Buffer.from(all.subarray(this.chunkBytes));
      all.fill(0);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.plainBytes += this.chunkBytes;
    }
  }

  /** Seals the final chunk, flushes to disk and closes. */
  async finish(): Promise<FinishedRecording> {
    if (this.done) throw new Error('recordings: finish twice');
    this.done = true;
    const last = Buffer.concat(this.pending);
    this.pending = [];
    this.enqueue(encryptChunk(this.dataKey, this.idBytes, this.index++, true, last));
    this.plainBytes += last.length;
    last.fill(0);
    this.dataKey.fill(0);
    await this.chain;
    try {
      if (this.failed) throw this.failed;
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    return { plainBytes: this.plainBytes, sizeBytes: this.sizeBytes, chunks: this.index, sha256: this.hash.digest('hex') };
  }

  /** Stops without sealing (the process is going down): the file stays readable up to its last whole chunk. */
  async abandon(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.pending.forEach((b) => b.fill(0));
    this.pending = [];
    this.dataKey.fill(0);
    await this.chain;
    await this.fh.close();
  }
}

/** Reads chunks of one finished recording: each decrypts alone; the index row says which is final. */
export class RecordingReader {
  private readonly idBytes: Buffer;
  private constructor(
    private readonly fh: FileHandle,
    readonly recordingId: string,
    private readonly dataKey: Buffer,
    readonly chunkBytes: number,
    readonly plainBytes: number,
    readonly chunks: number,
  ) {
    this.idBytes = uuidBytes(recordingId);
  }

  /**
   * Opens `path` for the recording the index row describes (`plainBytes` of audio). A header
   * for another recording or chunk size, or a file of another length than the row says
   * (truncated, extended), is refused before any chunk is read.
   */
  static async open(path: string, row: { id: string; kekId: string; wrappedKey: Buffer; chunkBytes: number; plainBytes: number }, keys: KeyRing): Promise<RecordingReader> {
    const dataKey = keys.unwrap(row.id, row.kekId, row.wrappedKey);
    const fh = await open(path, 'r');
    try {
      const h = Buffer.alloc(HEADER_BYTES);
      await fh.read(h, 0, HEADER_BYTES, 0);
      if (!h.equals(header(row.id, row.chunkBytes))) throw new RecordingIntegrityError('the file header is not this recording\'s', null);
      const expect = layout(row.plainBytes, row.chunkBytes);
      const size = (await fh.stat()).size;
      if (size !== expect.sizeBytes) throw new RecordingIntegrityError(`the file is ${size} bytes, the index says ${expect.sizeBytes} (truncated or extended)`, null);
      return new RecordingReader(fh, row.id, dataKey, row.chunkBytes, row.plainBytes, expect.chunks);
    } catch (err) {
      dataKey.fill(0);
      await fh.close();
      throw err;
    }
  }

  /** The plaintext of chunk `index`, authenticated (throws RecordingIntegrityError). */
  async chunk(index: number): Promise<Buffer> {
    if (!Number.isInteger(index) || index < 0 || index >= this.chunks) throw new RangeError(`no chunk ${index}`);
    const final = index === this.chunks - 1;
    const plain = final ? this.plainBytes - index * this.chunkBytes : this.chunkBytes;
    const sealed = Buffer.alloc(plain + TAG_BYTES);
    const { bytesRead } = await this.fh.read(sealed, 0, sealed.length, HEADER_BYTES + index * (this.chunkBytes + TAG_BYTES));
    if (bytesRead !== sealed.length) throw new RecordingIntegrityError(`chunk ${index} is truncated`, index);
    return decryptChunk(this.dataKey, this.idBytes, index, final, sealed);
  }

  /** Plaintext bytes [start, end] (inclusive), decrypting only the chunks they cover. */
  async range(start: number, end: number): Promise<Buffer> {
    if (start < 0 || end < start || end >= this.plainBytes) throw new RangeError('range outside the recording');
    const first = Math.floor(start / this.chunkBytes);
    const last = Math.floor(end / this.chunkBytes);
    const parts: Buffer[] = [];
    for (let i = first; i <= last; i++) parts.push(await this.chunk(i));
    const all = Buffer.concat(parts);
    return all.subarray(start - first * this.chunkBytes, end - first * this.chunkBytes + 1);
  }

  async close(): Promise<void> {
    this.dataKey.fill(0);
    await this.fh.close();
  }
}

/** Reads a whole file without an index row (the rewrap check, tests): every chunk, the last must be final. */
export async function decryptFile(path: string, id: string, kekId: string, wrappedKey: Buffer, keys: KeyRing): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const h = Buffer.alloc(HEADER_BYTES);
    await fh.read(h, 0, HEADER_BYTES, 0);
    if (!h.subarray(0, 8).equals(MAGIC) || !h.subarray(12).equals(uuidBytes(id))) throw new RecordingIntegrityError('the file header is not this recording\'s', null);
    const chunkBytes = h.readUInt32BE(8);
    const body = size - HEADER_BYTES;
    const chunks = Math.max(1, Math.ceil(body / (chunkBytes + TAG_BYTES)));
    const plainBytes = body - chunks * TAG_BYTES;
    if (plainBytes < 0) throw new RecordingIntegrityError('the file is truncated', null);
    const reader = await RecordingReader.open(path, { id, kekId, wrappedKey, chunkBytes, plainBytes }, keys);
    try {
      const out: Buffer[] = [];
      for (let i = 0; i < reader.chunks; i++) out.push(await reader.chunk(i));
      return Buffer.concat(out);
    } finally {
      await reader.close();
    }
  } finally {
    await fh.close();
  }
}
