// The tables of recordings (0014, server/recordings): the index row of each encrypted
// recording and every playback capability issued.
import type { ColumnType, Generated } from 'kysely';

type Json = ColumnType<unknown, string, string>;

export type RecordingStatus = 'recording' | 'complete' | 'incomplete' | 'purged';

export interface RecordingsTable {
  id: string;
  org_id: string;
  /** calls.id: the operator's call this recording belongs to (one call row per operator leg). */
  call_id: ColumnType<string | null, string, string | null>;
  sip_call_id: string;
  campaign_id: string | null;
  operator_id: string;
  status: RecordingStatus;
  /** The file's name in recordings.dir (never a path from outside). */
  file_name: string;
  kek_id: string;
  /** The data key wrapped with the KEK (base64); null once purged (crypto-shredded). */
  wrapped_key: string | null;
  chunk_bytes: number;
  channels: number;
  sample_rate: number;
  plain_bytes: ColumnType<string | number | null, number | null, number | null>;
  size_bytes: ColumnType<string | number | null, number | null, number | null>;
  /** sha256 of the ciphertext file, hex. */
  sha256: string | null;
  duration_ms: number | null;
  /** Secure-capture pauses: [{ startMs, endMs }] in the recording's timeline. */
  gaps: Json;
  started_at: Date;
  ended_at: Date | null;
  purged_at: Date | null;
  purge_reason: string | null;
  file_deleted: Generated<boolean>;
  /** The gateway instance (bus origin) capturing it while status is 'recording' (0015). */
  instance: Generated<string | null>;
  /** Secure capture pressed (paused) now, whichever instance was asked (0015). */
  secure_paused: Generated<boolean>;
}

export interface RecordingPlaybacksTable {
  id: string;
  org_id: string;
  recording_id: string;
  user_id: string;
  device_id: string | null;
  session_id: string;
  source_ip: string;
  issued_at: Date;
  expires_at: Date;
  requests: Generated<number>;
  bytes_served: ColumnType<string | number, number | undefined, number>;
  /** The furthest point of the audio served, ms: how far the listener got. */
  listened_ms: Generated<number>;
  last_at: Date | null;
}
