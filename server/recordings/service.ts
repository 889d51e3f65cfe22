// Recordings (docs/telephony.md "Recordings"): the index rows and encrypted files, playback by
// capability and HTTP Range, legal holds, deletion on request and the retention purge. The
// recorder (./capture.ts) feeds audio in through begin() / ActiveRecording / finish().
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql, type Selectable } from 'kysely';
import type { RecordingGap, RecordingView } from '../../shared/gateway/recordings';
import type { z } from 'zod';
import { appendAudit, eventBy } from '../audit/audit';
import { AuditedRefusal } from '../auth/audited-refusal';
import type { Principal } from '../auth/principal-type';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { GatewayConfig } from '../config';
import { jsonColumn, toJsonColumn } from '../db/json-column';
import type { Db, Executor, RecordingsTable } from '../db/schema';
import { GatewayError } from '../errors';
import { orgPolicy } from '../policy';
import { BYTES_PER_SECOND, CHANNELS, SAMPLE_RATE, WAV_HEADER_BYTES } from './audio';
import { Capabilities } from './capability';
import { DEFAULT_CHUNK_BYTES, KeyRing, RecordingIntegrityError, RecordingReader, RecordingWriter } from './format';
import { MAX_WINDOW, msOfWavOffset, parseByteRange, wavBytes, wavStream } from './playback';
import { recordingVisible } from './scope';
import { ActiveRecording } from './active';
import { destroyRecording, purgeDue, removePurgedFiles, rewrapAll } from './retention';
import { eraseCustomer, purgeDueData } from './data-retention';
import { recoverCrashed } from './recover';

export { ActiveRecording } from './active';

type RecordingRow = Selectable<RecordingsTable>;
type Gap = z.infer<typeof RecordingGap>;
const NOT_FOUND = () => new GatewayError('not_found', 'no such recording');
const num = (v: string | number | null): number => (v === null ? 0 : Number(v));
/** Sealed (complete), or finalised after a crash with what was written (incomplete, with a size). */
const playable = (r: RecordingRow): boolean => r.status === 'complete' || (r.status === 'incomplete' && r.plain_bytes !== null);

/** The headers of every audio answer: never stored by the client (nor any cache on the way), ranges accepted. */
const audio = (reply: FastifyReply): FastifyReply =>
  reply.header('cache-control', 'no-store').header('accept-ranges', 'bytes').header('content-type', 'audio/wav').header('x-content-type-options', 'nosniff').header('content-disposition', 'inline');

export class RecordingsService {
  readonly keys: KeyRing | null;
  readonly dir: string;
  private readonly caps: Capabilities;
  private timer: NodeJS.Timeout | null = null;
  private first: NodeJS.Timeout | null = null;
  private sweeping = false;
  private sweepRun: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly config: GatewayConfig,
    jwtSecret: string,
    /** This instance's id (the bus origin): named in the rows it captures (./recover.ts). */
    readonly instance: string,
  ) {
    const rc = config.recordings;
    this.keys = rc.keks.length ? new KeyRing(rc.keks.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') }))) : null;
    this.dir = resolve(rc.dir ?? join(config.dataDir, 'recordings'));
    this.caps = new Capabilities(jwtSecret);
  }

  /**
   * Starts the sweep at once and then on a timer: crashed recordings finalised, the retention
   * purge (every instance may run it: each due row is claimed with SKIP LOCKED).
   */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), Math.min(60, this.config.recordings.purgeIntervalSeconds) * 1000);
    this.timer.unref();
    this.first = setTimeout(() => void this.sweep(), 2000);
    this.first.unref();
  }

  /** Stops the timers; resolves once a sweep under way is done (the database may go after). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.first) clearTimeout(this.first);
    this.timer = null;
    this.first = null;
    await this.sweepRun;
  }

  private fileOf(row: { file_name: string }): string {
    // file names are "<uuid>.koerec", written by begin(): never a path from a request
    if (!/^[0-9a-f-]{36}\.koerec$/.test(row.file_name)) throw new Error('recordings: bad file name in the index');
    return join(this.dir, row.file_name);
  }

  // ------------------------------------------------------------------ writing (the recorder)
  /** Creates the file and the index row of a new recording of the operator's call `call` (calls.id). */
  async begin(call: { id: string; org_id: string; sip_call_id: string; campaign_id: string | null; operator_id: string }): Promise<ActiveRecording> {
    if (!this.keys) throw new GatewayError('not_found', 'recording is not configured on this gateway (recordings.keks)');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const id = randomUUID();
    const fileName = `${id}.koerec`;
    const { writer, kekId, wrappedKey } = await RecordingWriter.create(join(this.dir, fileName), id, this.keys, DEFAULT_CHUNK_BYTES);
    try {
      await this.db
        .insertInto('recordings')
        .values({
          id, org_id: call.org_id, call_id: call.id, sip_call_id: call.sip_call_id, campaign_id: call.campaign_id, operator_id: call.operator_id,
          status: 'recording', file_name: fileName, kek_id: kekId, wrapped_key: wrappedKey.toString('base64'), chunk_bytes: writer.chunkBytes,
          channels: CHANNELS, sample_rate: SAMPLE_RATE, plain_bytes: null, size_bytes: null, sha256: null, duration_ms: null,
          gaps: '[]', started_at: this.clock.now(), ended_at: null, purged_at: null, purge_reason: null, instance: this.instance,
        })
        .execute();
    } catch (err) {
      await writer.abandon();
      await unlink(join(this.dir, fileName)).catch((e: unknown) => reportBackgroundFailure('recordings: removing the file of a recording that could not be indexed', e));
      throw err;
    }
    return new ActiveRecording(id, call.id, call.sip_call_id, writer);
  }

  /** Seals the recording and completes its index row (size, duration, sha256 of the ciphertext, gaps). */
  async finish(active: ActiveRecording): Promise<void> {
    const gaps = active.closeGaps();
    try {
      const done = await active.writer.finish();
      await this.db
        .updateTable('recordings')
        .set({
          status: 'complete', plain_bytes: done.plainBytes, size_bytes: done.sizeBytes, sha256: done.sha256,
          duration_ms: Math.floor((done.plainBytes * 1000) / BYTES_PER_SECOND), gaps: toJsonColumn(gaps), ended_at: this.clock.now(),
        })
        .where('id', '=', active.id)
        .where('status', '=', 'recording')
        .execute();
    } catch (err) {
      await this.db.updateTable('recordings').set({ status: 'incomplete', gaps: toJsonColumn(gaps), ended_at: this.clock.now() }).where('id', '=', active.id).where('status', '=', 'recording').execute();
      throw err;
    }
  }

  // ------------------------------------------------------------------ settings, holds
  async settings(p: Principal, campaignId: string, body: { mode: 'never' | 'all' | 'on_demand'; retentionDays: number | null }) {
    return this.db.transaction().execute(async (tx) => {
      const camp = await tx.selectFrom('campaigns').select(['id', 'recording_mode', 'recording_retention_days']).where('id', '=', campaignId).where('org_id', '=', p.orgId).forUpdate().executeTakeFirst();
      if (!camp) throw new GatewayError('not_found', 'no such campaign');
      await tx.updateTable('campaigns').set({ recording_mode: body.mode, recording_retention_days: body.retentionDays, updated_at: this.clock.now() }).where('id', '=', campaignId).execute();
      await appendAudit(tx, this.clock, eventBy(p, 'campaign.recording_settings', { type: 'campaign', id: campaignId }, {
        from: { mode: camp.recording_mode, retentionDays: camp.recording_retention_days }, to: body,
      }));
      return { campaignId, ...body };
    });
  }

  async legalHold(p: Principal, body: { target: 'call' | 'customer'; id: string; hold: boolean }) {
    return this.db.transaction().execute(async (tx) => {
      const table = body.target === 'call' ? 'calls' : 'customers';
      const hit = await tx.updateTable(table).set({ legal_hold: body.hold }).where('id', '=', body.id).where('org_id', '=', p.orgId).returning('id').executeTakeFirst();
      if (!hit) throw new GatewayError('not_found', `no such ${body.target}`);
      await appendAudit(tx, this.clock, eventBy(p, body.hold ? 'legal_hold.set' : 'legal_hold.lifted', { type: body.target, id: body.id }));
      return body;
    });
  }

  // ------------------------------------------------------------------ reading
  private async visibleRow(ex: Executor, p: Principal, id: string): Promise<(RecordingRow & { legal_hold: boolean }) | undefined> {
    const policy = await orgPolicy(ex, p.orgId);
    return ex
      .selectFrom('recordings as r')
      .innerJoin('calls as c', 'c.id', 'r.call_id')
      .selectAll('r')
      .select(sql<boolean>`c.legal_hold`.as('legal_hold'))
      .where('r.id', '=', id)
      .where('r.org_id', '=', p.orgId)
      .where('r.status', '<>', 'purged')
      .where(recordingVisible(p, policy))
      .executeTakeFirst();
  }

  private view(r: RecordingRow & { legal_hold: boolean }): RecordingView {
    return {
      id: r.id, callId: r.sip_call_id, campaignId: r.campaign_id, operatorId: r.operator_id, status: r.status as RecordingView['status'],
      startedAt: r.started_at.toISOString(), endedAt: r.ended_at?.toISOString() ?? null, durationMs: r.duration_ms,
      channels: { left: 'customer', right: 'operator' }, gaps: jsonColumn<Gap[]>(r.gaps), legalHold: r.legal_hold,
    };
  }

  /** Recordings the caller may hear (recordings:play scope, not purged), newest first: one predicate for list and recent. */
  private async visible(p: Principal) {
    const policy = await orgPolicy(this.db, p.orgId);
    return this.db
      .selectFrom('recordings as r')
      .innerJoin('calls as c', 'c.id', 'r.call_id')
      .selectAll('r')
      .select(sql<boolean>`c.legal_hold`.as('legal_hold'))
      .where('r.org_id', '=', p.orgId)
      .where('r.status', '<>', 'purged')
      .where(recordingVisible(p, policy))
      .orderBy('r.started_at', 'desc');
  }

  async list(p: Principal, q: { callId?: string; customerId?: string }): Promise<RecordingView[]> {
    const query = await this.visible(p);
    const rows = await (q.callId ? query.where('r.sip_call_id', '=', q.callId) : query.where('c.customer_id', '=', q.customerId!)).limit(200).execute();
    return rows.map((r) => this.view(r));
  }

  /** The most recent recordings in the caller's scope (the same predicate as list and play). */
  async recent(p: Principal, limit: number): Promise<RecordingView[]> {
    const rows = await (await this.visible(p)).limit(Math.min(50, Math.max(1, limit))).execute();
    return rows.map((r) => this.view(r));
  }

  /** A capability to stream one recording, bound to this user, device, session; the playback is audited (who, which call, from where). */
  async grant(p: Principal, id: string) {
    const now = this.clock.now();
    return this.db.transaction().execute(async (tx) => {
      const r = await this.visibleRow(tx, p, id);
      if (!r || !playable(r)) throw NOT_FOUND();
      const playbackId = randomUUID();
      const expiresAt = new Date(now.getTime() + this.config.recordings.capabilitySeconds * 1000);
      await tx.insertInto('recording_playbacks').values({
        id: playbackId, org_id: p.orgId, recording_id: r.id, user_id: p.userId, device_id: p.deviceId, session_id: p.sessionId,
        source_ip: p.sourceIp, issued_at: now, expires_at: expiresAt, bytes_served: 0, last_at: null,
      }).execute();
      await appendAudit(tx, this.clock, eventBy(p, 'recording.played', { type: 'recording', id: r.id }, {
        callId: r.sip_call_id, operatorId: r.operator_id, campaignId: r.campaign_id, playbackId,
      }));
      const capability = this.caps.issue({ rid: r.id, uid: p.userId, did: p.deviceId, sid: p.sessionId, pb: playbackId, exp: expiresAt.getTime() });
      return {
        recordingId: r.id, capability, expiresAt: expiresAt.toISOString(), streamPath: `/recordings/${r.id}/stream?cap=${capability}`,
        durationMs: r.duration_ms ?? 0, wavBytes: WAV_HEADER_BYTES + num(r.plain_bytes),
      };
    });
  }

  /**
   * Serves the WAV (or a range of it) to the holder of a capability for this recording, user,
   * device and session; scope is checked again (a lead moved off the team mid-playback stops).
   */
  async stream(p: Principal, id: string, cap: string, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const claims = this.caps.verify(cap, this.clock.now());
    if (!claims || claims.rid !== id || claims.uid !== p.userId || claims.did !== p.deviceId || claims.sid !== p.sessionId) {
      throw new AuditedRefusal('forbidden', 'this playback capability is not valid here: ask for a new one', eventBy(p, 'recording.capability_refused', { type: 'recording', id }, {
        reason: !claims ? 'invalid_or_expired' : claims.rid !== id ? 'other_recording' : claims.uid !== p.userId ? 'other_user' : claims.did !== p.deviceId ? 'other_device' : 'other_session',
      }));
    }
    const r = await this.visibleRow(this.db, p, id);
    if (!r || !playable(r) || !r.wrapped_key || !this.keys) throw NOT_FOUND();
    const total = WAV_HEADER_BYTES + num(r.plain_bytes);
    const ask = parseByteRange(req.headers.range, total);
    reply.header('cache-control', 'no-store');
    if (ask.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${total}`);
      throw new GatewayError('range_not_satisfiable', 'range not satisfiable');
    }
    let reader: RecordingReader;
    try {
      reader = await RecordingReader.open(this.fileOf(r), { id: r.id, kekId: r.kek_id, wrappedKey: Buffer.from(r.wrapped_key, 'base64'), chunkBytes: r.chunk_bytes, plainBytes: num(r.plain_bytes) }, this.keys);
    } catch (err) {
      throw await this.integrityFailure(p, r, err);
    }
    if (ask.kind === 'none') {
      await this.count(claims.pb, total, total);
      const stream = wavStream(reader, (err) => {
        void reader.close().catch((e: unknown) => reportBackgroundFailure('recordings: closing a reader', e));
        if (err) void this.integrityFailure(p, r, err);
      });
      return audio(reply).code(200).header('content-length', String(total)).send(stream);
    }
    const end = Math.min(ask.end, ask.start + MAX_WINDOW - 1);
    let body: Buffer;
    try {
      body = await wavBytes(reader, ask.start, end);
    } catch (err) {
      throw await this.integrityFailure(p, r, err);
    } finally {
      await reader.close();
    }
    await this.count(claims.pb, body.length, end + 1);
    return audio(reply).code(206).header('content-range', `bytes ${ask.start}-${end}/${total}`).header('content-length', String(body.length)).send(body);
  }

  private async count(playbackId: string, bytes: number, endOffset: number): Promise<void> {
    await this.db
      .updateTable('recording_playbacks')
      .set((eb) => ({
        requests: eb('requests', '+', 1),
        bytes_served: sql<number>`bytes_served + ${bytes}`,
        listened_ms: sql<number>`greatest(listened_ms, ${msOfWavOffset(endOffset)})`,
        last_at: this.clock.now(),
      }))
      .where('id', '=', playbackId)
      .execute();
  }

  /** A recording that fails its integrity check is reported (log + audit) and never played. */
  private async integrityFailure(p: Principal, r: RecordingRow, err: unknown): Promise<GatewayError> {
    if (!(err instanceof RecordingIntegrityError)) {
      reportBackgroundFailure('recordings: reading a recording', err);
      return new GatewayError('internal_error', 'the recording could not be read');
    }
    reportBackgroundFailure(`recordings: the integrity check of recording ${r.id}`, err);
    await this.db
      .transaction()
      .execute((tx) => appendAudit(tx, this.clock, eventBy(p, 'recording.integrity_failed', { type: 'recording', id: r.id }, { callId: r.sip_call_id, chunk: err.chunk, sha256: r.sha256, reason: err.message })))
      .catch((e: unknown) => reportBackgroundFailure('recordings: auditing an integrity failure', e));
    return new GatewayError('internal_error', 'the recording failed its integrity check and is not played; this was reported');
  }

  // ------------------------------------------------------------------ deletion
  async deleteOnRequest(p: Principal, id: string, reason: string) {
    const out = await this.db.transaction().execute(async (tx) => {
      const r = await tx.selectFrom('recordings').selectAll().where('id', '=', id).where('org_id', '=', p.orgId).where('status', '<>', 'purged').forUpdate().executeTakeFirst();
      if (!r) throw NOT_FOUND();
      if (r.status === 'recording') throw new GatewayError('conflict', 'this recording is still being made');
      const { purgedAt } = await destroyRecording(tx, this.clock, r, 'request', p, { requestReason: reason });
      return { recordingId: r.id, purgedAt: purgedAt.toISOString(), sha256: r.sha256, reason: 'request' };
    });
    await this.removeFiles();
    return out;
  }

  /** The retention purge (./retention.ts purgeDue); how many were purged. */
  purgeDue(): Promise<number> {
    return purgeDue(this.db, this.clock, (r) => this.fileOf(r));
  }

  /** Unlinks the files of purged recordings (./retention.ts). */
  removeFiles(): Promise<number> {
    return removePurgedFiles(this.db, (r) => this.fileOf(r));
  }

  /** Finalises the recordings of gone instances (./recover.ts); how many. */
  recoverCrashed(staleSeconds?: number): Promise<number> {
    return recoverCrashed(this.db, this.clock, this.keys, this.instance, (r) => this.fileOf(r), staleSeconds);
  }

  /** The retention purge of calls, notes and customers (./data-retention.ts). */
  purgeDueData(): Promise<{ calls: number; notes: number; customers: number }> {
    return purgeDueData(this.db, this.clock);
  }

  private lastPurge = 0;

  /** One pass: crashed recordings every time, the retention purges every purgeIntervalSeconds; each failure reported, none stops the others. */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweepRun;
    this.sweeping = true;
    this.sweepRun = this.sweepOnce();
    return this.sweepRun;
  }

  private async sweepOnce(): Promise<void> {
    try {
      await this.recoverCrashed().catch((err: unknown) => reportBackgroundFailure('recordings: finalising crashed recordings', err));
      if (Date.now() - this.lastPurge < this.config.recordings.purgeIntervalSeconds * 1000) return;
      this.lastPurge = Date.now();
      await this.purgeDue().catch((err: unknown) => reportBackgroundFailure('recordings: retention purge', err));
      await this.purgeDueData()
        .then(() => this.removeFiles())
        .catch((err: unknown) => reportBackgroundFailure('recordings: retention purge of calls, notes, customers', err));
    } finally {
      this.sweeping = false;
    }
  }

  // ------------------------------------------------------------------ retention of calls, notes, customers; right to deletion
  async retentionSettings(p: Principal, campaignId: string, body: { calls: number | null; notes: number | null; customers: number | null }) {
    return this.db.transaction().execute(async (tx) => {
      const camp = await tx.selectFrom('campaigns').select(['id', 'call_retention_days', 'note_retention_days', 'customer_retention_days']).where('id', '=', campaignId).where('org_id', '=', p.orgId).forUpdate().executeTakeFirst();
      if (!camp) throw new GatewayError('not_found', 'no such campaign');
      await tx.updateTable('campaigns').set({ call_retention_days: body.calls, note_retention_days: body.notes, customer_retention_days: body.customers, updated_at: this.clock.now() }).where('id', '=', campaignId).execute();
      await appendAudit(tx, this.clock, eventBy(p, 'campaign.retention_settings', { type: 'campaign', id: campaignId }, {
        from: { calls: camp.call_retention_days, notes: camp.note_retention_days, customers: camp.customer_retention_days }, to: body,
      }));
      return { campaignId, ...body };
    });
  }

  /** Right to deletion: all of one customer's data, with the receipt (./data-retention.ts eraseCustomer); refused on legal hold. */
  async eraseCustomer(p: Principal, customerId: string, reason: string) {
    const out = await this.db.transaction().execute((tx) => eraseCustomer(tx, this.clock, p.orgId, customerId, { reason: 'request', requestReason: reason }, p));
    await this.removeFiles();
    return { customerId: out.customerId, notesDeleted: out.notesDeleted, callsUnlinked: out.callsUnlinked, recordingsDestroyed: out.recordings.length, deletedAt: this.clock.now().toISOString() };
  }

  /** Re-wraps every live recording's data key under the active KEK (after a rotation); files are not touched. */
  async rewrapAll(): Promise<{ rewrapped: number; failed: string[] }> {
    if (!this.keys) throw new Error('recordings: no KEK configured');
    return rewrapAll(this.db, this.keys);
  }
}
