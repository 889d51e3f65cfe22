// Announcements (docs/telephony.md "Queues and announcements"): the files rtpengine plays to a
// caller. Koe ships ja and en (deploy/announcements/generate.ts writes <dir>/<lang>/<name>.wav at
// stack start, deterministic and cached); an org may replace any of them with its own WAV (admin
// upload, validated here, stored in the database, audited). rtpengine reads files, so an org's
// file is written to the cache directory under its SHA-256 (any gateway instance can write it
// from the database; the same bytes always land in the same file).
import { pcm16WavHeader } from '../wav';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AnnouncementLang, AnnouncementName } from '../../shared/gateway/queue';
import type { GatewayConfig } from '../config';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';

export const WAV_MAX_BYTES = 1_500_000;
const MIN_MS = 500;
/** Music loops: up to 60 s; a message: up to 30 s. */
export const maxDurationMs = (name: AnnouncementName) => (name === 'music' ? 60_000 : 30_000);

export interface WavInfo {
  sampleRate: number;
  durationMs: number;
}

/**
 * The one check of an uploaded announcement: RIFF/WAVE, a `fmt ` chunk of PCM (format 1), mono,
 * 16-bit, 8000 or 16000 Hz (what rtpengine decodes and Koe's codecs carry), a `data` chunk inside
 * the file, a duration in bounds. Anything else: validation_failed with what is wrong.
 */
export function validateWav(buf: Buffer, name: AnnouncementName): WavInfo {
  const bad = (message: string): never => {
    throw new GatewayError('validation_failed', `announcement: ${message}`, { issues: [{ path: 'body.wavBase64', message }] });
  };
  if (buf.length > WAV_MAX_BYTES) bad(`larger than ${WAV_MAX_BYTES} bytes`);
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') bad('not a RIFF/WAVE file');
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let dataBytes: number | null = null;
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (body + size > buf.length) {
      // a streamed WAV may claim a data size past the end: only `data` may be cut short, and then it is what is there
      if (id !== 'data') bad(`chunk "${id.replace(/[^\x20-\x7e]/g, '?')}" runs past the end of the file`);
      dataBytes = buf.length - body;
      break;
    }
    if (id === 'fmt ') {
      if (size < 16) bad('fmt chunk too short');
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      dataBytes = size;
      break;
    }
    at = body + size + (size % 2);
  }
  if (!fmt) return bad('no fmt chunk');
  if (fmt.format !== 1) bad(`audio format ${fmt.format}: only PCM (1)`);
  if (fmt.channels !== 1) bad(`${fmt.channels} channels: mono only`);
  if (fmt.bits !== 16) bad(`${fmt.bits}-bit samples: 16-bit only`);
  if (fmt.rate !== 8000 && fmt.rate !== 16000) bad(`${fmt.rate} Hz: 8000 or 16000 Hz only`);
  if (dataBytes === null) return bad('no data chunk');
  const durationMs = Math.floor((dataBytes / 2 / fmt.rate) * 1000);
  if (durationMs < MIN_MS) bad(`${durationMs} ms: at least ${MIN_MS} ms`);
  if (durationMs > maxDurationMs(name)) bad(`${durationMs} ms: at most ${maxDurationMs(name)} ms for ${name}`);
  return { sampleRate: fmt.rate, durationMs };
}

export const wavSha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

/** The file rtpengine plays for this org's announcement: its own (from the database) or Koe's; null when none is configured. */
export async function announcementFile(db: Executor, config: GatewayConfig, orgId: string, name: AnnouncementName, lang: AnnouncementLang): Promise<string | null> {
  const own = await db.selectFrom('org_announcements').select(['sha256']).where('org_id', '=', orgId).where('name', '=', name).where('lang', '=', lang).executeTakeFirst();
  if (own) {
    const dir = cacheDirOf(config);
    const file = path.join(dir, `${own.sha256}.wav`);
    if (!existsSync(file)) {
      const row = await db.selectFrom('org_announcements').select('data').where('org_id', '=', orgId).where('name', '=', name).where('lang', '=', lang).executeTakeFirst();
      if (row && wavSha256(row.data) === own.sha256) {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, row.data, { mode: 0o644 });
        renameSync(tmp, file);
      }
    }
    if (existsSync(file)) return file;
  }
  if (!config.sip.announcementsDir) return null;
  const shipped = path.join(config.sip.announcementsDir, lang, `${name}.wav`);
  return existsSync(shipped) ? shipped : null;
}

/** The PCM of a WAV this module accepts (16-bit mono): its rate and sample bytes; null for anything else. */
function pcmOf(buf: Buffer): { rate: number; data: Buffer } | null {
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') return null;
  let rate = 0;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      if (buf.readUInt16LE(at + 8) !== 1 || buf.readUInt16LE(at + 10) !== 1 || buf.readUInt16LE(at + 22) !== 16) return null;
      rate = buf.readUInt32LE(at + 12);
    } else if (id === 'data') {
      return rate ? { rate, data: buf.subarray(at + 8, Math.min(buf.length, at + 8 + size)) } : null;
    }
    at += 8 + size + (size % 2);
  }
  return null;
}

const TARGET_LOOP_MS = 60_000;

/**
 * The greeting followed by the music repeated to about a minute, as one file: rtpengine loops
 * it on its own, so the caller hears the music after the greeting (and the greeting again
 * about once a minute) even while no gateway runs. Written once per pair (named by their
 * hashes). null when the two cannot be joined (different sample rates): then the gateway
 * starts the music after the greeting.
 */
export function greetingThenMusic(cacheDir: string, greeting: string, music: string): string | null {
  const g = pcmOf(readFileSync(greeting));
  const m = pcmOf(readFileSync(music));
  if (!g || !m || g.rate !== m.rate || m.data.length === 0) return null;
  const file = path.join(cacheDir, `loop-${wavSha256(Buffer.concat([g.data, m.data])).slice(0, 32)}.wav`);
  if (existsSync(file)) return file;
  const musicMs = (m.data.length / 2 / m.rate) * 1000;
  const times = Math.max(1, Math.round(TARGET_LOOP_MS / musicMs));
  const data = Buffer.concat([g.data, ...Array.from({ length: times }, () => m.data)]);
  const h = pcm16WavHeader(data.length, 1, g.rate);
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([h, data]), { mode: 0o644 });
  renameSync(tmp, file);
  return file;
}

export const cacheDirOf = (config: GatewayConfig) => config.sip.announcementsCacheDir ?? path.join(tmpdir(), 'koe-announcements');
