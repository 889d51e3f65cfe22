import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { UpdateRefusal } from './verify';

/** The part of fetch the updater needs: a streamed body (Node's fetch, Electron's net.fetch). */
export type StreamFetch = (
  url: string,
  init: { signal: AbortSignal; headers?: Record<string, string> },
) => Promise<{ ok: boolean; status: number; body: ReadableStream<Uint8Array> | null }>;

export interface DownloadLimits {
  /** The whole transfer, request to last byte. */
  deadlineMs: number;
  /** The longest wait for the next bytes (a slow-loris server trickling a byte now and then is cut here or at the deadline). */
  stallMs: number;
}

export interface DownloadRequest extends DownloadLimits {
  fetch: StreamFetch;
  url: string;
  /** Exactly this many bytes: more is cut off at once, fewer is refused. */
  size: number;
  /** False for metadata, whose size is not known beforehand: then `size` is at most this many bytes. */
  exactSize: boolean;
  onChunk: (chunk: Uint8Array) => Promise<void> | void;
}

type Outcome = { status: 'done'; bytes: number } | { status: 'not_found' };

/**
 * Streams `url` through `onChunk` under a byte cap, an overall deadline and a stall timeout.
 * Every way it can go wrong ends the request (the signal aborts the socket) and throws an
 * UpdateRefusal with its code; nothing is handed on from a transfer that did not finish whole.
 */
async function stream(req: DownloadRequest, tooLarge: 'artifact_too_large' | 'metadata_too_large'): Promise<Outcome> {
  const ctl = new AbortController();
  let why: 'download_timeout' | 'download_stalled' | null = null;
  const deadline = setTimeout(() => {
    why = 'download_timeout';
    ctl.abort();
  }, req.deadlineMs);
  let stall: NodeJS.Timeout | undefined;
  const armStall = () => {
    clearTimeout(stall);
    stall = setTimeout(() => {
      why = 'download_stalled';
      ctl.abort();
    }, req.stallMs);
  };
  try {
    armStall();
    const res = await req.fetch(req.url, { signal: ctl.signal, headers: { 'cache-control': 'no-cache' } });
    if (res.status === 404) return { status: 'not_found' };
    if (!res.ok || !res.body) throw new UpdateRefusal('fetch_failed', { status: res.status });
    const reader = res.body.getReader();
    let total = 0;
    for (;;) {
      armStall();
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > req.size) throw new UpdateRefusal(tooLarge, { limit: req.size });
      await req.onChunk(value);
    }
    if (req.exactSize && total !== req.size) throw new UpdateRefusal('artifact_size_mismatch', { expected: req.size, got: total });
    return { status: 'done', bytes: total };
  } catch (err) {
    if (err instanceof UpdateRefusal) throw err;
    if (why) throw new UpdateRefusal(why, { limitMs: why === 'download_timeout' ? req.deadlineMs : req.stallMs });
    // the connection failed (refused, reset, DNS): refused as download_failed with the error's name (no message: it can quote the URL)
    throw new UpdateRefusal('download_failed', { error: err instanceof Error ? err.name : typeof err });
  } finally {
    clearTimeout(deadline);
    clearTimeout(stall);
    // ends the request and its body stream whatever happened (a cut-off transfer holds no socket)
    ctl.abort();
  }
}

/** A metadata file, at most `maxBytes`; null when the server has none (404). */
export async function fetchMetadata(fetch: StreamFetch, url: string, maxBytes: number, limits: DownloadLimits): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  const out = await stream({ fetch, url, size: maxBytes, exactSize: false, onChunk: (c) => void chunks.push(c), ...limits }, 'metadata_too_large');
  return out.status === 'not_found' ? null : Buffer.concat(chunks);
}

/**
 * The artifact, written to `dest` only once all `size` bytes arrived and their sha512 matched
 * the signed one: it is streamed to `dest.part`, hashed on the way, and renamed at the end.
 * On any failure the partial file is removed; `dest` never holds an unverified byte.
 */
export async function downloadArtifact(fetch: StreamFetch, url: string, expected: { size: number; sha512: string }, dest: string, limits: DownloadLimits): Promise<void> {
  const part = `${dest}.part`;
  const hash = createHash('sha512');
  const file = await open(part, 'w', 0o600);
  let ok = false;
  try {
    const out = await stream(
      {
        fetch,
        url,
        size: expected.size,
        exactSize: true,
        onChunk: async (c) => {
          hash.update(c);
          await file.write(c);
        },
        ...limits,
      },
      'artifact_too_large',
    );
    if (out.status === 'not_found') throw new UpdateRefusal('fetch_failed', { status: 404 });
    await file.sync();
    if (hash.digest('hex') !== expected.sha512) throw new UpdateRefusal('artifact_hash_mismatch', { size: expected.size });
    ok = true;
  } finally {
    await file.close();
    if (!ok) await rm(part, { force: true });
  }
  await rename(part, dest);
}
