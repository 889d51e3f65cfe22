// One recording's audio, read from the gateway by byte range (docs/telephony.md "Recordings
// in the app"): a playback capability (POST /recordings/:id/play, audited), then GET
// <streamPath> with the same bearer token and a Range header. Nothing is written anywhere:
// fetch with cache "no-store" (and the gateway answers Cache-Control: no-store), the bytes go
// straight to the player's memory. A capability that expired (60 s or so) is renewed once per
// refused request, transparently; anything else is a typed error the player shows.
import { GatewayCallError } from '../../../../shared/gateway-client';
import { logFailure } from '../../log';
import type { z } from 'zod';
import type { PlaybackGrant } from '../../../../shared/gateway/recordings';

type Grant = z.infer<typeof PlaybackGrant>;

/** Why a recording cannot be played now: each has a message in ja and en (recordings.errors.*). */
export type StreamErrorCode = 'unplayable' | 'gone' | 'forbidden' | 'unreachable';

export class StreamError extends Error {
  constructor(
    readonly code: StreamErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

export interface StreamDeps {
  /** POST /recordings/:id/play through the renderer's gateway client. */
  grant(recordingId: string): Promise<Grant>;
  /** The gateway's base URL (policy). */
  baseUrl(): string;
  accessToken(): Promise<string>;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** A refusal of the grant call, as a stream error (404: gone or out of scope, the same answer). */
function grantError(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  if (err instanceof GatewayCallError) {
    if (err.code === 'unreachable') return new StreamError('unreachable', 'the gateway did not answer');
    if (err.status === 404) return new StreamError('gone', 'no such recording');
    if (err.status === 403) return new StreamError('forbidden', 'not allowed');
  }
  return new StreamError('unplayable', `the playback could not start (${err instanceof Error ? err.name : typeof err})`);
}

export class RecordingStream {
  private grant: Grant | null = null;
  /** Grants asked for (the first and each renewal). */
  grants = 0;

  constructor(
    readonly recordingId: string,
    private readonly deps: StreamDeps,
  ) {}

  /** The grant (a new one if none yet): duration and size of the WAV served. */
  async open(): Promise<Grant> {
    if (this.grant) return this.grant;
    return this.renew();
  }

  private async renew(): Promise<Grant> {
    this.grants++;
    try {
      this.grant = await this.deps.grant(this.recordingId);
    } catch (err) {
      throw grantError(err);
    }
    return this.grant;
  }

  /** Bytes start..end (inclusive) of the WAV; the answer may be shorter (the gateway serves a window at a time). */
  async range(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    const grant = await this.open();
    const first = await this.get(grant, start, end, signal);
    if (first.status !== 403) return this.body(first, start);
    // the capability expired (or was minted for another session): one new one, then give up
    await first.body?.cancel().catch((err: unknown) => logFailure('discarding a refused recording answer', err));
    const again = await this.get(await this.renew(), start, end, signal);
    if (again.status === 403) throw new StreamError('forbidden', 'the playback capability was refused twice');
    return this.body(again, start);
  }

  private async get(grant: Grant, start: number, end: number, signal?: AbortSignal): Promise<Response> {
    const url = new URL(grant.streamPath, this.deps.baseUrl()).toString();
    try {
      return await this.deps.fetch(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${await this.deps.accessToken()}`, range: `bytes=${start}-${end}` },
        cache: 'no-store',
        credentials: 'omit',
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new StreamError('unreachable', `the gateway did not answer (${err instanceof Error ? err.name : typeof err})`);
    }
  }

  private async body(res: Response, start: number): Promise<Uint8Array> {
    if (res.status === 404) throw new StreamError('gone', 'no such recording');
    // past the end of what the gateway holds (shorter than announced): no more audio, the player ends there
    if (res.status === 416) return new Uint8Array(0);
    // 500 (a chunk failed its integrity check: reported by the gateway), 416, anything unexpected
    if (res.status !== 206 && !(res.status === 200 && start === 0)) throw new StreamError('unplayable', `the gateway answered ${res.status}`);
    const range = res.headers.get('content-range');
    if (res.status === 206 && range && !range.startsWith(`bytes ${start}-`)) throw new StreamError('unplayable', 'the gateway answered another range');
    return new Uint8Array(await res.arrayBuffer());
  }
}
