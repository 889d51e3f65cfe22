// Recordings left `recording` by a crash (docs/telephony.md "Recordings"): the instance that was
// capturing them (recordings.instance, the bus origin) is gone (no gateway_instances heartbeat
// for STALE_SECONDS, or none at all), so nobody will ever seal them. Any live instance finalises
// them, one row at a time, claimed FOR UPDATE SKIP LOCKED (two instances never both seal a
// file): the file is cut after its last chunk that authenticates, that chunk is re-encrypted
// as the final one (its nonce with the final flag was never used under this data key), and the
// row becomes `incomplete` with the size, duration and sha256 of what was written. What was
// written stays playable; the audio still in the crashed process's memory (< 1 chunk) is lost.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { sql } from 'kysely';
import { appendAudit } from '../audit/audit';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { STALE_SECONDS } from '../sip/connections';
import { BYTES_PER_SECOND } from './audio';
import { decryptChunk, encryptChunk, header, HEADER_BYTES, type KeyRing, RecordingIntegrityError, TAG_BYTES, uuidBytes } from './format';

export interface Sealed {
  plainBytes: number;
  sizeBytes: number;
  sha256: string;
  /** Whole chunks found (before the re-sealed final one). */
  chunks: number;
}

/**
 * Seals the file of a recording whose writer died: keeps every chunk that authenticates as a
 * non-final one (up to the first that does not: a torn write), makes the last of them final
 * (or appends an empty final chunk when there is none) and cuts what follows. A file sealed
 * already (the crash came between the seal and the index row) is only measured.
 */
export async function sealCrashedFile(path: string, row: { id: string; kekId: string; wrappedKey: Buffer; chunkBytes: number }, keys: KeyRing): Promise<Sealed> {
  const dataKey = keys.unwrap(row.id, row.kekId, row.wrappedKey);
  const id = uuidBytes(row.id);
  const fh = await open(path, 'r+');
  try {
    const h = Buffer.alloc(HEADER_BYTES);
    await fh.read(h, 0, HEADER_BYTES, 0);
    if (!h.equals(header(row.id, row.chunkBytes))) throw new RecordingIntegrityError('the file header is not this recording\'s', null);
    const size = (await fh.stat()).size;
    const whole = row.chunkBytes + TAG_BYTES;
    let k = 0;
    let last: Buffer | null = null; // the plaintext of the last good non-final chunk
    let sealedPlain: number | null = null;
    for (let off = HEADER_BYTES; off < size; off += whole, k++) {
      const take = Math.min(whole, size - off);
      const sealed = Buffer.alloc(take);
      await fh.read(sealed, 0, take, off);
      if (take === whole) {
        try {
          last?.fill(0);
          last = decryptChunk(dataKey, id, k, false, sealed);
          continue;
        } catch (err) {
          if (!(err instanceof RecordingIntegrityError)) throw err;
        }
      }
      try {
        const plain = decryptChunk(dataKey, id, k, true, sealed);
        sealedPlain = k * row.chunkBytes + plain.length;
        plain.fill(0);
        k++;
      } catch (err) {
        if (!(err instanceof RecordingIntegrityError)) throw err;
      }
      break;
    }
    let plainBytes: number;
    let chunks: number;
    if (sealedPlain !== null) {
      plainBytes = sealedPlain;
      chunks = k;
      await fh.truncate(HEADER_BYTES + (k - 1) * whole + (plainBytes - (k - 1) * row.chunkBytes) + TAG_BYTES);
    } else if (k === 0) {
      await fh.truncate(HEADER_BYTES);
      await fh.write(encryptChunk(dataKey, id, 0, true, Buffer.alloc(0)), 0, TAG_BYTES, HEADER_BYTES);
      plainBytes = 0;
      chunks = 1;
    } else {
      const final = encryptChunk(dataKey, id, k - 1, true, last!);
      await fh.write(final, 0, final.length, HEADER_BYTES + (k - 1) * whole);
      await fh.truncate(HEADER_BYTES + k * whole);
      plainBytes = k * row.chunkBytes;
      chunks = k;
    }
    last?.fill(0);
    await fh.sync();
    const { size: sizeBytes } = await fh.stat();
    const hash = createHash('sha256');
    const buf = Buffer.alloc(64 * 1024);
    for (let off = 0; off < sizeBytes; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, off);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      off += bytesRead;
    }
    return { plainBytes, sizeBytes, sha256: hash.digest('hex'), chunks };
  } finally {
    dataKey.fill(0);
    await fh.close();
  }
}

/**
 * Finalises every recording whose capturing instance is gone (never `self`'s own). Each row is
 * claimed FOR UPDATE SKIP LOCKED and sealed inside the claim; a file that cannot be sealed
 * (missing, or its key is not configured here) leaves the row `incomplete` without a size (not
 * playable, purged by retention). Returns how many rows were finalised.
 */
export async function recoverCrashed(db: Db, clock: Clock, keys: KeyRing | null, self: string, fileOf: (r: { file_name: string }) => string, staleSeconds = STALE_SECONDS): Promise<number> {
  let done = 0;
  const skip: string[] = [];
  for (;;) {
    const did = await db.transaction().execute(async (tx) => {
      let q = tx
        .selectFrom('recordings as r')
        .selectAll('r')
        .where('r.status', '=', 'recording')
        .where((eb) => eb.or([eb('r.instance', 'is', null), eb('r.instance', '<>', self)]))
        .where(sql<boolean>`not exists (select 1 from gateway_instances g where g.id::text = r.instance and g.seen_at > now() - make_interval(secs => ${staleSeconds}))`);
      if (skip.length) q = q.where('r.id', 'not in', skip);
      const r = await q.orderBy('r.started_at').limit(1).forUpdate('r').skipLocked().executeTakeFirst();
      if (!r) return false;
      let sealed: Sealed | null = null;
      if (keys && r.wrapped_key) {
        try {
          sealed = await sealCrashedFile(fileOf(r), { id: r.id, kekId: r.kek_id, wrappedKey: Buffer.from(r.wrapped_key, 'base64'), chunkBytes: r.chunk_bytes }, keys);
        } catch (err) {
          reportBackgroundFailure(`recordings: sealing the file of crashed recording ${r.id}`, err);
        }
      }
      const now = clock.now();
      const upd = await tx
        .updateTable('recordings')
        .set(sealed
          ? { status: 'incomplete', plain_bytes: sealed.plainBytes, size_bytes: sealed.sizeBytes, sha256: sealed.sha256, duration_ms: Math.floor((sealed.plainBytes * 1000) / BYTES_PER_SECOND), ended_at: now }
          : { status: 'incomplete', ended_at: now })
        .where('id', '=', r.id)
        .where('status', '=', 'recording')
        .executeTakeFirst();
      if (Number(upd.numUpdatedRows) !== 1) return true;
      await appendAudit(tx, clock, {
        orgId: r.org_id, actor: null, action: 'recording.recovered', target: { type: 'recording', id: r.id },
        detail: { callId: r.sip_call_id, instance: r.instance, playable: sealed !== null, durationMs: sealed ? Math.floor((sealed.plainBytes * 1000) / BYTES_PER_SECOND) : null, sha256: sealed?.sha256 ?? null },
      });
      if (!sealed) skip.push(r.id);
      done++;
      return true;
    });
    if (!did) break;
  }
  return done;
}
