// The key-encryption keys of recordings (docs/telephony.md "Recordings"): each recording's random
// data key is wrapped with a KEK of the gateway configuration (AES-256-GCM, AAD "koe-rec-dek-v1"
// || recording id || kek id); the first KEK wraps new keys, every one listed unwraps (rotation).
// The wrapped key and the KEK id live in the recording's index row, never in the file (the file
// format is ./format.ts).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const TAG_BYTES = 16;
const DEK_AAD_PREFIX = Buffer.from('koe-rec-dek-v1');

/** A chunk (or the file) failed authentication: tampered, swapped, truncated or the wrong key. Never played. */
export class RecordingIntegrityError extends Error {
  constructor(
    message: string,
    readonly chunk: number | null,
  ) {
    super(message);
  }
}
export interface Kek {
  id: string;
  key: Buffer;
}

/** The KEKs of the configuration: the first wraps new data keys, every one unwraps (rotation). */
export class KeyRing {
  private readonly byId = new Map<string, Buffer>();
  constructor(readonly keks: Kek[]) {
    if (!keks.length) throw new Error('recordings: no key-encryption key configured');
    for (const k of keks) {
      if (k.key.length !== 32) throw new Error(`recordings: KEK ${k.id} is not 32 bytes`);
      if (this.byId.has(k.id)) throw new Error(`recordings: KEK id ${k.id} given twice`);
      this.byId.set(k.id, k.key);
    }
  }

  get activeId(): string {
    return this.keks[0]!.id;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  wrap(recordingId: string, dataKey: Buffer, kekId = this.activeId): Buffer {
    const kek = this.byId.get(kekId);
    if (!kek) throw new Error(`recordings: unknown KEK ${kekId}`);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', kek, iv);
    c.setAAD(Buffer.concat([DEK_AAD_PREFIX, uuidBytes(recordingId), Buffer.from(kekId)]));
    return Buffer.concat([iv, c.update(dataKey), c.final(), c.getAuthTag()]);
  }

  unwrap(recordingId: string, kekId: string, wrapped: Buffer): Buffer {
    const kek = this.byId.get(kekId);
    if (!kek) throw new RecordingIntegrityError(`the KEK ${kekId} of this recording is not configured`, null);
    if (wrapped.length !== 12 + 32 + TAG_BYTES) throw new RecordingIntegrityError('malformed wrapped data key', null);
    const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, 12));
    d.setAAD(Buffer.concat([DEK_AAD_PREFIX, uuidBytes(recordingId), Buffer.from(kekId)]));
    d.setAuthTag(wrapped.subarray(12 + 32));
    try {
      return Buffer.concat([d.update(wrapped.subarray(12, 12 + 32)), d.final()]);
    } catch {
      throw new RecordingIntegrityError('the wrapped data key failed authentication', null);
    }
  }

  /** Re-wraps a data key under the active KEK (rotation): the file is not touched. */
  rewrap(recordingId: string, kekId: string, wrapped: Buffer): { kekId: string; wrapped: Buffer } {
    const dataKey = this.unwrap(recordingId, kekId, wrapped);
    try {
      return { kekId: this.activeId, wrapped: this.wrap(recordingId, dataKey) };
    } finally {
      dataKey.fill(0);
    }
  }
}

export function uuidBytes(id: string): Buffer {
  const hex = id.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error('recordings: not a uuid');
  return Buffer.from(hex, 'hex');
}
