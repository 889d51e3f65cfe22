// Recordings (docs/telephony.md "Recordings"): per-campaign settings, the recordings of a call
// or customer in the caller's scope, a playback capability, the streamed audio (HTTP Range),
// legal holds, deletion on request, and secure capture (pause / resume around card details);
// the retention of a campaign's calls, notes and customers and the erasure of all of a customer's
// data (server/recordings/data-retention.ts).
// Spread into ROUTES (api.ts).
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { Id, Iso, SipCallId } from './primitives';

export const RECORDING_MODES = ['never', 'all', 'on_demand'] as const;
export const RecordingMode = z.enum(RECORDING_MODES);
export type RecordingMode = z.infer<typeof RecordingMode>;

export const RecordingSettings = z.strictObject({
  mode: RecordingMode,
  /** Days a recording is kept after the call; null: no automatic purge. */
  retentionDays: z.number().int().min(1).max(36_500).nullable(),
});
export const RecordingSettingsView = RecordingSettings.extend({ campaignId: Id });

/** Why a recording is silent over a span: secure capture (both channels, card details said aloud) or DTMF masking (keypad entry, the keying party's channel). */
export const RECORDING_GAP_REASONS = ['secure_capture', 'dtmf'] as const;
export const RecordingGap = z.strictObject({ startMs: z.number().int().min(0), endMs: z.number().int().min(0), reason: z.enum(RECORDING_GAP_REASONS) });
export const RecordingView = z.strictObject({
  id: Id,
  callId: z.string(),
  campaignId: Id.nullable(),
  operatorId: Id,
  status: z.enum(['recording', 'complete', 'incomplete']),
  startedAt: Iso,
  endedAt: Iso.nullable(),
  durationMs: z.number().int().nullable(),
  channels: z.strictObject({ left: z.literal('customer'), right: z.literal('operator') }),
  gaps: z.array(RecordingGap),
  legalHold: z.boolean(),
});
export type RecordingView = z.infer<typeof RecordingView>;
export const RecordingsQuery = z.strictObject({ callId: SipCallId.optional(), customerId: Id.optional() }).refine((q) => Boolean(q.callId) !== Boolean(q.customerId), 'give callId or customerId');
export const RecordingsResponse = z.strictObject({ recordings: z.array(RecordingView) });

export const PlaybackGrant = z.strictObject({
  recordingId: Id,
  /** Signed, bound to this user, device, session and recording, single-purpose (stream), short-lived. */
  capability: z.string(),
  expiresAt: Iso,
  /** GET this with the capability (?cap=) and the same bearer token; HTTP Range supported. */
  streamPath: z.string(),
  durationMs: z.number().int(),
  /** The WAV the stream serves (44-byte header + PCM), bytes. */
  wavBytes: z.number().int(),
});
/** A capability: base64url payload "." base64url HMAC; at most 1 KiB. */
export const StreamQuery = z.strictObject({ cap: z.string().min(10).max(1024).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/) });

/**
 * The stream route's "response": the handler has written the audio itself (status, headers,
 * bytes) and returns the reply object, which passes through unchanged (server/recordings/routes.ts).
 */
export const Streamed = z.custom<{ readonly streamedByHandler: true }>((v) => typeof v === 'object' && v !== null, 'a streamed reply');

export const LegalHoldRequest = z.strictObject({ target: z.enum(['call', 'customer']), id: Id, hold: z.boolean() });
export const LegalHoldResponse = z.strictObject({ target: z.enum(['call', 'customer']), id: Id, hold: z.boolean() });

export const DeleteRecordingRequest = z.strictObject({ reason: z.string().min(1).max(500) });
export const DeletionReceipt = z.strictObject({ recordingId: Id, purgedAt: Iso, sha256: z.string().nullable(), reason: z.string() });

const Days = z.number().int().min(1).max(36_500).nullable();
/** Days calls, notes and customers of a campaign are kept (null: no automatic purge); a legal hold suspends it. */
export const RetentionSettings = z.strictObject({ calls: Days, notes: Days, customers: Days });
export const RetentionSettingsView = RetentionSettings.extend({ campaignId: Id });
export const EraseCustomerRequest = z.strictObject({ reason: z.string().trim().min(1).max(500) });
/** What was deleted (the receipt in the audit chain holds the same, and the recordings' ciphertext hashes). */
export const ErasureReceipt = z.strictObject({
  customerId: Id, notesDeleted: z.number().int(), callsUnlinked: z.number().int(), recordingsDestroyed: z.number().int(), deletedAt: Iso,
});

export const SecureCaptureRequest = z.strictObject({ callId: SipCallId, paused: z.boolean() });
export const SecureCaptureResponse = z.strictObject({ callId: z.string(), paused: z.boolean(), recording: z.boolean() });
/** Whether the caller's own live call is being recorded here and is paused (the app shows "secure capture" only while recorded). */
export const LiveRecordingQuery = z.strictObject({ callId: SipCallId });
export const RecentRecordingsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(50).default(20) });

export const RECORDING_ROUTES = {
  recordingSettings: {
    method: 'PUT', path: '/campaigns/:id/recording', summary: 'A campaign\'s recording mode and retention; audited', auth: 'campaigns:manage',
    params: z.strictObject({ id: Id }), body: RecordingSettings, response: RecordingSettingsView,
  },
  listRecordings: {
    method: 'GET', path: '/recordings', summary: 'Recordings of a call or a customer, in the caller\'s scope', auth: 'recordings:play',
    query: RecordingsQuery, response: RecordingsResponse,
  },
  playRecording: {
    method: 'POST', path: '/recordings/:id/play', summary: 'A short-lived capability to stream one recording; audited', auth: 'recordings:play',
    params: z.strictObject({ id: Id }), response: PlaybackGrant,
  },
  streamRecording: {
    method: 'GET', path: '/recordings/:id/stream', summary: 'The recording as audio/wav, HTTP Range, decrypted chunk by chunk, never cached', auth: 'recordings:play',
    params: z.strictObject({ id: Id }), query: StreamQuery, response: Streamed,
  },
  legalHold: {
    method: 'PUT', path: '/recordings/legal-hold', summary: 'Set or lift a legal hold on a call or customer (no purge while held); audited', auth: 'recordings:manage',
    body: LegalHoldRequest, response: LegalHoldResponse,
  },
  deleteRecording: {
    method: 'POST', path: '/recordings/:id/delete', summary: 'Delete on request (right to deletion): destroy the data key and the file; a receipt in the audit chain', auth: 'recordings:manage',
    params: z.strictObject({ id: Id }), body: DeleteRecordingRequest, response: DeletionReceipt,
  },
  retentionSettings: {
    method: 'PUT', path: '/campaigns/:id/retention', summary: 'Days a campaign\'s calls, notes and customers are kept; audited', auth: 'campaigns:manage',
    params: z.strictObject({ id: Id }), body: RetentionSettings, response: RetentionSettingsView,
  },
  eraseCustomer: {
    method: 'POST', path: '/customers/:id/erase', summary: 'Right to deletion: all of a customer\'s data (row, phones, notes, their calls\' links and numbers, recordings by key destruction); a receipt in the audit chain; refused on legal hold', auth: 'recordings:manage',
    params: z.strictObject({ id: Id }), body: EraseCustomerRequest, response: ErasureReceipt,
  },
  recordCall: {
    method: 'POST', path: '/recordings/record', summary: 'Start recording the caller\'s own answered call (campaign mode on_demand or all)', auth: 'calls:handle',
    body: z.strictObject({ callId: SipCallId }), response: z.strictObject({ callId: z.string(), recording: z.boolean() }),
  },
  secureCapture: {
    method: 'POST', path: '/recordings/secure-capture', summary: 'Pause (card details) or resume the recording of the caller\'s own live call; the gap is kept in the metadata', auth: 'calls:handle',
    body: SecureCaptureRequest, response: SecureCaptureResponse,
  },
  liveRecording: {
    method: 'GET', path: '/recordings/live', summary: 'Whether the caller\'s own live call is being recorded (and paused for secure capture)', auth: 'calls:handle',
    query: LiveRecordingQuery, response: SecureCaptureResponse,
  },
  recentRecordings: {
    method: 'GET', path: '/recordings/recent', summary: 'The most recent recordings in the caller\'s scope (a lead: the teams\' operators\' calls)', auth: 'recordings:play',
    query: RecentRecordingsQuery, response: RecordingsResponse,
  },
} as const satisfies Record<string, RouteSpec>;
